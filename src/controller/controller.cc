#include "controller/controller.h"

#include <algorithm>
#include <re2/re2.h>
#include <set>

#include "common/log.h"
#include "config/decode.h"

namespace portico::controller {

using config::Errors;
using config::ObjectKey;
using config::ObjectStatus;
using config::RawObject;

namespace {

constexpr const char* kKeepsServing = " (the last accepted version keeps serving)";

template <typename T> struct Accepted {
  RawObject raw;
  T value;
};

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

bool labelsMatch(const std::vector<std::pair<std::string, std::string>>& selector,
                 const std::vector<std::pair<std::string, std::string>>& labels) {
  for (const auto& [k, v] : selector) {
    bool found = false;
    for (const auto& [lk, lv] : labels) found |= lk == k && lv == v;
    if (!found) return false;
  }
  return true;
}

}  // namespace

struct Controller::State {
  std::map<ObjectKey, Accepted<upstream::ClusterConstSharedPtr>> lastUpstreams;
  std::map<ObjectKey, Accepted<config::VirtualService>> lastVirtualServices;
  std::map<ObjectKey, Accepted<config::Gateway>> lastGateways;
  std::map<std::string, std::shared_ptr<gateway::ListenSocketSet>> sockets;  // by address
  std::map<ObjectKey, std::string> fileOfObject;  // where each object was last read from
  std::vector<StatusEntry> statuses;
  std::vector<RawObject> inEffectStorage;
  bool published = false;
  uint64_t builds = 0;
};

Controller::Controller(store::ConfigStore& store, const PluginRegistry& plugins,
                       gateway::SnapshotHolder* holder, ControllerOptions options)
    : state_(std::make_unique<State>()), store_(store), plugins_(plugins), holder_(holder),
      options_(options) {}

Controller::~Controller() = default;

bool Controller::ready() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_->published;
}

uint64_t Controller::builds() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_->builds;
}

std::vector<StatusEntry> Controller::statuses() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_->statuses;
}

void Controller::rebuild() {
  std::lock_guard<std::mutex> lock(mutex_);
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

  std::vector<const RawObject*> upstreamsRaw, vsRaw, gatewaysRaw;
  std::set<ObjectKey> present;
  for (const RawObject& obj : contents.objects) {
    ObjectKey key = obj.key();
    present.insert(key);
    if (!config::isKnownKind(obj.apiVersion, obj.kind)) {
      reject(key,
             "kind \"" + obj.kind + "\" (apiVersion \"" + obj.apiVersion +
                 "\") is not supported by Portico yet",
             false);
      continue;
    }
    if (obj.kind == "Upstream") upstreamsRaw.push_back(&obj);
    else if (obj.kind == "VirtualService") vsRaw.push_back(&obj);
    else if (obj.kind == "Gateway") gatewaysRaw.push_back(&obj);
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
  for (const RawObject& obj : contents.objects) files[obj.key()] = fileOf(obj.source);
  for (const ObjectKey& key : carried) files[key] = st.fileOfObject[key];
  st.fileOfObject = std::move(files);

  // Forget the last accepted versions of objects that were deleted from the store.
  auto prune = [&](auto& m) {
    for (auto it = m.begin(); it != m.end();) it = present.count(it->first) ? std::next(it) : m.erase(it);
  };
  prune(st.lastUpstreams);
  prune(st.lastVirtualServices);
  prune(st.lastGateways);

  // ---- upstreams → clusters ----
  std::map<ObjectKey, Accepted<upstream::ClusterConstSharedPtr>> upstreams;
  for (const RawObject* raw : upstreamsRaw) {
    ObjectKey key = raw->key();
    Errors errors;
    config::Upstream up = config::decodeUpstream(*raw, errors);
    auto cluster = std::make_shared<upstream::Cluster>();
    cluster->name = key.name + "." + key.ns;
    cluster->connectTimeoutMs = up.connectTimeoutMs;
    if (errors.empty()) {
      const UpstreamPlugin* plugin = plugins_.upstreamPlugin(up.type);
      if (!plugin) errors.add("spec." + up.type, "upstream type \"" + up.type + "\" is not supported by this build");
      else plugin->translate(up, *cluster, errors);
    }
    if (errors.empty()) {
      accept(key);
      upstreams[key] = {*raw, cluster};
      st.lastUpstreams[key] = {*raw, cluster};
    } else {
      auto last = st.lastUpstreams.find(key);
      reject(key, errors.toString(), last != st.lastUpstreams.end());
      if (last != st.lastUpstreams.end()) upstreams[key] = last->second;
    }
  }

  for (const ObjectKey& key : carried) {
    auto last = st.lastUpstreams.find(key);
    if (last != st.lastUpstreams.end()) upstreams[key] = last->second;
  }

  // ---- virtual services ----
  auto checkRefs = [&](const config::VirtualService& vs, Errors& errors) {
    for (const config::Route& r : vs.routes) {
      if (!upstreams.count(refKey("Upstream", r.action.upstream)))
        errors.add(r.action.fieldPath, "upstream \"" + r.action.upstream.name +
                                           "\" not found in namespace \"" +
                                           r.action.upstream.ns + "\"");
    }
  };
  std::map<ObjectKey, Accepted<config::VirtualService>> virtualServices;
  for (const RawObject* raw : vsRaw) {
    ObjectKey key = raw->key();
    Errors errors;
    config::VirtualService vs = config::decodeVirtualService(*raw, errors);
    if (errors.empty()) checkRefs(vs, errors);
    if (errors.empty()) {
      accept(key);
      virtualServices[key] = {*raw, vs};
      st.lastVirtualServices[key] = {*raw, vs};
      continue;
    }
    auto last = st.lastVirtualServices.find(key);
    bool fallback = false;
    if (last != st.lastVirtualServices.end()) {
      Errors lastErrors;
      checkRefs(last->second.value, lastErrors);
      fallback = lastErrors.empty();
    }
    reject(key, errors.toString(), fallback);
    if (fallback) virtualServices[key] = last->second;
  }

  for (const ObjectKey& key : carried) {
    auto last = st.lastVirtualServices.find(key);
    if (last == st.lastVirtualServices.end()) continue;
    Errors refErrors;
    checkRefs(last->second.value, refErrors);
    if (refErrors.empty()) virtualServices[key] = last->second;
  }

  // ---- gateways ----
  std::map<ObjectKey, Accepted<config::Gateway>> gateways;
  for (const RawObject* raw : gatewaysRaw) {
    ObjectKey key = raw->key();
    Errors errors;
    config::Gateway gw = config::decodeGateway(*raw, errors);
    if (errors.empty()) {
      accept(key);
      gateways[key] = {*raw, gw};
      st.lastGateways[key] = {*raw, gw};
    } else {
      auto last = st.lastGateways.find(key);
      reject(key, errors.toString(), last != st.lastGateways.end());
      if (last != st.lastGateways.end()) gateways[key] = last->second;
    }
  }
  bool carriedGateway = false;
  for (const ObjectKey& key : carried) {
    auto last = st.lastGateways.find(key);
    if (last != st.lastGateways.end()) {
      gateways[key] = last->second;
      carriedGateway = true;
    }
  }
  if (gatewaysRaw.empty() && !carriedGateway) {
    // Gloo's default: one HTTP gateway on port 8080 serving every virtual service.
    config::Gateway def;
    def.meta.name = "gateway-proxy";
    def.meta.ns = config::kDefaultNamespace;
    RawObject raw;
    raw.apiVersion = "gateway.solo.io/v1";
    raw.kind = "Gateway";
    raw.meta = def.meta;
    raw.doc = config::Value::makeMap();
    raw.doc.set("apiVersion", config::Value::makeString(raw.apiVersion));
    raw.doc.set("kind", config::Value::makeString("Gateway"));
    config::Value meta = config::Value::makeMap();
    meta.set("name", config::Value::makeString(def.meta.name));
    meta.set("namespace", config::Value::makeString(def.meta.ns));
    raw.doc.set("metadata", std::move(meta));
    config::Value spec = config::Value::makeMap();
    spec.set("bindAddress", config::Value::makeString("::"));
    config::Value port;
    port.type = config::Value::Type::Number;
    port.scalar = "8080";
    spec.set("bindPort", std::move(port));
    raw.doc.set("spec", std::move(spec));
    gateways[raw.key()] = {raw, def};
  }

  // ---- snapshot ----
  auto snap = std::make_shared<gateway::Snapshot>();
  std::map<ObjectKey, uint32_t> clusterIndex;
  for (const auto& [key, up] : upstreams) {
    clusterIndex[key] = static_cast<uint32_t>(snap->clusters.size());
    snap->clusters.push_back(up.value);
  }
  std::set<ObjectKey> conflicted;  // virtual services rejected for a domain clash
  std::map<std::string, ObjectKey> addressOwner;
  std::map<std::string, std::shared_ptr<gateway::ListenSocketSet>> socketsInUse;
  for (const auto& [gwKey, gw] : gateways) {
    auto address = net::Address::fromIp(gw.value.bindAddress, gw.value.bindPort);
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
    bool selectAll = gw.value.virtualServices.empty() && gw.value.virtualServiceSelector.empty();
    for (const auto& [vsKey, vs] : virtualServices) {
      bool selected = false;
      if (!gw.value.virtualServices.empty()) {
        for (const auto& ref : gw.value.virtualServices)
          selected |= refKey("VirtualService", ref) == vsKey;
      } else if (!gw.value.virtualServiceSelector.empty()) {
        selected = labelsMatch(gw.value.virtualServiceSelector, vs.value.meta.labels);
      } else {
        selected = selectAll;
      }
      const auto& nsList = gw.value.virtualServiceNamespaces;
      if (selected && !nsList.empty() && std::find(nsList.begin(), nsList.end(), "*") == nsList.end())
        selected = std::find(nsList.begin(), nsList.end(), vsKey.ns) != nsList.end();
      if (!selected || conflicted.count(vsKey)) continue;

      std::vector<std::string> domains = vs.value.domains;
      if (domains.empty()) domains.push_back("*");
      std::string clash;
      for (size_t i = 0; i < domains.size() && clash.empty(); ++i) {
        int o = listener.routes.domainOwner(domains[i]);
        if (o >= 0)
          clash = "spec.virtualHost.domains[" + std::to_string(i) + "]: domain \"" + domains[i] +
                  "\" is already served by virtualservice " + listener.routes.virtualHosts()[o].name +
                  " on " + gwKey.display();
      }
      if (!clash.empty()) {
        conflicted.insert(vsKey);
        reject(vsKey, clash, false);
        continue;
      }
      router::VirtualHost vhost;
      vhost.name = vsKey.name + "." + vsKey.ns;
      for (size_t i = 0; i < vs.value.routes.size(); ++i) {
        const config::Route& r = vs.value.routes[i];
        router::RouteEntry entry;
        entry.name = vhost.name + " routes[" + std::to_string(i) + "]";
        entry.clusterIndex = clusterIndex[refKey("Upstream", r.action.upstream)];
        if (r.options.timeoutMs) entry.timeoutMs = *r.options.timeoutMs;
        if (r.options.prefixRewrite) {
          entry.hasPrefixRewrite = true;
          entry.prefixRewrite = *r.options.prefixRewrite;
        }
        std::vector<config::Matcher> matchers = r.matchers;
        if (matchers.empty()) matchers.push_back({config::Matcher::Type::Prefix, "/", true});
        for (const config::Matcher& m : matchers) {
          router::PathMatcher pm;
          pm.caseSensitive = m.caseSensitive;
          pm.value = m.value;
          if (m.type == config::Matcher::Type::Regex) {
            pm.type = router::PathMatcher::Type::Regex;
            RE2::Options opts;
            opts.set_case_sensitive(m.caseSensitive);
            opts.set_log_errors(false);
            pm.regex = std::make_shared<RE2>(m.value, opts);
          } else {
            pm.type = m.type == config::Matcher::Type::Exact ? router::PathMatcher::Type::Exact
                                                             : router::PathMatcher::Type::Prefix;
            if (!m.caseSensitive)
              for (char& c : pm.value) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
          }
          entry.matchers.push_back(std::move(pm));
        }
        vhost.routes.push_back(std::move(entry));
      }
      listener.routes.addVirtualHost(std::move(vhost), domains);
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
    addressOwner[addrText] = gwKey;
    snap->listeners.push_back(std::move(listener));
  }
  st.sockets = std::move(socketsInUse);

  // ---- statuses and what is in effect ----
  st.statuses = fileErrors;
  for (auto& [key, status] : statuses) {
    if (status.state != ObjectStatus::State::Accepted) LOG_WARN("%s", status.reason.c_str());
    store_.writeStatus(key, status);
    st.statuses.push_back({key.kind, key.ns, key.name, status});
  }
  st.inEffectStorage.clear();
  for (const auto& [k, v] : upstreams) st.inEffectStorage.push_back(v.raw);
  for (const auto& [k, v] : virtualServices)
    if (!conflicted.count(k)) st.inEffectStorage.push_back(v.raw);
  for (const auto& [k, v] : gateways) st.inEffectStorage.push_back(v.raw);

  ++st.builds;
  snap->version = st.builds;
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
}

std::string Controller::configDumpJson() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out = "{\"objects\":[";
  bool first = true;
  for (const RawObject& raw : state_->inEffectStorage) {
    if (!first) out += ",";
    first = false;
    // Status is the controller's, not part of the desired state.
    config::Value doc = raw.doc;
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
           ",\"reason\":" + config::jsonQuote(e.status.reason) + "}";
  }
  out += "]";
  return out;
}

}  // namespace portico::controller
