// decodeVirtualService, decodeRouteTable, decodeUpstreamGroup: the gateway.solo.io/v1
// VirtualService and RouteTable and the gloo.solo.io/v1 UpstreamGroup. Routes, actions and
// options are decoded in decode_route.cc and decode_options.cc.
#include <cstdint>
#include <unordered_set>

#include "config/decode.h"
#include "config/decode_internal.h"
#include "config/field_reader.h"

namespace portico::config {

namespace {

void decodeDomains(const Value& v, const std::string& path, std::vector<std::string>& out,
                   Errors& errors) {
  if (!detail::expectList(v, path, errors)) return;
  std::unordered_set<std::string> seen;
  for (size_t i = 0; i < v.list.size(); ++i) {
    std::string itemPath = indexPath(path, i);
    std::string domain;
    if (!readStringValue(v.list[i], itemPath, errors, domain)) continue;
    if (domain.empty()) {
      errors.add(itemPath, "must not be empty");
      continue;
    }
    if (!detail::isValidDomain(domain)) {
      errors.add(itemPath, "invalid domain " + jsonQuote(domain) +
                               ": expected \"*\", a host name or \"*.suffix\", optionally "
                               "followed by \":port\"");
      continue;
    }
    // Host names are case-insensitive: stored lowercased, duplicates compared that way.
    domain = detail::lowerAscii(domain);
    if (!seen.insert(domain).second) {
      errors.add(itemPath, "duplicate domain " + jsonQuote(domain));
      continue;
    }
    out.push_back(std::move(domain));
  }
}

void decodeVirtualHost(const Value& v, const std::string& path, const std::string& defaultNs,
                       VirtualService& out, Errors& errors) {
  MapReader r(v, path, errors);
  if (const Value* domains = r.take("domains"))
    decodeDomains(*domains, r.pathOf("domains"), out.domains, errors);
  if (const Value* routes = r.take("routes"))
    detail::decodeRoutes(*routes, r.pathOf("routes"), defaultNs, out.routes, errors);
  if (const Value* options = r.take("options"))
    detail::decodeVirtualHostOptions(*options, r.pathOf("options"), out, errors);
}

// spec.sslConfig: secretRef | sslFiles{tlsCert, tlsKey, rootCa}, sniDomains,
// verifySubjectAltName. Certificates themselves are loaded (and judged) by the controller.
void decodeSslConfig(const Value& v, const std::string& path, const std::string& defaultNs,
                     SslConfig& out, Errors& errors) {
  MapReader r(v, path, errors);
  bool hasRef = r.has("secretRef"), hasFiles = r.has("sslFiles");
  if (hasRef && hasFiles) errors.add(path, "only one of secretRef, sslFiles may be set");
  if (!hasRef && !hasFiles && !r.has("sds") && v.isMap())
    errors.add(path, "one of secretRef, sslFiles is required");
  if (const Value* ref = r.take("secretRef")) {
    ResourceRef secret;
    detail::decodeResourceRef(*ref, r.pathOf("secretRef"), defaultNs, secret, errors);
    out.secretRef = std::move(secret);
  }
  if (const Value* files = r.take("sslFiles")) {
    MapReader f(*files, r.pathOf("sslFiles"), errors);
    f.requireString("tlsCert", out.tlsCert);
    f.requireString("tlsKey", out.tlsKey);
    f.readString("rootCa", out.rootCa);
  }
  std::vector<std::string> sni;
  if (r.readStringList("sniDomains", sni)) {
    for (size_t i = 0; i < sni.size(); ++i) {
      std::string name = detail::lowerAscii(sni[i]);
      if (name.empty() || name.find(':') != std::string::npos || !detail::isValidDomain(name)) {
        errors.add(indexPath(r.pathOf("sniDomains"), i),
                   "invalid SNI name " + jsonQuote(sni[i]) +
                       ": expected a host name, \"*.suffix\" or \"*\" (no port)");
        continue;
      }
      out.sniDomains.push_back(std::move(name));
    }
  }
  r.readStringList("verifySubjectAltName", out.verifySubjectAltName);
  if (!out.verifySubjectAltName.empty() && out.rootCa.empty() && !out.secretRef)
    errors.add(r.pathOf("verifySubjectAltName"),
               "needs sslFiles.rootCa (the CA that client certificates are verified against)");
}

// The document root of every kind: identity was read by toRawObject, status is Portico's own
// output. Returns spec, or reports "spec: required".
const Value* takeSpec(MapReader& root, Errors& errors) {
  for (const char* key : {"apiVersion", "kind", "metadata", "status"})
    root.ignore(key);
  const Value* spec = root.take("spec");
  if (!spec) errors.add("spec", "required");
  return spec;
}

}  // namespace

VirtualService decodeVirtualService(const RawObject& obj, Errors& errors) {
  VirtualService vs;
  vs.meta = obj.meta;
  if (detail::reportConversionErrors(obj, errors)) return vs;
  MapReader root(obj.doc, "", errors);
  const Value* spec = takeSpec(root, errors);
  if (!spec) return vs;
  MapReader s(*spec, "spec", errors);
  std::string displayName;
  s.readString("displayName", displayName);  // cosmetic: type-checked, then ignored
  if (const Value* vh = s.take("virtualHost"))
    decodeVirtualHost(*vh, s.pathOf("virtualHost"), obj.meta.ns, vs, errors);
  else if (spec->isMap())
    errors.add(s.pathOf("virtualHost"), "required");
  if (const Value* ssl = s.take("sslConfig"))
    decodeSslConfig(*ssl, s.pathOf("sslConfig"), obj.meta.ns, vs.sslConfig.emplace(), errors);
  return vs;
}

RouteTable decodeRouteTable(const RawObject& obj, Errors& errors) {
  RouteTable rt;
  rt.meta = obj.meta;
  if (detail::reportConversionErrors(obj, errors)) return rt;
  MapReader root(obj.doc, "", errors);
  const Value* spec = takeSpec(root, errors);
  if (!spec) return rt;
  MapReader s(*spec, "spec", errors);
  if (const Value* routes = s.take("routes"))
    detail::decodeRoutes(*routes, s.pathOf("routes"), obj.meta.ns, rt.routes, errors);
  int64_t weight = 0;
  if (s.readInt("weight", INT32_MIN, INT32_MAX, weight)) rt.weight = static_cast<int32_t>(weight);
  return rt;
}

UpstreamGroup decodeUpstreamGroup(const RawObject& obj, Errors& errors) {
  UpstreamGroup group;
  group.meta = obj.meta;
  if (detail::reportConversionErrors(obj, errors)) return group;
  MapReader root(obj.doc, "", errors);
  const Value* spec = takeSpec(root, errors);
  if (!spec) return group;
  MapReader s(*spec, "spec", errors);
  const Value* destinations = s.take("destinations");
  if (destinations || spec->isMap()) {
    static const Value kNone;
    detail::decodeWeightedDestinations(destinations ? *destinations : kNone,
                                       s.pathOf("destinations"), obj.meta.ns, group.destinations,
                                       errors);
  }
  return group;
}

}  // namespace portico::config
