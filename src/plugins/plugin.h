// Plugin interfaces and the registry the controller reaches plugins through. One plugin per
// upstream type (static, later aws, kube, ...); route-option plugins follow the same pattern.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/errors.h"
#include "config/model.h"
#include "net/address.h"
#include "upstream/cluster.h"

namespace portico {

/// Name resolution as plugins see it. The gateway's implementation never blocks: it answers
/// from the cache of an asynchronous resolver and starts resolving names it has not seen (a
/// rebuild follows the answer); `portico validate` resolves on the spot.
class HostnameResolver {
public:
  virtual ~HostnameResolver() = default;
  /// The addresses of `hostname` with `port`, or an error saying why there are none (yet).
  virtual Result<std::vector<net::Address>> resolve(const std::string& hostname, uint16_t port) = 0;
};

/// What a plugin may use while translating.
struct PluginContext {
  HostnameResolver& resolver;
};

/// Turns one upstream type's spec (spec.<type>) into a Cluster.
class UpstreamPlugin {
public:
  virtual ~UpstreamPlugin() = default;
  /// The oneof key under the Upstream's spec this plugin owns ("static").
  virtual std::string_view type() const = 0;
  /// Decodes upstream.typeSpec and fills `cluster.hosts` (and type-specific settings).
  /// Problems go to `errors` with paths from the document root ("spec.static.hosts[0].port").
  /// Runs on the controller thread, never on a worker.
  virtual void translate(const config::Upstream& upstream, const PluginContext& context,
                         upstream::Cluster& cluster, config::Errors& errors) const = 0;
};

class PluginRegistry {
public:
  void addUpstreamPlugin(std::unique_ptr<UpstreamPlugin> plugin);
  /// nullptr when no compiled-in plugin handles `type`.
  const UpstreamPlugin* upstreamPlugin(std::string_view type) const;
  std::vector<std::string> upstreamTypes() const;

private:
  std::vector<std::unique_ptr<UpstreamPlugin>> upstreamPlugins_;
};

/// Registers every plugin compiled into this build (generated from CMake's plugin options).
void registerBuiltinPlugins(PluginRegistry& registry);

}  // namespace portico
