// decodeVirtualService: gateway.solo.io/v1 VirtualService → config::VirtualService. Only the
// subset Portico implements is read; MapReader reports everything else by path.
#include <re2/re2.h>

#include <cctype>
#include <unordered_set>

#include "config/decode.h"
#include "config/field_reader.h"

namespace portico::config {

namespace {

constexpr const char* kActions[] = {"routeAction", "redirectAction", "directResponseAction",
                                    "delegateAction"};
constexpr const char* kActionList =
    "routeAction, redirectAction, directResponseAction, delegateAction";

bool isHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

bool isHostName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = host.find('.', start);
    std::string_view label = host.substr(start, dot == host.npos ? host.npos : dot - start);
    if (label.empty() || label.size() > 63) return false;
    for (char c : label)
      if (!isHostChar(c)) return false;
    if (dot == host.npos) return true;
    start = dot + 1;
  }
}

bool isPort(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  int n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  return n >= 1 && n <= 65535;
}

// "*", "host", "*.suffix", "[v6]", each optionally with ":port" (except the bare "*").
bool isValidDomain(std::string_view d) {
  if (d == "*") return true;
  std::string_view host = d;
  if (!host.empty() && host[0] == '[') {
    size_t close = host.find(']');
    if (close == host.npos || close == 1) return false;
    std::string_view rest = host.substr(close + 1);
    if (!rest.empty() && !(rest[0] == ':' && isPort(rest.substr(1)))) return false;
    for (char c : host.substr(1, close - 1))
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return false;
    return true;
  }
  size_t colon = host.rfind(':');
  if (colon != host.npos) {
    if (!isPort(host.substr(colon + 1))) return false;
    host = host.substr(0, colon);
  }
  if (host.substr(0, 2) == "*.") host.remove_prefix(2);
  return isHostName(host);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void decodeDomains(const Value& v, const std::string& path, std::vector<std::string>& out,
                   Errors& errors) {
  if (!v.isList()) {
    errors.add(path, std::string("expected a list, got ") + typeName(v.type));
    return;
  }
  std::unordered_set<std::string> seen;
  for (size_t i = 0; i < v.list.size(); ++i) {
    std::string itemPath = indexPath(path, i);
    std::string domain;
    if (!readStringValue(v.list[i], itemPath, errors, domain)) continue;
    if (domain.empty()) {
      errors.add(itemPath, "must not be empty");
      continue;
    }
    if (!isValidDomain(domain)) {
      errors.add(itemPath, "invalid domain " + jsonQuote(domain) +
                               ": expected \"*\", a host name or \"*.suffix\", optionally "
                               "followed by \":port\"");
      continue;
    }
    // Host names are case-insensitive: stored lowercased, duplicates compared that way.
    domain = lower(domain);
    if (!seen.insert(domain).second) {
      errors.add(itemPath, "duplicate domain " + jsonQuote(domain));
      continue;
    }
    out.push_back(std::move(domain));
  }
}

void decodeMatcher(const Value& v, const std::string& path, Matcher& out, Errors& errors) {
  MapReader r(v, path, errors);
  r.readBool("caseSensitive", out.caseSensitive);
  size_t given = r.has("prefix") + r.has("exact") + r.has("regex");
  if (given > 1) errors.add(path, "only one of prefix, exact, regex may be set");
  out.type = Matcher::Type::Prefix;
  out.value = "/";
  struct PathField {
    const char* key;
    Matcher::Type type;
  };
  for (PathField f :
       {PathField{"prefix", Matcher::Type::Prefix}, PathField{"exact", Matcher::Type::Exact}}) {
    std::string s;
    if (!r.readString(f.key, s)) continue;
    if (s.empty() || s[0] != '/') {
      errors.add(r.pathOf(f.key), "must start with \"/\"");
      continue;
    }
    out.type = f.type;
    out.value = std::move(s);
  }
  std::string pattern;
  if (r.readString("regex", pattern)) {
    RE2::Options options;
    options.set_log_errors(false);
    options.set_case_sensitive(out.caseSensitive);
    RE2 re(pattern, options);
    if (!re.ok()) {
      errors.add(r.pathOf("regex"), "invalid regex: " + re.error());
    } else {
      out.type = Matcher::Type::Regex;
      out.value = std::move(pattern);
    }
  }
}

void decodeRouteAction(const Value& v, const std::string& path, const std::string& defaultNs,
                       RouteAction& out, Errors& errors) {
  MapReader action(v, path, errors);
  const Value* single = action.take("single");
  if (!single) {
    // Other destination kinds (multi, upstreamGroup, ...) are reported as unsupported instead.
    if (action.presentCount() == 0) errors.add(action.pathOf("single"), "required");
    return;
  }
  MapReader dest(*single, action.pathOf("single"), errors);
  const Value* upstream = dest.take("upstream");
  if (!upstream) {
    if (dest.presentCount() == 0) errors.add(dest.pathOf("upstream"), "required");
    return;
  }
  out.fieldPath = dest.pathOf("upstream");
  MapReader ref(*upstream, out.fieldPath, errors);
  ref.requireString("name", out.upstream.name);
  out.upstream.ns = defaultNs;
  std::string ns;
  if (ref.readString("namespace", ns)) {
    if (isValidNamespace(ns))
      out.upstream.ns = std::move(ns);
    else
      errors.add(ref.pathOf("namespace"), "invalid namespace " + jsonQuote(ns));
  }
}

void decodeRouteOptions(const Value& v, const std::string& path, RouteOptions& out,
                        Errors& errors) {
  MapReader r(v, path, errors);
  int64_t ms = 0;
  if (r.readDurationMs("timeout", ms)) {
    if (ms > 0)
      out.timeoutMs = ms;
    else
      errors.add(r.pathOf("timeout"), "must be greater than 0");
  }
  std::string rewrite;
  if (r.readString("prefixRewrite", rewrite)) out.prefixRewrite = std::move(rewrite);
}

void decodeRoute(const Value& v, const std::string& path, const std::string& defaultNs, Route& out,
                 Errors& errors) {
  MapReader r(v, path, errors);
  r.readString("name", out.name);
  if (const Value* matchers = r.take("matchers")) {
    std::string mpath = r.pathOf("matchers");
    if (!matchers->isList()) {
      errors.add(mpath, std::string("expected a list, got ") + typeName(matchers->type));
    } else {
      for (size_t i = 0; i < matchers->list.size(); ++i) {
        Matcher m;
        decodeMatcher(matchers->list[i], indexPath(mpath, i), m, errors);
        out.matchers.push_back(std::move(m));
      }
    }
  }
  size_t actions = 0;
  for (const char* a : kActions)
    actions += r.has(a);
  if (v.isMap() && actions == 0)
    errors.add(path, std::string("one of ") + kActionList + " is required");
  if (actions > 1) errors.add(path, std::string("only one of ") + kActionList + " may be set");
  // The other action kinds stay unread, so the reader names them as unsupported.
  if (const Value* action = r.take("routeAction"))
    decodeRouteAction(*action, r.pathOf("routeAction"), defaultNs, out.action, errors);
  if (const Value* options = r.take("options"))
    decodeRouteOptions(*options, r.pathOf("options"), out.options, errors);
}

void decodeVirtualHost(const Value& v, const std::string& path, const std::string& defaultNs,
                       VirtualService& out, Errors& errors) {
  MapReader r(v, path, errors);
  if (const Value* domains = r.take("domains"))
    decodeDomains(*domains, r.pathOf("domains"), out.domains, errors);
  if (const Value* routes = r.take("routes")) {
    std::string rpath = r.pathOf("routes");
    if (!routes->isList()) {
      errors.add(rpath, std::string("expected a list, got ") + typeName(routes->type));
    } else {
      for (size_t i = 0; i < routes->list.size(); ++i) {
        Route route;
        decodeRoute(routes->list[i], indexPath(rpath, i), defaultNs, route, errors);
        out.routes.push_back(std::move(route));
      }
    }
  }
  // Virtual-host options: none implemented yet; reading the map names each option used.
  if (const Value* options = r.take("options")) {
    MapReader unsupported(*options, r.pathOf("options"), errors);
  }
}

}  // namespace

VirtualService decodeVirtualService(const RawObject& obj, Errors& errors) {
  VirtualService vs;
  vs.meta = obj.meta;
  MapReader root(obj.doc, "", errors);
  for (const char* key : {"apiVersion", "kind", "metadata", "status"})
    root.ignore(key);
  const Value* spec = root.take("spec");
  if (!spec) {
    errors.add("spec", "required");
    return vs;
  }
  MapReader s(*spec, "spec", errors);
  std::string displayName;
  s.readString("displayName", displayName);  // cosmetic: type-checked, then ignored
  if (const Value* vh = s.take("virtualHost"))
    decodeVirtualHost(*vh, s.pathOf("virtualHost"), obj.meta.ns, vs, errors);
  else if (spec->isMap())
    errors.add(s.pathOf("virtualHost"), "required");
  return vs;
}

}  // namespace portico::config
