// Route decoding shared by VirtualService and RouteTable: matchers and the four actions
// (routeAction, redirectAction, directResponseAction, delegateAction). Options live in
// decode_options.cc. MapReader names every field read here nowhere as unsupported.
#include <cstdint>
#include <iterator>

#include "config/decode.h"
#include "config/decode_internal.h"
#include "config/field_reader.h"

namespace portico::config::detail {

namespace {

constexpr const char* kActions[] = {"routeAction", "redirectAction", "directResponseAction",
                                    "delegateAction"};
constexpr const char* kActionList =
    "routeAction, redirectAction, directResponseAction, delegateAction";

constexpr const char* kTokenForm = "expected a token (letters, digits and !#$%&'*+-.^_`|~)";

struct RedirectCode {
  const char* name;
  uint32_t code;
};
// Gloo's RedirectResponseCode enum, in enum-number order (protobuf JSON also accepts 0..4).
constexpr RedirectCode kRedirectCodes[] = {{"MOVED_PERMANENTLY", 301},
                                           {"FOUND", 302},
                                           {"SEE_OTHER", 303},
                                           {"TEMPORARY_REDIRECT", 307},
                                           {"PERMANENT_REDIRECT", 308}};

}  // namespace

void decodeHeaderMatchers(const Value& v, const std::string& path, std::vector<HeaderMatcher>& out,
                          Errors& errors, bool responseMatchers) {
  if (!expectList(v, path, errors)) return;
  for (size_t i = 0; i < v.list.size(); ++i) {
    MapReader r(v.list[i], indexPath(path, i), errors);
    if (!v.list[i].isMap()) continue;  // reported by the reader
    HeaderMatcher h;
    if (r.requireString("name", h.name)) {
      bool pseudo = responseMatchers ? h.name == ":status"
                                     : (h.name == ":authority" || h.name == ":method" ||
                                        h.name == ":path" || h.name == ":scheme");
      if (!isToken(h.name) && !pseudo)
        errors.add(r.pathOf("name"),
                   "invalid header name " + jsonQuote(h.name) + ": " + kTokenForm);
      h.name = lowerAscii(h.name);
    }
    r.readString("value", h.value);
    r.readBool("regex", h.regex);
    r.readBool("invertMatch", h.invertMatch);
    if (h.regex) checkRegex(h.value, r.pathOf("value"), errors);
    out.push_back(std::move(h));
  }
}

namespace {

void decodeQueryMatchers(const Value& v, const std::string& path,
                         std::vector<QueryParameterMatcher>& out, Errors& errors) {
  if (!expectList(v, path, errors)) return;
  for (size_t i = 0; i < v.list.size(); ++i) {
    MapReader r(v.list[i], indexPath(path, i), errors);
    if (!v.list[i].isMap()) continue;  // reported by the reader
    QueryParameterMatcher q;
    if (r.requireString("name", q.name) && q.name.find_first_of("&=#") != std::string::npos)
      errors.add(r.pathOf("name"), "invalid query parameter name " + jsonQuote(q.name) +
                                       ": must not contain '&', '=' or '#'");
    r.readString("value", q.value);
    r.readBool("regex", q.regex);
    if (q.regex) checkRegex(q.value, r.pathOf("value"), errors);
    out.push_back(std::move(q));
  }
}

void decodeMethods(MapReader& r, std::vector<std::string>& out) {
  std::vector<std::string> methods;
  if (!r.readStringList("methods", methods)) return;
  std::string path = r.pathOf("methods");
  for (size_t i = 0; i < methods.size(); ++i) {
    if (!isToken(methods[i])) {
      r.errors().add(indexPath(path, i),
                     "invalid method " + jsonQuote(methods[i]) + ": expected a token such as GET");
      continue;
    }
    out.push_back(upperAscii(methods[i]));
  }
}

}  // namespace

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
  if (r.readString("regex", pattern) &&
      checkRegex(pattern, r.pathOf("regex"), errors, out.caseSensitive)) {
    out.type = Matcher::Type::Regex;
    out.value = std::move(pattern);
  }
  if (const Value* headers = r.take("headers"))
    decodeHeaderMatchers(*headers, r.pathOf("headers"), out.headers, errors);
  if (const Value* query = r.take("queryParameters"))
    decodeQueryMatchers(*query, r.pathOf("queryParameters"), out.queryParameters, errors);
  decodeMethods(r, out.methods);
}

namespace {

// {upstream: {name, namespace}, destinationSpec: {rest | aws}} of routeAction.single and of a weighted
// destination; kube, consul, other destinationSpecs and subset stay unread (reported as
// unsupported).
void decodeDestination(const Value& v, const std::string& path, const std::string& defaultNs,
                       Destination& out, Errors& errors) {
  MapReader dest(v, path, errors);
  out.fieldPath = dest.pathOf("upstream");
  const Value* upstream = dest.take("upstream");
  if (!upstream) {
    if (dest.presentCount() == 0) errors.add(out.fieldPath, "required");
    return;
  }
  decodeResourceRef(*upstream, out.fieldPath, defaultNs, out.upstream, errors);
  if (const Value* spec = dest.take("destinationSpec")) {
    MapReader s(*spec, dest.pathOf("destinationSpec"), errors);
    if (const Value* rest = s.take("rest")) {
      out.rest.emplace();
      decodeRestDestination(*rest, s.pathOf("rest"), *out.rest, errors);
    }
    if (const Value* aws = s.take("aws")) {
      out.aws.emplace();
      decodeAwsDestination(*aws, s.pathOf("aws"), *out.aws, errors);
    }
    if (out.rest && out.aws) errors.add(s.path(), "only one of rest, aws may be set");
  }
}

void decodeRouteAction(const Value& v, const std::string& path, const std::string& defaultNs,
                       RouteAction& out, Errors& errors) {
  MapReader a(v, path, errors);
  size_t given = a.has("single") + a.has("multi") + a.has("upstreamGroup");
  if (given > 1) errors.add(path, "only one of single, multi, upstreamGroup may be set");
  // Only clusterHeader (say) given: the reader names it as unsupported; no second message.
  if (given == 0 && a.presentCount() == 0 && v.isMap())
    errors.add(path, "one of single, multi, upstreamGroup is required");
  if (const Value* single = a.take("single")) {
    Destination d;
    decodeDestination(*single, a.pathOf("single"), defaultNs, d, errors);
    out.type = RouteAction::Type::Single;
    out.upstream = std::move(d.upstream);
    out.rest = std::move(d.rest);
    out.aws = std::move(d.aws);
    out.fieldPath = std::move(d.fieldPath);
  }
  if (const Value* multi = a.take("multi")) {
    out.type = RouteAction::Type::Multi;
    out.fieldPath = a.pathOf("multi");
    MapReader m(*multi, out.fieldPath, errors);
    const Value* destinations = m.take("destinations");
    static const Value kNone;
    decodeWeightedDestinations(destinations ? *destinations : kNone, m.pathOf("destinations"),
                               defaultNs, out.multi, errors);
  }
  if (const Value* group = a.take("upstreamGroup")) {
    out.type = RouteAction::Type::UpstreamGroup;
    out.fieldPath = a.pathOf("upstreamGroup");
    decodeResourceRef(*group, out.fieldPath, defaultNs, out.upstreamGroup, errors);
  }
}

// A path or prefix a Location header can carry: starts with '/', no whitespace or controls.
bool checkRedirectPath(const std::string& s, const std::string& path, Errors& errors) {
  if (s.empty() || s[0] != '/') {
    errors.add(path, "must start with \"/\"");
    return false;
  }
  for (unsigned char c : s) {
    if (c <= 0x20 || c == 0x7f) {
      errors.add(path, "must not contain spaces or control characters");
      return false;
    }
  }
  return true;
}

void decodeResponseCode(const Value& v, const std::string& path, uint32_t& out, Errors& errors) {
  if (v.type == Value::Type::String) {
    for (const RedirectCode& rc : kRedirectCodes) {
      if (v.scalar == rc.name) {
        out = rc.code;
        return;
      }
    }
  } else if (v.type == Value::Type::Number) {
    for (size_t i = 0; i < std::size(kRedirectCodes); ++i) {
      if (v.scalar == std::to_string(kRedirectCodes[i].code) || v.scalar == std::to_string(i)) {
        out = kRedirectCodes[i].code;
        return;
      }
    }
  }
  errors.add(path, "expected MOVED_PERMANENTLY, FOUND, SEE_OTHER, TEMPORARY_REDIRECT or "
                   "PERMANENT_REDIRECT (or 301, 302, 303, 307, 308), got " +
                       (v.isScalar() ? jsonQuote(v.scalar) : std::string(typeName(v.type))));
}

void decodeRedirect(const Value& v, const std::string& path, RedirectAction& out, Errors& errors) {
  MapReader r(v, path, errors);
  if (r.readString("hostRedirect", out.hostRedirect) && !isHostAndPort(out.hostRedirect))
    errors.add(r.pathOf("hostRedirect"), "invalid host " + jsonQuote(out.hostRedirect) +
                                             ": expected a host name or IP address, optionally "
                                             "followed by \":port\"");
  if (r.has("pathRedirect") && r.has("prefixRewrite"))
    errors.add(path, "only one of pathRedirect, prefixRewrite may be set");
  std::string s;
  if (r.readString("pathRedirect", s) && checkRedirectPath(s, r.pathOf("pathRedirect"), errors))
    out.pathRedirect = s;
  if (r.readString("prefixRewrite", s) && checkRedirectPath(s, r.pathOf("prefixRewrite"), errors))
    out.prefixRewrite = s;
  if (const Value* code = r.take("responseCode"))
    decodeResponseCode(*code, r.pathOf("responseCode"), out.responseCode, errors);
  r.readBool("httpsRedirect", out.httpsRedirect);
  r.readBool("stripQuery", out.stripQuery);
  // Nothing to change would answer every request with a redirect to itself: a loop.
  bool changes = r.has("hostRedirect") || r.has("pathRedirect") || r.has("prefixRewrite") ||
                 out.httpsRedirect || out.stripQuery;
  if (v.isMap() && !changes)
    errors.add(path, "redirects to the request's own URL: set hostRedirect, pathRedirect, "
                     "prefixRewrite, httpsRedirect or stripQuery");
}

void decodeDirectResponse(const Value& v, const std::string& path, DirectResponseAction& out,
                          Errors& errors) {
  MapReader r(v, path, errors);
  int64_t status = 0;
  if (!r.has("status") && v.isMap())
    errors.add(r.pathOf("status"), "required");
  else if (r.readInt("status", 100, 599, status))
    out.status = static_cast<uint32_t>(status);
  r.readString("body", out.body);
}

void decodeDelegate(const Value& v, const std::string& path, const std::string& defaultNs,
                    DelegateAction& out, Errors& errors) {
  MapReader d(v, path, errors);
  out.fieldPath = path;
  bool byName = d.has("name") || d.has("namespace");  // the deprecated inline reference
  size_t given = d.has("ref") + byName + d.has("selector");
  if (given > 1) errors.add(path, "only one of ref, name, selector may be set");
  if (given == 0 && v.isMap()) errors.add(path, "one of ref, selector is required");
  if (const Value* ref = d.take("ref"))
    decodeResourceRef(*ref, d.pathOf("ref"), defaultNs, out.ref, errors);
  if (byName) {
    d.requireString("name", out.ref.name);
    out.ref.ns = defaultNs;
    std::string ns;
    if (d.readString("namespace", ns)) {
      if (isValidNamespace(ns))
        out.ref.ns = std::move(ns);
      else
        errors.add(d.pathOf("namespace"), "invalid namespace " + jsonQuote(ns));
    }
  }
  if (const Value* selector = d.take("selector")) {
    out.bySelector = true;
    MapReader s(*selector, d.pathOf("selector"), errors);
    s.readStringMap("labels", out.selectorLabels);
    std::vector<std::string> namespaces;
    if (s.readStringList("namespaces", namespaces)) {
      for (size_t i = 0; i < namespaces.size(); ++i) {
        if (namespaces[i] != "*" && !isValidNamespace(namespaces[i])) {
          errors.add(indexPath(s.pathOf("namespaces"), i), "invalid namespace " +
                                                               jsonQuote(namespaces[i]) +
                                                               ": expected a namespace "
                                                               "name or \"*\"");
          continue;
        }
        out.selectorNamespaces.push_back(namespaces[i]);
      }
    }
    // expressions: not read, so reported as unsupported.
  }
}

void decodeRoute(const Value& v, const std::string& path, const std::string& defaultNs, Route& out,
                 Errors& errors) {
  out.fieldPath = path;
  MapReader r(v, path, errors);
  r.readString("name", out.name);
  if (const Value* matchers = r.take("matchers")) {
    std::string mpath = r.pathOf("matchers");
    if (expectList(*matchers, mpath, errors)) {
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
  RouteAction& action = out.action;
  if (const Value* a = r.take("routeAction"))
    decodeRouteAction(*a, r.pathOf("routeAction"), defaultNs, action, errors);
  if (const Value* a = r.take("redirectAction")) {
    action.type = RouteAction::Type::Redirect;
    action.fieldPath = r.pathOf("redirectAction");
    decodeRedirect(*a, action.fieldPath, action.redirect, errors);
  }
  if (const Value* a = r.take("directResponseAction")) {
    action.type = RouteAction::Type::DirectResponse;
    action.fieldPath = r.pathOf("directResponseAction");
    decodeDirectResponse(*a, action.fieldPath, action.directResponse, errors);
  }
  if (const Value* a = r.take("delegateAction")) {
    action.type = RouteAction::Type::Delegate;
    action.fieldPath = r.pathOf("delegateAction");
    decodeDelegate(*a, action.fieldPath, defaultNs, action.delegate, errors);
    // As in Gloo: the delegated tables' routes must all start with the delegating prefix.
    for (size_t i = 0; i < out.matchers.size(); ++i) {
      if (out.matchers[i].type != Matcher::Type::Prefix)
        errors.add(indexPath(r.pathOf("matchers"), i),
                   "a route with a delegateAction must use a prefix matcher");
    }
  }
  if (const Value* options = r.take("options"))
    decodeRouteOptions(*options, r.pathOf("options"), defaultNs, out.options, errors);
}

}  // namespace

void decodeRoutes(const Value& v, const std::string& path, const std::string& defaultNs,
                  std::vector<Route>& out, Errors& errors) {
  if (!expectList(v, path, errors)) return;
  out.reserve(out.size() + v.list.size());  // a Route is large: no doubling slack kept
  for (size_t i = 0; i < v.list.size(); ++i) {
    Route route;
    decodeRoute(v.list[i], indexPath(path, i), defaultNs, route, errors);
    out.push_back(std::move(route));
  }
}

void decodeWeightedDestinations(const Value& v, const std::string& path,
                                const std::string& defaultNs, std::vector<WeightedDestination>& out,
                                Errors& errors) {
  if (v.isNull()) {
    errors.add(path, "required");
    return;
  }
  if (!expectList(v, path, errors)) return;
  if (v.list.empty()) {
    errors.add(path, "at least one destination is required");
    return;
  }
  uint64_t total = 0;
  for (size_t i = 0; i < v.list.size(); ++i) {
    MapReader w(v.list[i], indexPath(path, i), errors);
    WeightedDestination wd;
    if (const Value* dest = w.take("destination"))
      decodeDestination(*dest, w.pathOf("destination"), defaultNs, wd.destination, errors);
    else if (v.list[i].isMap())
      errors.add(w.pathOf("destination"), "required");
    int64_t weight = 0;
    if (!w.has("weight") && v.list[i].isMap())
      errors.add(w.pathOf("weight"), "required");
    else if (w.readInt("weight", 0, UINT32_MAX, weight) && weight == 0)
      errors.add(w.pathOf("weight"), "must be greater than 0");
    wd.weight = static_cast<uint32_t>(weight);
    if (const Value* options = w.take("options")) {
      // WeightedDestinationOptions: transformations here; the rest is reported by the reader.
      MapReader o(*options, w.pathOf("options"), errors);
      RouteOptions parsed;
      decodeTransformationOptions(o, parsed);
      wd.transformations = std::move(parsed.transformations);
    }
    total += wd.weight;
    out.push_back(std::move(wd));
  }
  if (total > UINT32_MAX)
    errors.add(path, "the weights add up to more than " + std::to_string(UINT32_MAX));
}

}  // namespace portico::config::detail
