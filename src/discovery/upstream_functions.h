// What the controller needs from discovery per upstream and build: inline OpenAPI documents
// converted (cached by text), discovered functions merged under the user's own, and the
// upstream described as a discovery target.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "config/model.h"
#include "discovery/discovered_functions.h"
#include "discovery/function_discovery.h"
#include "upstream/cluster.h"

namespace portico::discovery {

/// Converted swaggerInfo.inline documents, so that a rebuild does not parse them again.
/// Controller thread only.
class InlineDocuments {
public:
  /// The document's functions or why it is not one.
  const Result<OpenApiFunctions>& convert(const std::string& text);
  /// Forgets documents not converted since the previous endBuild().
  void endBuild();

private:
  struct Slot {
    std::shared_ptr<const Result<OpenApiFunctions>> result;
    bool used = false;
  };
  std::map<std::string, Slot> cache_;
};

/// The functions one upstream got beyond its own serviceSpec.rest.transformations.
struct MergedFunctions {
  config::Value added;  ///< name → template document of every function added (a map; may be empty)
  /// swaggerInfo.inline: its conversion, shown in /statuses like discovery's own states.
  std::optional<DiscoveryState> inlineState;
  /// swaggerInfo.inline that is not a usable document: "<field path>: <reason>".
  std::string warning;
};

/// Adds to `up.restFunctions` the functions of its inline document, then those of its
/// DiscoveredFunctions object (`discovered`, may be null); a name already present is kept —
/// the user's own transformations always win.
MergedFunctions mergeUpstreamFunctions(config::Upstream& up, InlineDocuments& inlineDocs,
                                       const DiscoveredFunctionsObject* discovered);

/// Writes `added` into an Upstream document under spec.<type>.serviceSpec.rest.transformations
/// (existing entries kept): the /config_dump view of the functions in effect.
void addFunctionsToDocument(config::Value& upstreamDoc, const std::string& type,
                            const config::Value& added);

/// The upstream as FunctionDiscovery sees it.
DiscoveryTarget discoveryTarget(const config::RawObject& raw, const config::Upstream& up,
                                const upstream::Cluster& cluster);

}  // namespace portico::discovery
