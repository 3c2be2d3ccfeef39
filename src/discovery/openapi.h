// OpenAPI → REST functions: parses a Swagger 2.0 or OpenAPI 3.x document (JSON or YAML) and
// turns each operation into a transformationTemplate the way Gloo's function discovery does.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/value.h"

namespace portico::discovery {

/// Documents larger than this are refused (a real API description is far smaller).
inline constexpr size_t kMaxOpenApiBytes = 8 << 20;

/// One operation as a REST function: `tmpl` is a transformationTemplate document
/// ({headers: {":method": {text}, ":path": {text}, ...}, body: {text}}) ready for the config
/// decoder, so discovered functions are checked exactly like the ones users write.
struct DiscoveredFunction {
  std::string name;
  config::Value tmpl;
};

struct OpenApiFunctions {
  std::string version;  ///< "2.0", "3.0.3", ...
  std::vector<DiscoveredFunction> functions;  ///< sorted by name, names unique
  /// What was skipped and why ("POST /x: formData parameters are not supported").
  std::vector<std::string> warnings;
};

/// Converts `text` (JSON or YAML). Fails with a short reason when it is not a Swagger 2.0 /
/// OpenAPI 3.x document. Naming: operationId, else Gloo's `<method lowercased><path with '/'
/// replaced by '.'>` ("get.api.pets.{id}"); the first of two operations with one name wins.
/// Never throws; any thread.
Result<OpenApiFunctions> functionsFromOpenApi(std::string_view text);

/// A template variable for an OpenAPI parameter name: characters other than letters, digits,
/// '_' and '-' become '_', a name not starting with a letter or '_' gets a '_' in front.
std::string templateVariable(std::string_view parameterName);

}  // namespace portico::discovery
