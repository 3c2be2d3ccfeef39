// FunctionDiscovery: finds the OpenAPI document of upstreams (swaggerInfo.url or Gloo's probe
// paths on their hosts) on its own threads and writes the REST functions to the store.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/status.h"
#include "config/model.h"
#include "discovery/http_fetch.h"
#include "net/address.h"
#include "store/config_store.h"

namespace portico::discovery {

/// Gloo's settings.discovery.fdsMode.
enum class DiscoveryMode { Whitelist, Blacklist, Disabled };
const char* toString(DiscoveryMode mode);
/// "WHITELIST" | "BLACKLIST" | "DISABLED" (any case).
bool parseDiscoveryMode(std::string_view text, DiscoveryMode& out);

/// The label Gloo reads on upstreams: "enabled" (needed in WHITELIST) or "disabled".
inline constexpr const char* kFunctionDiscoveryLabel = "discovery.solo.io/function_discovery";

/// Gloo's probe paths, then the ones its users asked for (#2746, #4615).
inline constexpr const char* kProbePaths[] = {
    "/swagger.json", "/swagger/docs/v1", "/swagger/docs/v2",  "/v1/swagger",
    "/v2/swagger",   "/openapi.json",    "/openapi.yaml",     "/swagger/v1/swagger.json"};

/// What the controller tells discovery about one upstream in effect.
struct DiscoveryTarget {
  config::ObjectKey upstream;  ///< kind "Upstream"
  std::vector<std::pair<std::string, std::string>> labels;
  bool hasServiceSpec = false;
  std::string swaggerUrl;      ///< swaggerInfo.url (http:// or https://); empty = probe the hosts
  bool swaggerInline = false;  ///< swaggerInfo.inline: converted by the controller, never fetched
  /// Probe targets: each host's address, its Host header ("10.0.0.5:8080", "petstore:8080")
  /// and, with TLS, the SNI its connections send (sslConfig.sni, else sniAddr or hostname).
  struct Host {
    net::Address address;
    std::string authority;
    std::string sni;
  };
  std::vector<Host> hosts;
  /// The upstream's TLS (sslConfig, static useTls, port 443): probes go over TLS with it, and
  /// an https:// swaggerInfo.url uses it too. Null: plain HTTP probes.
  net::TlsClientContextConstSharedPtr tls;
  bool operator==(const DiscoveryTarget&) const;
};

/// True when discovery fetches for `target` under `mode`: never in DISABLED or for an inline
/// document; swaggerInfo.url unless labelled disabled; an upstream without a service spec
/// when labelled enabled (WHITELIST) or not labelled disabled (BLACKLIST).
bool shouldDiscover(const DiscoveryTarget& target, DiscoveryMode mode);

/// One upstream's discovery, as /statuses shows it.
struct DiscoveryState {
  enum class Phase { Pending, Discovered, Failed };
  Phase phase = Phase::Pending;
  std::string source;    ///< the document's URL once found
  size_t functions = 0;  ///< in the store (discovered now or earlier)
  std::string reason;    ///< why the last attempt failed ("no functions discovered yet: ...")
  uint32_t attempts = 0; ///< failed attempts in a row
};
const char* toString(DiscoveryState::Phase phase);
/// `"discovery":{"state","source","functions","reason"}` (a JSON member, no braces).
std::string discoveryStateJson(const DiscoveryState& state);

struct FunctionDiscoveryOptions {
  DiscoveryMode mode = DiscoveryMode::Whitelist;
  size_t concurrency = 4;            ///< upstreams discovered at the same time
  int64_t retryInitialMs = 1000;     ///< backoff after a failure, doubling...
  int64_t retryMaxMs = 60000;        ///< ...up to this
  int64_t refreshMs = 30000;         ///< re-read a found document this often (Gloo: 15 s)
  FetchOptions fetch;
};

class FunctionDiscovery {
public:
  /// Writes DiscoveredFunctions objects into `store` (which must outlive this object).
  FunctionDiscovery(store::ConfigStore& store, FunctionDiscoveryOptions options);
  ~FunctionDiscovery();
  FunctionDiscovery(const FunctionDiscovery&) = delete;
  FunctionDiscovery& operator=(const FunctionDiscovery&) = delete;

  /// Starts the discovery threads (options.concurrency of them).
  void start();
  /// Stops and joins them; a fetch in progress finishes first (bounded by its timeouts).
  void stop();

  /// Changes the mode (a Settings object's fdsMode came or went); applies from the next
  /// update(). In DISABLED nothing is fetched and stored objects are left as they are.
  void setMode(DiscoveryMode mode);
  DiscoveryMode mode() const;

  /// After each config build, from the controller: every upstream in effect, and the
  /// DiscoveredFunctions objects in the store (upstream key → their spec.functions text).
  /// New or changed targets are discovered at once; objects of upstreams that are gone or no
  /// longer discovered are deleted from the store (not in DISABLED mode). Thread-safe; never
  /// blocks on a fetch.
  void update(const std::vector<DiscoveryTarget>& targets,
              const std::map<config::ObjectKey, std::pair<std::string, size_t>>& stored);

  /// The state of one upstream; nullopt when discovery does not look at it.
  std::optional<DiscoveryState> state(const config::ObjectKey& upstream) const;

private:
  struct Entry {
    DiscoveryTarget target;
    DiscoveryState state;
    std::string storedText;  ///< spec.functions of the object in the store; empty = none
    std::chrono::steady_clock::time_point due;
    bool running = false;
    uint64_t generation = 0;  ///< bumped when the target changes: a stale result is dropped
  };
  struct Outcome {
    bool ok = false;
    std::string source;
    std::string reason;
    config::Value functions;
    size_t count = 0;
  };

  void run();
  Outcome discover(const DiscoveryTarget& target) const;
  Outcome fromUrl(const std::string& url, const net::TlsClientContextConstSharedPtr& tls) const;
  void finish(const config::ObjectKey& key, uint64_t generation, Outcome outcome);

  store::ConfigStore& store_;
  FunctionDiscoveryOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::map<config::ObjectKey, Entry> entries_;
  uint64_t generations_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace portico::discovery
