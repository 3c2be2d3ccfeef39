#include "discovery/upstream_functions.h"

#include <algorithm>

namespace portico::discovery {

using config::Value;

const Result<OpenApiFunctions>& InlineDocuments::convert(const std::string& text) {
  Slot& slot = cache_[text];
  if (!slot.result)
    slot.result = std::make_shared<const Result<OpenApiFunctions>>(functionsFromOpenApi(text));
  slot.used = true;
  return *slot.result;
}

void InlineDocuments::endBuild() {
  for (auto it = cache_.begin(); it != cache_.end();) {
    if (!it->second.used) {
      it = cache_.erase(it);
    } else {
      it->second.used = false;
      ++it;
    }
  }
}

namespace {

bool hasFunction(const config::Upstream& up, const std::string& name) {
  return std::any_of(up.restFunctions.begin(), up.restFunctions.end(),
                     [&](const auto& f) { return f.first == name; });
}

}  // namespace

MergedFunctions mergeUpstreamFunctions(config::Upstream& up, InlineDocuments& inlineDocs,
                                       const DiscoveredFunctionsObject* discovered) {
  MergedFunctions out;
  out.added = Value::makeMap();
  if (up.swaggerInfo && !up.swaggerInfo->inlineDoc.empty()) {
    const std::string path = up.swaggerInfo->fieldPath + ".inline";
    const Result<OpenApiFunctions>& doc = inlineDocs.convert(up.swaggerInfo->inlineDoc);
    DiscoveryState state;
    state.source = "inline";
    if (!doc.ok()) {
      state.phase = DiscoveryState::Phase::Failed;
      state.reason = doc.error();
      out.warning = path + ": " + doc.error();
    } else {
      config::Errors errors;
      auto functions = decodeFunctions(doc->functions, path, errors);
      if (!errors.empty()) {  // generated templates the decoder refuses: a Portico bug
        state.phase = DiscoveryState::Phase::Failed;
        state.reason = errors.toString();
        out.warning = path + ": " + errors.toString();
      } else {
        state.phase = DiscoveryState::Phase::Discovered;
        state.functions = doc->functions.size();
        for (size_t i = 0; i < functions.size(); ++i) {
          if (hasFunction(up, functions[i].first)) continue;
          out.added.set(functions[i].first, doc->functions[i].tmpl);
          up.restFunctions.push_back(std::move(functions[i]));
        }
      }
    }
    out.inlineState = std::move(state);
  }
  if (discovered) {
    for (const auto& [name, tmpl] : discovered->functions) {
      if (hasFunction(up, name)) continue;
      if (const Value* doc = discovered->functionsDoc.find(name)) out.added.set(name, *doc);
      up.restFunctions.emplace_back(name, tmpl);
    }
  }
  return out;
}

void addFunctionsToDocument(Value& upstreamDoc, const std::string& type, const Value& added) {
  if (added.map.empty() || !upstreamDoc.isMap()) return;
  Value* at = &upstreamDoc;
  for (const char* key : {"spec", type.c_str(), "serviceSpec", "rest", "transformations"}) {
    Value* next = nullptr;
    for (auto& [k, v] : at->map)
      if (k == key) next = &v;
    if (!next) next = &at->set(key, Value::makeMap());
    if (next->isNull()) *next = Value::makeMap();
    if (!next->isMap()) return;  // not the shape the decoder accepted: leave it alone
    at = next;
  }
  for (const auto& [name, doc] : added.map)
    if (!at->find(name)) at->set(name, doc);
}

DiscoveryTarget discoveryTarget(const config::RawObject& raw, const config::Upstream& up,
                                const upstream::Cluster& cluster) {
  DiscoveryTarget t;
  t.upstream = raw.key();
  t.labels = raw.meta.labels;
  t.hasServiceSpec = up.hasServiceSpec;
  if (up.swaggerInfo) {
    t.swaggerUrl = up.swaggerInfo->url;
    t.swaggerInline = !up.swaggerInfo->inlineDoc.empty();
  }
  if (cluster.tls) t.tls = cluster.tls->context;
  for (const upstream::Host& h : cluster.hosts) {
    std::string authority = h.hostname.empty()
                                ? h.address.toString()
                                : h.hostname + ":" + std::to_string(h.address.port());
    std::string sni = cluster.tls ? cluster.tls->sniFor(h.key) : std::string();
    t.hosts.push_back({h.address, std::move(authority), std::move(sni)});
  }
  return t;
}

}  // namespace portico::discovery
