#include "controller/controller.h"

#include <algorithm>
#include <chrono>
#include <malloc.h>
#include <re2/re2.h>
#include <set>

#include "common/log.h"
#include "config/decode.h"
#include "controller/host_resolvers.h"
#include "controller/route_translator.h"
#include "controller/settings_objects.h"
#include "controller/tls_contexts.h"
#include "controller/upstream_status.h"
#include "discovery/upstream_functions.h"
#include "observability/observability.h"
#include "upstream/circuit_breaker.h"
#include "upstream/health_checker.h"
#include "upstream/load_balancer.h"
#include "upstream/outlier_detector.h"

namespace portico::controller {

using config::Errors;
using config::ObjectKey;
using config::ObjectStatus;
using config::RawObject;

namespace {

constexpr const char* kKeepsServing = " (the last accepted version keeps serving)";

using RawObjectPtr = std::shared_ptr<const RawObject>;

/// An accepted object: its document and its decoded value. Shared, never copied, between a
/// build, the last accepted versions and the config dump: with 10,000 routes one
/// VirtualService's document and decoded routes are megabytes each.
template <typename T> struct Accepted {
  RawObjectPtr raw;
  T value;
};
template <typename T> using AcceptedPtr = std::shared_ptr<const Accepted<T>>;

// The last accepted version of an object is kept whole (AcceptedPtr), or as its document only
// (RawObjectPtr) and decoded again when a build needs it: for kinds whose decoded value is
// large (VirtualService, RouteTable: routes) and whose decoding is a pure function of the
// document. A rejected edit then costs one more decode instead of every build keeping a copy.
template <typename T, typename Decode> AcceptedPtr<T> recall(const AcceptedPtr<T>& kept, Decode&) {
  return kept;
}
template <typename T, typename Decode> AcceptedPtr<T> recall(const RawObjectPtr& raw, Decode& decode) {
  Errors ignored;  // it was accepted: it decodes as it did then
  return std::make_shared<const Accepted<T>>(Accepted<T>{raw, decode(*raw, ignored)});
}
template <typename T> void remember(AcceptedPtr<T>& slot, AcceptedPtr<T> accepted) {
  slot = std::move(accepted);
}
template <typename T> void remember(RawObjectPtr& slot, const AcceptedPtr<T>& accepted) {
  slot = accepted->raw;
}

ObjectKey refKey(const char* kind, const config::ResourceRef& ref) {
  return {kind, ref.ns, ref.name};
}

/// "dir/a.yaml:12:3" → "dir/a.yaml": the file part of a store source.
std::string fileOf(std::string source) {
  for (int i = 0; i < 2; ++i) {
    size_t colon = source.rfind(':');
    if (colon == std::string::npos || colon + 1 == source.size()) break;
    if (source.find_first_not_of("0123456789", colon + 1) != std::string::npos) break;
    source.resize(colon);
  }
  return source;
}


/// Decodes every object of one kind. An object that fails to decode or whose `check` fails is
/// Rejected and, when its last accepted version still passes `check`, that version is used.
/// Objects of unreadable files (`carried`) keep their last accepted version. `check` runs on
/// the value in `out` (a stable address: it may keep pointers into it).
template <typename T, typename Last, typename Decode, typename Check, typename Accept, typename Reject>
void decodeKind(const std::vector<RawObjectPtr>& raws, const std::set<ObjectKey>& carried,
                std::map<ObjectKey, Last>& last, std::map<ObjectKey, AcceptedPtr<T>>& out,
                Decode decode, Check check, Accept accept, Reject reject) {
  for (const RawObjectPtr& raw : raws) {
    ObjectKey key = raw->key();
    Errors errors;
    T value = decode(*raw, errors);
    if (errors.empty()) {
      auto slot = std::make_shared<const Accepted<T>>(Accepted<T>{raw, std::move(value)});
      check(slot->value, errors);
      if (errors.empty()) {
        accept(key);
        remember<T>(last[key], slot);
        out[key] = std::move(slot);
        continue;
      }
    }
    bool fallback = false;
    auto previous = last.find(key);
    if (previous != last.end()) {
      AcceptedPtr<T> kept = recall<T>(previous->second, decode);
      Errors stillValid;
      check(kept->value, stillValid);
      fallback = stillValid.empty();
      if (fallback) out[key] = std::move(kept);
    }
    reject(key, errors.toString(), fallback);
  }
  for (const ObjectKey& key : carried) {
    auto previous = last.find(key);
    if (previous == last.end()) continue;
    AcceptedPtr<T> kept = recall<T>(previous->second, decode);
    Errors stillValid;
    check(kept->value, stillValid);
    if (stillValid.empty()) out[key] = std::move(kept);
  }
}

/// Hands the heap's free pages back to the system. A build allocates and frees several times
/// what it keeps (documents, decoded objects, flattened routes), and glibc keeps freed pages in
/// the arena of the thread that built: without this, RSS stays at the largest build's peak.
void releaseFreedMemory() { malloc_trim(0); }

/// The SNI names of a virtual service: sslConfig.sniDomains, else its domains without ports
/// (IP literals dropped: SNI never carries one), lowercased and without duplicates.
std::vector<std::string> sniNamesOf(const config::SslConfig& ssl, const std::vector<std::string>& domains) {
  std::vector<std::string> out;
  for (std::string name : ssl.sniDomains.empty() ? domains : ssl.sniDomains) {
    if (name.empty() || name[0] == '[') continue;
    size_t colon = name.rfind(':');
    if (colon != std::string::npos) name.resize(colon);
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
  }
  return out;
}

/// Gloo's defaults when no Gateway exists: gateway-proxy, HTTP on [::]:8080, and (when a
/// virtual service has sslConfig) gateway-proxy-ssl, HTTPS on [::]:8443.
RawObject defaultGatewayObject(bool ssl = false) {
  RawObject raw;
  raw.apiVersion = "gateway.solo.io/v1";
  raw.kind = "Gateway";
  raw.meta.name = ssl ? "gateway-proxy-ssl" : "gateway-proxy";
  raw.meta.ns = config::kDefaultNamespace;
  raw.source = "(default)";
  raw.doc = config::Value::makeMap();
  raw.doc.set("apiVersion", config::Value::makeString(raw.apiVersion));
  raw.doc.set("kind", config::Value::makeString("Gateway"));
  config::Value meta = config::Value::makeMap();
  meta.set("name", config::Value::makeString(raw.meta.name));
  meta.set("namespace", config::Value::makeString(raw.meta.ns));
  raw.doc.set("metadata", std::move(meta));
  config::Value spec = config::Value::makeMap();
  spec.set("bindAddress", config::Value::makeString("::"));
  config::Value port;
  port.type = config::Value::Type::Number;
  port.scalar = ssl ? "8443" : "8080";
  spec.set("bindPort", std::move(port));
  if (ssl) {
    config::Value on;
    on.type = config::Value::Type::Bool;
    on.scalar = "true";
    spec.set("ssl", std::move(on));
  }
  raw.doc.set("spec", std::move(spec));
  return raw;
}

}  // namespace

struct Controller::State {
  std::map<ObjectKey, AcceptedPtr<upstream::ClusterConstSharedPtr>> lastUpstreams;
  std::map<ObjectKey, RawObjectPtr> lastVirtualServices;  // decoded again when needed
  std::map<ObjectKey, AcceptedPtr<config::Gateway>> lastGateways;
  std::map<ObjectKey, AcceptedPtr<config::UpstreamGroup>> lastUpstreamGroups;
  std::map<ObjectKey, RawObjectPtr> lastRouteTables;  // decoded again when needed
  std::map<ObjectKey, AcceptedPtr<config::Secret>> lastSecrets;
  TlsContexts tls;  // SSL_CTXs by virtual service; its filesChanged() is read by the thread
  std::map<std::string, std::shared_ptr<gateway::ListenSocketSet>> sockets;  // by address
  std::map<ObjectKey, std::string> fileOfObject;  // where each object was last read from
  // Upstream runtime state that outlives snapshots (by cluster name).
  std::unique_ptr<upstream::HostHealthRegistry> healthRegistry;
  std::map<std::string, std::shared_ptr<const upstream::ClusterLbData>> lbData;
  std::map<std::string, std::shared_ptr<upstream::ClusterBreakers>> breakers;
  std::vector<StatusEntry> statuses;
  std::vector<RawObjectPtr> inEffectStorage;  // shared with the last accepted versions
  // Function discovery: inline documents converted, per accepted upstream what it would be
  // discovered as, the functions it got beyond its own (for /config_dump) and inline states.
  discovery::InlineDocuments inlineDocs;
  std::map<ObjectKey, discovery::DiscoveryTarget> discoveryTargets;
  // What a build made before function discovery started, for start() to hand over (instead of
  // a second build of the whole config, which with many routes doubles the start-up work).
  struct DiscoveryHandoff {
    discovery::DiscoveryMode mode;
    std::map<ObjectKey, std::pair<std::string, size_t>> stored;
  };
  std::optional<DiscoveryHandoff> discoveryHandoff;
  std::map<ObjectKey, std::pair<std::string, config::Value>> addedFunctions;  // type, functions
  std::map<ObjectKey, discovery::DiscoveryState> inlineStates;
  SettingsObjects settings;  // the Settings object in effect (discovery's fdsMode)
  bool published = false;
  uint64_t builds = 0;
};

Controller::Controller(store::ConfigStore& store, const PluginRegistry& plugins,
                       gateway::SnapshotHolder* holder, ControllerOptions options,
                       HostnameResolver& resolver, CachingHostResolver* caching)
    : state_(std::make_unique<State>()), store_(store), plugins_(plugins), holder_(holder),
      options_(options), resolver_(resolver), caching_(caching) {
  state_->healthRegistry = std::make_unique<upstream::HostHealthRegistry>(options_.workers);
  state_->tls.setSystemCaForUpstreams(options_.upstreamTlsSystemCa);
}

Controller::~Controller() {
  stop();
  // The detector runs on the checker's loop: stop the thread, then destroy detector, checker.
  if (healthChecker_) healthChecker_->stop();
  outlierDetector_.reset();
  healthChecker_.reset();
}

void Controller::attachRuntime(State& st, upstream::Cluster& cluster) {
  auto previous = st.lbData.find(cluster.name);
  cluster.lbData = upstream::buildClusterLbData(
      cluster, *st.healthRegistry, previous == st.lbData.end() ? nullptr : previous->second.get());
  auto& breakers = st.breakers[cluster.name];
  if (!breakers) {
    breakers = std::make_shared<upstream::ClusterBreakers>();
    for (size_t w = 0; w < options_.workers; ++w)
      breakers->perWorker.push_back(std::make_unique<upstream::CircuitBreaker>());
  }
  for (size_t w = 0; w < options_.workers; ++w)
    breakers->perWorker[w]->setLimits(
        upstream::workerShare(cluster.circuitBreakers, options_.workers, w));
  cluster.breakers = breakers;
}

void Controller::updateChecks(State& st, const gateway::Snapshot& snap) {
  std::map<std::string, std::shared_ptr<const upstream::ClusterLbData>> lbData;
  std::vector<upstream::HealthCheckTarget> targets;
  std::vector<upstream::OutlierCluster> outliers;
  std::set<std::string> names;
  for (const auto& cluster : snap.clusters) {
    names.insert(cluster->name);
    if (!cluster->lbData) continue;
    lbData[cluster->name] = cluster->lbData;
    if (!cluster->healthChecks.empty()) {
      auto t = upstream::healthCheckTargets(*cluster, *cluster->lbData);
      std::move(t.begin(), t.end(), std::back_inserter(targets));
    }
    if (cluster->outlierDetection) outliers.push_back(upstream::outlierCluster(*cluster, *cluster->lbData));
  }
  st.lbData = std::move(lbData);
  std::erase_if(st.breakers, [&](const auto& kv) { return !names.count(kv.first); });
  if (healthChecker_) healthChecker_->update(std::move(targets));
  if (outlierDetector_) outlierDetector_->update(std::move(outliers));
}

void Controller::start() {
  if (options_.discovery) {
    // Even when the flag says DISABLED: a Settings object may turn it on (its mode is set
    // before each update()).
    auto d = std::make_unique<discovery::FunctionDiscovery>(store_, *options_.discovery);
    d->start();
    std::lock_guard<std::mutex> lock(mutex_);
    discovery_ = std::move(d);
  }
  auto checker = upstream::HealthChecker::create();
  if (checker.ok() && (*checker)->start().ok()) {
    healthChecker_ = std::move(*checker);
    outlierDetector_ = std::make_unique<upstream::OutlierDetector>(healthChecker_->loop());
    // The first build happened before start(): give the checker what it has.
    std::lock_guard<std::mutex> lock(mutex_);
    if (holder_) {
      if (auto snap = holder_->load()) updateChecks(*state_, *snap);
    }
  } else {
    LOG_ERROR("health checker: %s", checker.ok() ? "cannot start its thread" : checker.error().c_str());
  }
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(requestMutex_);
    bool trimPending = false;
    for (;;) {
      // sslFiles may live outside the store: their stamps are checked every second.
      bool requested = requestCv_.wait_for(lock, std::chrono::seconds(1),
                                           [this] { return rebuildRequested_ || stopping_; });
      if (stopping_) return;
      if (!requested && !state_->tls.filesChanged()) {
        // The workers free the previous snapshot when they take the new one, after the
        // build's own trim: a second one, a quiet second later, returns that memory too.
        if (trimPending) {
          trimPending = false;
          lock.unlock();
          releaseFreedMemory();
          lock.lock();
        }
        continue;
      }
      rebuildRequested_ = false;
      lock.unlock();
      rebuild();
      lock.lock();
      trimPending = true;
    }
  });
  // The first build ran before discovery existed: hand it what that build found.
  std::lock_guard<std::mutex> lock(mutex_);
  if (discovery_ && state_->discoveryHandoff) {
    handToDiscovery(state_->discoveryHandoff->mode, state_->discoveryHandoff->stored);
    state_->discoveryHandoff.reset();
  } else if (discovery_) {
    requestRebuild();
  }
}

void Controller::handToDiscovery(discovery::DiscoveryMode mode,
                                 const std::map<config::ObjectKey, std::pair<std::string, size_t>>& stored) {
  discovery_->setMode(mode);
  std::vector<discovery::DiscoveryTarget> targets;
  for (const auto& [key, target] : state_->discoveryTargets) targets.push_back(target);
  discovery_->update(targets, stored);
}

void Controller::requestRebuild() {
  {
    std::lock_guard<std::mutex> lock(requestMutex_);
    rebuildRequested_ = true;
  }
  requestCv_.notify_one();
}

void Controller::stop() {
  {
    std::lock_guard<std::mutex> lock(requestMutex_);
    stopping_ = true;
  }
  requestCv_.notify_one();
  if (thread_.joinable()) thread_.join();
  if (discovery_) discovery_->stop();
}

bool Controller::ready() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_->published;
}

uint64_t Controller::builds() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_->builds;
}

std::vector<StatusEntry> Controller::statuses() const {
  std::vector<StatusEntry> out;
  std::map<ObjectKey, discovery::DiscoveryState> inlineStates;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    out = state_->statuses;
    inlineStates = state_->inlineStates;
  }
  auto snap = holder_ ? holder_->load() : nullptr;
  for (StatusEntry& e : out) {
    if (e.kind != "Upstream") continue;
    std::string name = e.name + "." + e.ns;
    if (snap) {
      for (const auto& cluster : snap->clusters)
        if (cluster->name == name) e.details = clusterHostsJson(*cluster, options_.workers);
    }
    // Function discovery: not an error of the upstream, shown next to its status.
    ObjectKey key{e.kind, e.ns, e.name};
    std::optional<discovery::DiscoveryState> ds;
    if (auto it = inlineStates.find(key); it != inlineStates.end()) ds = it->second;
    else if (discovery_) ds = discovery_->state(key);
    if (ds) e.details += (e.details.empty() ? "" : ",") + discovery::discoveryStateJson(*ds);
  }
  return out;
}

std::string Controller::upstreamsJson() const {
  auto snap = holder_ ? holder_->load() : nullptr;
  std::string out = "[";
  if (snap) {
    for (size_t i = 0; i < snap->clusters.size(); ++i) {
      if (i) out += ",";
      out += "{\"name\":" + config::jsonQuote(snap->clusters[i]->name) + "," +
             clusterHostsJson(*snap->clusters[i], options_.workers) + "}";
    }
  }
  return out + "]";
}

void Controller::rebuild() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    build();
  }
  releaseFreedMemory();  // build()'s transient objects are gone by now
}

void Controller::build() {
  const uint64_t buildStartUs = observability::monotonicUs();
  State& st = *state_;
  store::Contents contents = store_.list();

  std::map<ObjectKey, ObjectStatus> statuses;
  std::vector<StatusEntry> fileErrors;
  for (const auto& e : contents.errors) {
    fileErrors.push_back({"File", "", e.source, {ObjectStatus::State::Rejected, e.message}});
    LOG_WARN("config %s: %s", e.source.c_str(), e.message.c_str());
  }
  auto accept = [&](const ObjectKey& k) { statuses[k] = {ObjectStatus::State::Accepted, ""}; };
  auto reject = [&](const ObjectKey& k, const std::string& reason, bool keepsServing) {
    std::string text = k.display() + ": " + reason + (keepsServing ? kKeepsServing : "");
    statuses[k] = {ObjectStatus::State::Rejected, text};
  };

  // Each document moves once into a shared object: what is accepted keeps it without a copy.
  std::vector<RawObjectPtr> rawObjects;
  rawObjects.reserve(contents.objects.size());
  for (RawObject& obj : contents.objects) rawObjects.push_back(std::make_shared<const RawObject>(std::move(obj)));
  contents.objects.clear();
  std::vector<RawObjectPtr> upstreamsRaw, vsRaw, gatewaysRaw, groupsRaw, tablesRaw, secretsRaw;
  std::vector<RawObjectPtr> discoveredRaw;
  std::vector<const RawObject*> settingsRaw;
  std::set<ObjectKey> present;
  for (const RawObjectPtr& ptr : rawObjects) {
    const RawObject& obj = *ptr;
    ObjectKey key = obj.key();
    present.insert(key);
    if (discovery::isDiscoveredFunctionsObject(obj)) {  // written by function discovery
      discoveredRaw.push_back(ptr);
      continue;
    }
    if (!config::isKnownKind(obj.apiVersion, obj.kind)) {
      reject(key,
             "kind \"" + obj.kind + "\" (apiVersion \"" + obj.apiVersion +
                 "\") is not supported by Portico yet",
             false);
      continue;
    }
    if (obj.kind == "Upstream") upstreamsRaw.push_back(ptr);
    else if (obj.kind == "VirtualService") vsRaw.push_back(ptr);
    else if (obj.kind == "Gateway") gatewaysRaw.push_back(ptr);
    else if (obj.kind == "UpstreamGroup") groupsRaw.push_back(ptr);
    else if (obj.kind == "RouteTable") tablesRaw.push_back(ptr);
    else if (obj.kind == "Secret") secretsRaw.push_back(ptr);
    else if (obj.kind == "Settings") settingsRaw.push_back(&obj);
  }
  // Objects of a file that cannot be read right now (a YAML error mid-edit) were not deleted:
  // they keep their last accepted version until the file is fixed or really loses them.
  std::set<std::string> unreadable;
  for (const auto& e : contents.errors) unreadable.insert(fileOf(e.source));
  std::set<ObjectKey> carried;
  for (const auto& [key, file] : st.fileOfObject) {
    if (present.count(key) || !unreadable.count(file)) continue;
    carried.insert(key);
    present.insert(key);
    statuses[key] = {ObjectStatus::State::Warning,
                     key.display() + ": " + file + " cannot be read (see its File status)" + kKeepsServing};
  }
  std::map<ObjectKey, std::string> files;
  for (const RawObjectPtr& obj : rawObjects) files[obj->key()] = fileOf(obj->source);
  for (const ObjectKey& key : carried) files[key] = st.fileOfObject[key];
  st.fileOfObject = std::move(files);

  // Forget the last accepted versions of objects that were deleted from the store.
  auto prune = [&](auto& m) {
    for (auto it = m.begin(); it != m.end();) it = present.count(it->first) ? std::next(it) : m.erase(it);
  };
  prune(st.lastUpstreams);
  prune(st.lastVirtualServices);
  prune(st.lastGateways);
  prune(st.lastUpstreamGroups);
  prune(st.lastRouteTables);
  prune(st.lastSecrets);
  const SettingsObjects::InEffect* settings = st.settings.build(settingsRaw, carried, statuses, reject);

  // ---- secrets (TLS material checked with OpenSSL; a bad edit keeps the last good version) ----
  std::map<ObjectKey, AcceptedPtr<config::Secret>> secrets;
  decodeKind<config::Secret>(
      secretsRaw, carried, st.lastSecrets, secrets,
      [](const RawObject& raw, Errors& errors) { return config::decodeSecret(raw, errors); },
      [&](const config::Secret& secret, Errors& errors) {
        Status s = st.tls.checkSecret({"Secret", secret.meta.ns, secret.meta.name}, secret);
        if (!s.ok()) errors.add("", s.message());
      },
      accept, reject);
  std::map<ObjectKey, config::Secret> secretValues;
  for (const auto& [key, secret] : secrets) secretValues[key] = secret->value;

  // ---- discovered functions (merged into their upstreams below; the user's own win) ----
  std::map<ObjectKey, discovery::DiscoveredFunctionsObject> discovered;  // by upstream key
  std::map<ObjectKey, std::pair<std::string, size_t>> storedFunctions;  // for FunctionDiscovery
  std::vector<RawObjectPtr> discoveredInEffect;
  for (const RawObjectPtr& raw : discoveredRaw) {
    Errors errors;
    auto d = discovery::decodeDiscoveredFunctions(*raw, errors);
    if (!errors.empty()) {
      reject(raw->key(), errors.toString(), false);
      continue;
    }
    accept(raw->key());
    discoveredInEffect.push_back(raw);
    storedFunctions[d.upstream] = {d.functionsText, d.functions.size()};
    discovered[d.upstream] = std::move(d);
  }
  std::map<ObjectKey, std::string> inlineWarnings;

  // ---- upstreams → clusters ----
  std::map<ObjectKey, AcceptedPtr<upstream::ClusterConstSharedPtr>> upstreams;
  decodeKind<upstream::ClusterConstSharedPtr>(
      upstreamsRaw, carried, st.lastUpstreams, upstreams,
      [&](const RawObject& raw, Errors& errors) {
        config::Upstream up = config::decodeUpstream(raw, errors);
        discovery::MergedFunctions merged;
        if (errors.empty()) {
          auto d = discovered.find(raw.key());
          merged = discovery::mergeUpstreamFunctions(up, st.inlineDocs,
                                                     d == discovered.end() ? nullptr : &d->second);
        }
        auto cluster = std::make_shared<upstream::Cluster>();
        cluster->name = raw.meta.name + "." + raw.meta.ns;
        cluster->connectTimeoutMs = up.connectTimeoutMs;
        cluster->loadBalancer = up.loadBalancer;
        cluster->healthChecks = up.healthChecks;
        cluster->outlierDetection = up.outlierDetection;
        cluster->circuitBreakers = up.circuitBreakers;
        cluster->maxRequestsPerConnection = up.maxRequestsPerConnection;
        cluster->tcpKeepalive = up.tcpKeepalive;
        cluster->perConnectionBufferLimitBytes = up.perConnectionBufferLimitBytes;
        cluster->http2 = up.useHttp2;
        cluster->restFunctions = up.restFunctions;
        if (errors.empty()) {
          const UpstreamPlugin* plugin = plugins_.upstreamPlugin(up.type);
          if (!plugin) errors.add("spec." + up.type, "upstream type \"" + up.type + "\" is not supported by this build");
          else plugin->translate(up, PluginContext{resolver_}, *cluster, errors);
        }
        // Upstream TLS (sslConfig, static useTls / port 443): a bad certificate rejects it.
        if (errors.empty()) st.tls.attachClientTls(raw.key(), up, *cluster, secretValues, errors);
        if (errors.empty()) attachRuntime(st, *cluster);
        if (errors.empty()) {
          ObjectKey key = raw.key();
          st.discoveryTargets[key] = discovery::discoveryTarget(raw, up, *cluster);
          st.addedFunctions[key] = {up.type, std::move(merged.added)};
          if (merged.inlineState) st.inlineStates[key] = *merged.inlineState;
          else st.inlineStates.erase(key);
          if (!merged.warning.empty()) inlineWarnings[key] = merged.warning;
        }
        return upstream::ClusterConstSharedPtr(cluster);
      },
      [](const upstream::ClusterConstSharedPtr&, Errors&) {}, accept, reject);

  // An inline OpenAPI document that is not one: the upstream serves, its status says why.
  for (const auto& [key, warning] : inlineWarnings) {
    auto it = statuses.find(key);
    if (it != statuses.end() && it->second.state == ObjectStatus::State::Accepted)
      it->second = {ObjectStatus::State::Warning, key.display() + ": " + warning};
  }
  auto pruneToUpstreams = [&](auto& m) {
    std::erase_if(m, [&](const auto& kv) { return !upstreams.count(kv.first); });
  };
  pruneToUpstreams(st.discoveryTargets);
  pruneToUpstreams(st.addedFunctions);
  pruneToUpstreams(st.inlineStates);
  st.inlineDocs.endBuild();

  RouteContext ctx;
  ctx.secrets = &secretValues;
  for (const RawObjectPtr& raw : vsRaw)
    if (convertedFromGloo0x(*raw)) ctx.gloo0xVirtualServices.insert(raw->key());
  auto snap = std::make_shared<gateway::Snapshot>();
  for (const auto& [key, up] : upstreams) {
    ctx.clusterIndex[key] = static_cast<uint32_t>(snap->clusters.size());
    ctx.restFunctions[key] = &up->value->restFunctions;
    if (up->value->aws) ctx.awsUpstreams[key] = up->value->aws.get();
    snap->clusters.push_back(up->value);
  }

  // ---- upstream groups ----
  std::map<ObjectKey, AcceptedPtr<config::UpstreamGroup>> groups;
  decodeKind<config::UpstreamGroup>(
      groupsRaw, carried, st.lastUpstreamGroups, groups,
      [](const RawObject& raw, Errors& errors) { return config::decodeUpstreamGroup(raw, errors); },
      [&](const config::UpstreamGroup& g, Errors& errors) {
        for (size_t i = 0; i < g.destinations.size(); ++i) {
          const auto& d = g.destinations[i].destination;
          if (!ctx.clusterIndex.count({"Upstream", d.upstream.ns, d.upstream.name}))
            errors.add(d.fieldPath, "upstream \"" + d.upstream.name + "\" not found in namespace \"" +
                                        d.upstream.ns + "\"");
        }
      },
      accept, reject);
  for (const auto& [key, g] : groups) ctx.upstreamGroups[key] = &g->value;

  // ---- route tables ----
  std::map<ObjectKey, AcceptedPtr<config::RouteTable>> tables;
  decodeKind<config::RouteTable>(
      tablesRaw, carried, st.lastRouteTables, tables,
      [](const RawObject& raw, Errors& errors) { return config::decodeRouteTable(raw, errors); },
      [&](const config::RouteTable& t, Errors& errors) { checkRouteRefs(t.routes, ctx, errors); },
      accept, reject);
  for (const auto& [key, t] : tables) ctx.routeTables[key] = &t->value;

  // ---- virtual services: decode, check references, resolve delegation ----
  std::map<ObjectKey, AcceptedPtr<config::VirtualService>> virtualServices;
  std::map<ObjectKey, std::vector<FlatRoute>> flatRoutes;
  auto checkVs = [&](const config::VirtualService& vs, const ObjectKey& key, Errors& errors) {
    checkRouteRefs(vs.routes, ctx, errors);
    std::vector<FlatRoute> flat = flattenRoutes(vs, key, ctx, errors);
    for (FlatRoute& f : flat) {
      // Routes from route tables and inherited options are checked as they end up.
      Errors refErrors;
      checkRouteRef(*f.route, f.options, ctx, refErrors);
      bool own = f.origin.rfind(key.display(), 0) == 0;
      if (!refErrors.empty() && !own) errors.add("", f.origin + ": " + refErrors.toString());
      // Templates are compiled per route as it ends up (inherited ones once per route: the
      // same error is reported once).
      Errors transformErrors;
      compileTransformations(f, ctx, transformErrors);
      for (const std::string& item : transformErrors.items()) {
        std::string message = own ? item : f.origin + ": " + item;
        if (std::find(errors.items().begin(), errors.items().end(), message) == errors.items().end())
          errors.add("", message);
      }
    }
    if (errors.empty()) flatRoutes[key] = std::move(flat);
  };
  decodeKind<config::VirtualService>(
      vsRaw, carried, st.lastVirtualServices, virtualServices,
      [](const RawObject& raw, Errors& errors) { return config::decodeVirtualService(raw, errors); },
      [&](const config::VirtualService& vs, Errors& errors) {
        checkVs(vs, {"VirtualService", vs.meta.ns, vs.meta.name}, errors);
      },
      accept, reject);

  // ---- gateways ----
  std::map<ObjectKey, AcceptedPtr<config::Gateway>> gateways;
  decodeKind<config::Gateway>(
      gatewaysRaw, carried, st.lastGateways, gateways,
      [](const RawObject& raw, Errors& errors) { return config::decodeGateway(raw, errors); },
      [](const config::Gateway& gw, Errors& errors) {
        observability::checkAccessLogs(gw.accessLogs, errors);
      },
      accept, reject);
  if (gateways.empty() && gatewaysRaw.empty()) {
    bool anySsl = false;
    for (const auto& [key, vs] : virtualServices) anySsl |= vs->value.sslConfig.has_value();
    for (bool ssl : {false, true}) {
      if (ssl && !anySsl) continue;
      auto raw = std::make_shared<const RawObject>(defaultGatewayObject(ssl));
      Errors ignored;  // Portico's own default objects: decode cleanly
      gateways[raw->key()] = std::make_shared<const Accepted<config::Gateway>>(
          Accepted<config::Gateway>{raw, config::decodeGateway(*raw, ignored)});
    }
  }

  // ---- TLS contexts of virtual services with sslConfig (a failure keeps the last good one) ----
  std::map<ObjectKey, TlsContexts::Outcome> vsTls;
  std::set<ObjectKey> tlsUnusable;  // no certificate at all: not served by ssl gateways
  for (const auto& [vsKey, vs] : virtualServices) {
    if (!vs->value.sslConfig) continue;
    TlsContexts::Outcome tls = st.tls.contextFor(vsKey, *vs->value.sslConfig, secretValues);
    if (!tls.error.empty()) reject(vsKey, tls.fieldPath + ": " + tls.error, tls.ctx != nullptr);
    if (!tls.ctx) tlsUnusable.insert(vsKey);
    vsTls[vsKey] = std::move(tls);
  }

  // ---- listeners ----
  std::map<std::string, std::string> routeLabels;  // "<vhost>\n<route origin>" → metrics label
  std::set<ObjectKey> conflicted;  // virtual services rejected for a domain clash
  std::map<std::string, ObjectKey> addressOwner;
  std::map<std::string, std::shared_ptr<gateway::ListenSocketSet>> socketsInUse;
  for (const auto& [gwKey, gw] : gateways) {
    auto address = net::Address::fromIp(gw->value.bindAddress, gw->value.bindPort);
    if (!address.ok()) {
      reject(gwKey, "spec.bindAddress: " + address.error(), false);
      continue;
    }
    std::string addrText = address->toString();
    auto owner = addressOwner.find(addrText);
    if (owner != addressOwner.end()) {
      reject(gwKey, "spec.bindPort: " + addrText + " is already used by " + owner->second.display(), false);
      continue;
    }
    gateway::Listener listener;
    listener.name = gwKey.display();
    listener.address = *address;
    std::shared_ptr<net::TlsServerConfig> tls;
    std::vector<std::string> tlsOwners;  // virtual service of each context, for clash reasons
    if (gw->value.ssl) tls = std::make_shared<net::TlsServerConfig>();
    bool selectAll = gw->value.virtualServices.empty() && gw->value.virtualServiceSelector.empty();
    for (const auto& [vsKey, vs] : virtualServices) {
      bool selected = false;
      if (!gw->value.virtualServices.empty()) {
        for (const auto& ref : gw->value.virtualServices)
          selected |= refKey("VirtualService", ref) == vsKey;
      } else if (!gw->value.virtualServiceSelector.empty()) {
        selected = labelsMatch(gw->value.virtualServiceSelector, vs->value.meta.labels);
      } else {
        selected = selectAll;
      }
      const auto& nsList = gw->value.virtualServiceNamespaces;
      if (selected && !nsList.empty()) selected = namespaceListed(nsList, vsKey.ns);
      if (!selected || conflicted.count(vsKey)) continue;
      // As in Gloo: an ssl gateway serves the virtual services with sslConfig, a plain one the
      // others.
      if (vs->value.sslConfig.has_value() != gw->value.ssl) continue;
      if (gw->value.ssl && tlsUnusable.count(vsKey)) continue;

      std::vector<std::string> domains = vs->value.domains;
      if (domains.empty()) domains.push_back("*");
      std::string clash;
      for (size_t i = 0; i < domains.size() && clash.empty(); ++i) {
        int o = listener.routes.domainOwner(domains[i]);
        if (o >= 0)
          clash = "spec.virtualHost.domains[" + std::to_string(i) + "]: domain \"" + domains[i] +
                  "\" is already served by virtualservice " + listener.routes.virtualHosts()[o].name +
                  " on " + gwKey.display();
      }
      std::vector<std::string> sniNames;
      if (tls && clash.empty()) {
        sniNames = sniNamesOf(*vs->value.sslConfig, domains);
        for (size_t i = 0; i < sniNames.size() && clash.empty(); ++i) {
          int o = tls->ownerOf(sniNames[i]);
          if (o >= 0)
            clash = std::string(vs->value.sslConfig->sniDomains.empty()
                                    ? "spec.sslConfig.sniDomains (from the domains)"
                                    : "spec.sslConfig.sniDomains") +
                    ": SNI name \"" + sniNames[i] + "\" is already served by virtualservice " +
                    tlsOwners[static_cast<size_t>(o)] + " on " + gwKey.display();
        }
      }
      if (!clash.empty()) {
        conflicted.insert(vsKey);
        reject(vsKey, clash, false);
        continue;
      }
      if (tls) {
        tls->add(vsTls[vsKey].ctx, sniNames);
        tlsOwners.push_back(vsKey.name + "." + vsKey.ns);
      }
      router::VirtualHost vhost;
      vhost.name = vsKey.name + "." + vsKey.ns;
      const std::vector<FlatRoute>& flat = flatRoutes[vsKey];
      vhost.routes.reserve(flat.size());  // a RouteEntry is large: no doubling slack kept
      for (const FlatRoute& f : flat) {
        // Metrics label: the Gloo route name, else "<virtual service>/<index>".
        routeLabels[vhost.name + '\n' + f.origin] =
            f.route->name.empty() ? vhost.name + "/" + std::to_string(vhost.routes.size()) : f.route->name;
        vhost.routes.push_back(translateRoute(f, ctx));
      }
      if (vs->value.sortRoutes) router::sortRoutesMostSpecificFirst(vhost.routes);
      listener.routes.addVirtualHost(std::move(vhost), domains);
    }
    if (options_.bindListeners) {
      auto logs = observability::buildAccessLogs(gw->value.accessLogs,
                                                 observability::instance().defaultAccessLogPath(),
                                                 observability::instance().accessLogs());
      if (!logs.ok()) {
        reject(gwKey, logs.error(), false);
        continue;
      }
      listener.accessLogs = *logs;
    }
    if (options_.bindListeners) {
      auto cached = st.sockets.find(addrText);
      if (cached != st.sockets.end()) {
        listener.sockets = cached->second;
      } else {
        auto created = gateway::ListenSocketSet::create(*address, options_.workers);
        if (!created.ok()) {
          reject(gwKey, "spec.bindPort: cannot listen: " + created.error(), false);
          continue;
        }
        listener.sockets = *created;
        LOG_INFO("listening on %s (%s)", addrText.c_str(), gwKey.display().c_str());
      }
      socketsInUse[addrText] = listener.sockets;
    }
    if (tls) {
      if (tls->empty())
        LOG_WARN("%s: ssl gateway without any virtual service with sslConfig: TLS clients are "
                 "refused", gwKey.display().c_str());
      listener.tls = std::move(tls);
    }
    addressOwner[addrText] = gwKey;
    snap->listeners.push_back(std::move(listener));
  }
  st.sockets = std::move(socketsInUse);
  updateChecks(st, *snap);

  // ---- statuses and what is in effect ----
  // An object gone since the last build takes its status with it (the soak's ever-new names
  // grew the file store's status map by one entry each).
  for (const StatusEntry& e : st.statuses) {
    ObjectKey key{e.kind, e.ns, e.name};
    if (e.kind != "File" && !statuses.count(key)) store_.forgetStatus(key);
  }
  st.statuses = fileErrors;
  for (auto& [key, status] : statuses) {
    if (status.state != ObjectStatus::State::Accepted) LOG_WARN("%s", status.reason.c_str());
    store_.writeStatus(key, status);
    st.statuses.push_back({key.kind, key.ns, key.name, status});
  }
  st.inEffectStorage.clear();
  for (const auto& [k, v] : upstreams) {
    // Discovered and inline functions appear among the upstream's transformations (on a copy:
    // the accepted document stays as the store has it).
    auto added = st.addedFunctions.find(k);
    if (added != st.addedFunctions.end() && !added->second.second.map.empty()) {
      auto withFunctions = std::make_shared<RawObject>(*v->raw);
      discovery::addFunctionsToDocument(withFunctions->doc, added->second.first,
                                        added->second.second);
      st.inEffectStorage.push_back(std::move(withFunctions));
    } else {
      st.inEffectStorage.push_back(v->raw);
    }
  }
  for (const RawObjectPtr& raw : discoveredInEffect) st.inEffectStorage.push_back(raw);
  for (const auto& [k, v] : virtualServices)
    if (!conflicted.count(k)) st.inEffectStorage.push_back(v->raw);
  for (const auto& [k, v] : gateways) st.inEffectStorage.push_back(v->raw);
  if (settings) st.inEffectStorage.push_back(std::make_shared<const RawObject>(settings->raw));
  for (const auto& [k, v] : secrets) {
    auto redacted = std::make_shared<RawObject>(*v->raw);  // key material never leaves the controller
    redacted->doc = config::redactSecretDocument(v->raw->doc);
    st.inEffectStorage.push_back(std::move(redacted));
  }
  st.tls.endBuild();

  if (caching_) caching_->endBuild();
  if (options_.discovery) {
    auto mode = discovery::effectiveMode(options_.discovery->mode, settings ? &settings->value : nullptr);
    if (discovery_) {
      st.discoveryHandoff.reset();
      handToDiscovery(mode, storedFunctions);
    } else {
      st.discoveryHandoff = State::DiscoveryHandoff{mode, std::move(storedFunctions)};
    }
  }
  ++st.builds;
  snap->version = st.builds;
  std::vector<const router::RouteTable*> listenerTables;
  for (const auto& l : snap->listeners) listenerTables.push_back(&l.routes);
  snap->stats = observability::buildStatsIndex(
      observability::instance().metrics(), listenerTables, snap->clusters,
      [&routeLabels](const router::RouteEntry& r, const router::VirtualHost& vh, size_t i) {
        auto it = routeLabels.find(vh.name + '\n' + r.name);
        return it != routeLabels.end() ? it->second : vh.name + "/" + std::to_string(i);
      });
  if (holder_) {
    holder_->publish(snap);
    st.published = true;
    if (onPublish_) onPublish_();
  } else {
    st.published = true;
  }
  LOG_INFO("config build %llu: %zu listeners, %zu clusters, %zu objects rejected",
           static_cast<unsigned long long>(st.builds), snap->listeners.size(),
           snap->clusters.size(),
           static_cast<size_t>(std::count_if(st.statuses.begin(), st.statuses.end(), [](const auto& s) {
             return s.status.state == ObjectStatus::State::Rejected;
           })));
  std::map<std::pair<std::string, std::string>, uint64_t> objects;
  for (const auto& s : st.statuses) {
    std::string state = config::toString(s.status.state);
    for (char& c : state) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
    ++objects[{s.kind, state}];
  }
  observability::instance().metrics().recordBuild(observability::monotonicUs() - buildStartUs,
                                                  std::move(objects));
}

std::string Controller::configDumpJson() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out = "{\"objects\":[";
  bool first = true;
  for (const RawObjectPtr& raw : state_->inEffectStorage) {
    if (!first) out += ",";
    first = false;
    // Status is the controller's, not part of the desired state (copied only to drop it: a
    // VirtualService with 10,000 routes is a large tree).
    if (!raw->doc.find("status")) {
      out += config::toJson(raw->doc);
      continue;
    }
    config::Value doc = raw->doc;
    std::erase_if(doc.map, [](const auto& kv) { return kv.first == "status"; });
    out += config::toJson(doc);
  }
  out += "]}";
  return out;
}

std::string statusesJson(const std::vector<StatusEntry>& entries) {
  std::string out = "[";
  for (size_t i = 0; i < entries.size(); ++i) {
    const StatusEntry& e = entries[i];
    if (i) out += ",";
    out += "{\"kind\":" + config::jsonQuote(e.kind) + ",\"namespace\":" + config::jsonQuote(e.ns) +
           ",\"name\":" + config::jsonQuote(e.name) +
           ",\"state\":" + config::jsonQuote(config::toString(e.status.state)) +
           ",\"reason\":" + config::jsonQuote(e.status.reason) +
           (e.details.empty() ? "" : "," + e.details) + "}";
  }
  out += "]";
  return out;
}

}  // namespace portico::controller
