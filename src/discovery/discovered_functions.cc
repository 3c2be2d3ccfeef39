#include "discovery/discovered_functions.h"

#include <algorithm>

#include "config/decode.h"
#include "config/decode_internal.h"
#include "config/field_reader.h"

namespace portico::discovery {

using config::Value;

bool isDiscoveredFunctionsObject(const config::RawObject& raw) {
  return raw.apiVersion == kDiscoveredApiVersion && raw.kind == kDiscoveredKind;
}

DiscoveredFunctionsObject decodeDiscoveredFunctions(const config::RawObject& raw,
                                                    config::Errors& errors) {
  DiscoveredFunctionsObject out;
  out.upstream = {"Upstream", raw.meta.ns, raw.meta.name};
  static const Value kEmpty;
  const Value* spec = raw.doc.find("spec");
  config::MapReader s(spec ? *spec : kEmpty, "spec", errors);
  if (const Value* up = s.take("upstream")) {
    config::ResourceRef ref;
    config::detail::decodeResourceRef(*up, s.pathOf("upstream"), raw.meta.ns, ref, errors);
    out.upstream = {"Upstream", ref.ns, ref.name};
  }
  s.readString("source", out.source);
  if (const Value* fns = s.take("functions")) {
    std::string path = s.pathOf("functions");
    if (config::detail::expectMap(*fns, path, errors)) {
      out.functionsText = config::toYaml(*fns);
      out.functionsDoc = *fns;
      for (const auto& [name, value] : fns->map) {
        config::TransformationTemplate t;
        config::detail::decodeTransformationTemplate(value, config::joinPath(path, name), t, errors);
        out.functions.emplace_back(name, std::move(t));
      }
    }
  }
  // status and other top-level fields are the store's business
  return out;
}

Value functionsValue(const std::vector<DiscoveredFunction>& functions) {
  Value map = Value::makeMap();
  for (const DiscoveredFunction& f : functions) map.set(f.name, f.tmpl);
  return map;
}

config::RawObject makeDiscoveredFunctions(const config::ObjectKey& upstream,
                                          const std::string& source, const Value& functions) {
  config::RawObject raw;
  raw.apiVersion = kDiscoveredApiVersion;
  raw.kind = kDiscoveredKind;
  raw.meta.name = upstream.name;
  raw.meta.ns = upstream.ns;
  raw.doc = Value::makeMap();
  raw.doc.set("apiVersion", Value::makeString(raw.apiVersion));
  raw.doc.set("kind", Value::makeString(raw.kind));
  Value meta = Value::makeMap();
  meta.set("name", Value::makeString(upstream.name));
  meta.set("namespace", Value::makeString(upstream.ns));
  raw.doc.set("metadata", std::move(meta));
  Value ref = Value::makeMap();
  ref.set("name", Value::makeString(upstream.name));
  ref.set("namespace", Value::makeString(upstream.ns));
  Value spec = Value::makeMap();
  spec.set("upstream", std::move(ref));
  spec.set("source", Value::makeString(source));
  spec.set("functions", functions);
  raw.doc.set("spec", std::move(spec));
  return raw;
}

std::vector<std::pair<std::string, config::TransformationTemplate>> decodeFunctions(
    const std::vector<DiscoveredFunction>& functions, const std::string& path,
    config::Errors& errors) {
  std::vector<std::pair<std::string, config::TransformationTemplate>> out;
  for (const DiscoveredFunction& f : functions) {
    config::TransformationTemplate t;
    config::detail::decodeTransformationTemplate(f.tmpl, config::joinPath(path, f.name), t, errors);
    out.emplace_back(f.name, std::move(t));
  }
  return out;
}

size_t mergeFunctions(
    std::vector<std::pair<std::string, config::TransformationTemplate>>& restFunctions,
    const std::vector<std::pair<std::string, config::TransformationTemplate>>& discovered) {
  size_t added = 0;
  for (const auto& fn : discovered) {
    bool taken = std::any_of(restFunctions.begin(), restFunctions.end(),
                             [&](const auto& f) { return f.first == fn.first; });
    if (taken) continue;
    restFunctions.push_back(fn);
    ++added;
  }
  return added;
}

}  // namespace portico::discovery
