// DiscoveredFunctions: the store object function discovery writes for one upstream
// (discovery.portico.io/v1), and the conversion of discovered templates into REST functions.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "config/errors.h"
#include "config/model.h"
#include "discovery/openapi.h"

namespace portico::discovery {

inline constexpr const char* kDiscoveredApiVersion = "discovery.portico.io/v1";
inline constexpr const char* kDiscoveredKind = "DiscoveredFunctions";

/// ```yaml
/// apiVersion: discovery.portico.io/v1
/// kind: DiscoveredFunctions
/// metadata: {name: <upstream name>, namespace: <upstream namespace>}
/// spec:
///   upstream: {name, namespace}
///   source: http://10.0.0.5:8080/swagger.json
///   functions: {<name>: <transformationTemplate>, ...}
/// ```
struct DiscoveredFunctionsObject {
  config::ObjectKey upstream;  ///< kind "Upstream"
  std::string source;
  std::vector<std::pair<std::string, config::TransformationTemplate>> functions;
  /// toYaml of spec.functions: what discovery compares before writing again.
  std::string functionsText;
  config::Value functionsDoc;  ///< spec.functions as written (for /config_dump)
};

bool isDiscoveredFunctionsObject(const config::RawObject& raw);

/// Decodes the object; problems go to `errors` with paths from the document root.
DiscoveredFunctionsObject decodeDiscoveredFunctions(const config::RawObject& raw,
                                                    config::Errors& errors);

/// The spec.functions map of `functions` (name → template document).
config::Value functionsValue(const std::vector<DiscoveredFunction>& functions);

/// The object discovery writes for `upstream` (kind Upstream).
config::RawObject makeDiscoveredFunctions(const config::ObjectKey& upstream,
                                          const std::string& source,
                                          const config::Value& functions);

/// Decodes discovered template documents into REST functions; field paths start at `path`.
std::vector<std::pair<std::string, config::TransformationTemplate>> decodeFunctions(
    const std::vector<DiscoveredFunction>& functions, const std::string& path,
    config::Errors& errors);

/// Adds the `discovered` functions whose names `restFunctions` does not have yet (a user's own
/// serviceSpec.rest.transformations always win). Returns how many were added.
size_t mergeFunctions(
    std::vector<std::pair<std::string, config::TransformationTemplate>>& restFunctions,
    const std::vector<std::pair<std::string, config::TransformationTemplate>>& discovered);

}  // namespace portico::discovery
