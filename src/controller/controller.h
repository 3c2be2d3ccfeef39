// Controller: reads the store, decodes and validates every object, translates them into a
// Snapshot and publishes it; keeps each object's status and its last accepted version, so a
// bad edit is Rejected while the previous version keeps serving.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/model.h"
#include "config/object_status.h"
#include "discovery/function_discovery.h"
#include "gateway/snapshot.h"
#include "plugins/plugin.h"
#include "store/config_store.h"

namespace portico::upstream {
struct Cluster;
class HealthChecker;
class OutlierDetector;
}  // namespace portico::upstream

namespace portico::controller {

/// One line of /statuses and `portico validate`.
struct StatusEntry {
  std::string kind;  ///< object kind, or "File" for a file that could not be read
  std::string ns;
  std::string name;
  config::ObjectStatus status;
  /// Extra JSON members (without braces) shown with the status: an Upstream's live hosts.
  std::string details;
};

struct ControllerOptions {
  size_t workers = 1;
  /// false for `portico validate`: translate and report, never bind sockets.
  bool bindListeners = true;
  /// Function discovery (run mode): started by start() unless absent. Its mode is the
  /// Settings object's spec.discovery.fdsMode when set, else `discovery->mode` (the flag).
  /// Inline swaggerInfo documents are converted either way.
  std::optional<discovery::FunctionDiscoveryOptions> discovery;
  /// --upstream-tls-system-ca: verify upstreams without sslConfig root CA against the system
  /// store (aws upstreams always are).
  bool upstreamTlsSystemCa = false;
};

class CachingHostResolver;

class Controller {
public:
  /// `holder` may be null (validation only). `resolver` answers plugins' hostname lookups;
  /// when it is a CachingHostResolver, give it as `caching` too so that unused names are
  /// dropped after each build.
  Controller(store::ConfigStore& store, const PluginRegistry& plugins,
             gateway::SnapshotHolder* holder, ControllerOptions options,
             HostnameResolver& resolver, CachingHostResolver* caching = nullptr);
  ~Controller();

  /// Reads the store, rebuilds and publishes. Serialized; safe from any thread.
  void rebuild();
  /// Starts the controller thread, which rebuilds after requestRebuild() (coalescing bursts).
  void start();
  /// Thread-safe and cheap: asks the controller thread for a rebuild (store change, DNS answer).
  void requestRebuild();
  /// Stops the controller thread (a rebuild in progress finishes first).
  void stop();
  /// The outlier detector workers report to (null before start()).
  upstream::OutlierDetector* outlierDetector() const { return outlierDetector_.get(); }
  /// JSON of every cluster in effect: hosts with their health, ejections and breaker state.
  std::string upstreamsJson() const;
  /// Called after each publish (to wake the workers).
  void setOnPublish(std::function<void()> fn) { onPublish_ = std::move(fn); }

  bool ready() const;
  std::vector<StatusEntry> statuses() const;
  /// JSON of the objects in effect (secrets redacted).
  std::string configDumpJson() const;
  /// Snapshot builds so far.
  uint64_t builds() const;

  /// The store this controller reads; the admin API writes objects through it.
  store::ConfigStore& store() const { return store_; }
  /// Validates a change against the store's current contents without publishing anything
  /// (object_validation.cc): builds the config with `puts` written and `removes` deleted on a
  /// private copy, as `portico validate` would. Returns the objects the change would leave
  /// Rejected: every rejected object among `puts`, and objects that are not rejected today but
  /// would be after the change (e.g. a virtual service whose upstream is removed). Any thread.
  std::vector<StatusEntry> validateChange(const std::vector<config::RawObject>& puts,
                                          const std::vector<config::ObjectKey>& removes) const;

private:
  struct State;
  /// rebuild()'s work, with mutex_ held.
  void build();
  /// Gives function discovery the mode and the upstreams of the last build (mutex_ held).
  void handToDiscovery(discovery::DiscoveryMode mode,
                       const std::map<config::ObjectKey, std::pair<std::string, size_t>>& stored);
  /// Builds the cluster's balancing data (shared host health) and attaches its breakers.
  void attachRuntime(State& st, upstream::Cluster& cluster);
  /// Hands the active health checker and the outlier detector their new targets.
  void updateChecks(State& st, const gateway::Snapshot& snap);

  std::unique_ptr<State> state_;
  std::unique_ptr<upstream::HealthChecker> healthChecker_;    ///< run mode only (start())
  std::unique_ptr<upstream::OutlierDetector> outlierDetector_;  ///< on the checker's thread
  std::unique_ptr<discovery::FunctionDiscovery> discovery_;     ///< run mode only (start())
  store::ConfigStore& store_;
  const PluginRegistry& plugins_;
  gateway::SnapshotHolder* holder_;
  ControllerOptions options_;
  std::function<void()> onPublish_;
  HostnameResolver& resolver_;
  CachingHostResolver* caching_;
  mutable std::mutex mutex_;
  // Rebuild requests for the controller thread.
  std::mutex requestMutex_;
  std::condition_variable requestCv_;
  bool rebuildRequested_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

/// JSON array of status entries ({kind, namespace, name, state, reason}).
std::string statusesJson(const std::vector<StatusEntry>& entries);

}  // namespace portico::controller
