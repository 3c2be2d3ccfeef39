#include "cli/objects.h"

#include <algorithm>
#include <cctype>

#include "router/route_entry.h"
#include "router/route_sort.h"

namespace portico::cli {

namespace {

/// "name=value" → {name, value}; "name" → {name, ""}.
std::pair<std::string, std::string> splitPair(const std::string& s) {
  size_t eq = s.find('=');
  if (eq == std::string::npos) return {s, ""};
  return {s.substr(0, eq), s.substr(eq + 1)};
}

bool parsePort(const std::string& s, int& port) {
  if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string::npos) return false;
  port = std::stoi(s);
  return port > 0 && port < 65536;
}

}  // namespace

std::string kindName(const std::string& kind) {
  if (kind == "upstream") return "Upstream";
  if (kind == "upstreamgroup") return "UpstreamGroup";
  if (kind == "virtualservice") return "VirtualService";
  if (kind == "routetable") return "RouteTable";
  if (kind == "gateway") return "Gateway";
  if (kind == "secret") return "Secret";
  return kind;
}

std::string apiVersionOf(const std::string& kind) {
  if (kind == "virtualservice" || kind == "routetable" || kind == "gateway") return "gateway.solo.io/v1";
  return "gloo.solo.io/v1";
}

Result<Json> staticUpstream(const std::string& name, const std::string& ns,
                            const std::vector<std::string>& hosts) {
  if (hosts.empty()) return Status::error("--static-hosts: give at least one host:port");
  Json list = Json::array();
  for (const std::string& h : hosts) {
    std::string addr = h;
    int port = 80;
    size_t colon = h.rfind(':');
    bool bracketed = !h.empty() && h[0] == '[';
    if (bracketed) {
      size_t close = h.find(']');
      if (close == std::string::npos) return Status::error("--static-hosts: \"" + h + "\" has no closing ']'");
      addr = h.substr(1, close - 1);
      if (close + 1 < h.size()) {
        if (h[close + 1] != ':' || !parsePort(h.substr(close + 2), port))
          return Status::error("--static-hosts: \"" + h + "\": expected [ADDRESS]:PORT with PORT 1-65535");
      }
    } else if (colon != std::string::npos) {
      if (h.find(':') != colon) return Status::error("--static-hosts: \"" + h + "\": write IPv6 addresses as [ADDRESS]:PORT");
      addr = h.substr(0, colon);
      if (!parsePort(h.substr(colon + 1), port))
        return Status::error("--static-hosts: \"" + h + "\": expected HOST:PORT with PORT 1-65535");
    }
    if (addr.empty()) return Status::error("--static-hosts: \"" + h + "\" has no host");
    list.push_back(Json{{"addr", addr}, {"port", port}});
  }
  return Json{{"apiVersion", "gloo.solo.io/v1"},
              {"kind", "Upstream"},
              {"metadata", {{"name", name}, {"namespace", ns}}},
              {"spec", {{"static", {{"hosts", list}}}}}};
}

Json virtualService(const std::string& name, const std::string& ns,
                    const std::vector<std::string>& domains) {
  Json d = Json::array();
  for (const std::string& s : domains) d.push_back(s);
  if (d.empty()) d.push_back("*");
  return Json{{"apiVersion", "gateway.solo.io/v1"},
              {"kind", "VirtualService"},
              {"metadata", {{"name", name}, {"namespace", ns}}},
              {"spec", {{"virtualHost", {{"domains", d}, {"routes", Json::array()}}}}}};
}

Result<Json> buildRoute(const RouteFlags& f) {
  int paths = !f.pathExact.empty() + !f.pathPrefix.empty() + !f.pathRegex.empty();
  if (paths != 1)
    return Status::error(paths ? "give only one of --path-exact, --path-prefix, --path-regex"
                               : "give one of --path-exact, --path-prefix, --path-regex");
  if (f.destName.empty()) return Status::error("--dest-name: required (the upstream the route sends to)");
  Json matcher = Json::object();
  if (!f.pathExact.empty()) matcher["exact"] = f.pathExact;
  if (!f.pathPrefix.empty()) matcher["prefix"] = f.pathPrefix;
  if (!f.pathRegex.empty()) matcher["regex"] = f.pathRegex;
  if (!f.headers.empty()) {
    Json headers = Json::array();
    for (const std::string& h : f.headers) {
      auto [name, value] = splitPair(h);
      if (name.empty()) return Status::error("--header: \"" + h + "\": expected NAME=VALUE or NAME");
      Json m{{"name", name}};
      if (!value.empty()) m["value"] = value;
      headers.push_back(m);
    }
    matcher["headers"] = headers;
  }
  if (!f.queryParameters.empty()) {
    Json params = Json::array();
    for (const std::string& q : f.queryParameters) {
      auto [name, value] = splitPair(q);
      if (name.empty()) return Status::error("--queryParameter: \"" + q + "\": expected NAME=VALUE or NAME");
      Json m{{"name", name}};
      if (!value.empty()) m["value"] = value;
      params.push_back(m);
    }
    matcher["queryParameters"] = params;
  }
  if (!f.methods.empty()) {
    Json methods = Json::array();
    for (std::string m : f.methods) {
      for (char& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      methods.push_back(m);
    }
    matcher["methods"] = methods;
  }
  Json single{{"upstream", {{"name", f.destName}, {"namespace", f.destNamespace}}}};
  if (!f.restFunctionName.empty() || !f.restParameters.empty()) {
    if (f.restFunctionName.empty())
      return Status::error("--rest-parameters: needs --rest-function-name");
    Json rest{{"functionName", f.restFunctionName}};
    if (!f.restParameters.empty()) {
      Json headers = Json::object();
      for (const std::string& p : f.restParameters) {
        auto [name, value] = splitPair(p);
        if (name.empty() || p.find('=') == std::string::npos)
          return Status::error("--rest-parameters: \"" + p + "\": expected HEADER=TEMPLATE (e.g. ':path=/users/{id}')");
        headers[name] = value;
      }
      rest["parameters"] = Json{{"headers", headers}};
    }
    single["destinationSpec"] = Json{{"rest", rest}};
  }
  Json route{{"matchers", Json::array({matcher})}, {"routeAction", {{"single", single}}}};
  if (!f.prefixRewrite.empty()) route["options"] = Json{{"prefixRewrite", f.prefixRewrite}};
  return route;
}

Json& routesOf(Json& object) {
  Json& spec = object["spec"];
  Json& holder = getString(object, "kind") == "RouteTable" ? spec : spec["virtualHost"];
  Json& routes = holder["routes"];
  if (!routes.is_array()) routes = Json::array();
  return routes;
}

Status insertRoute(Json& object, Json route, std::optional<size_t> index) {
  Json& routes = routesOf(object);
  size_t at = index.value_or(0);
  if (at > routes.size())
    return Status::error("--index: " + std::to_string(at) + " is past the end (the virtual service has " +
                         std::to_string(routes.size()) + " routes)");
  routes.insert(routes.begin() + static_cast<long>(at), std::move(route));
  return Status();
}

Status removeRoute(Json& object, size_t index) {
  Json& routes = routesOf(object);
  if (index >= routes.size())
    return Status::error("--index: no route " + std::to_string(index) + " (the virtual service has " +
                         std::to_string(routes.size()) + " routes, numbered from 0)");
  routes.erase(routes.begin() + static_cast<long>(index));
  return Status();
}

bool sortRoutes(Json& object) {
  Json& routes = routesOf(object);
  // The router's entries carry only what the ordering looks at; clusterIndex remembers the
  // route each one stands for.
  std::vector<router::RouteEntry> entries(routes.size());
  for (size_t i = 0; i < routes.size(); ++i) {
    entries[i].clusterIndex = static_cast<uint32_t>(i);
    const Json* matchers = member(routes[i], "matchers");
    if (matchers && matchers->is_array()) {
      for (const Json& m : *matchers) {
        router::PathMatcher pm;
        if (member(m, "exact")) pm.type = router::PathMatcher::Type::Exact, pm.value = getString(m, "exact");
        else if (member(m, "regex")) pm.type = router::PathMatcher::Type::Regex, pm.value = getString(m, "regex");
        else pm.value = member(m, "prefix") ? getString(m, "prefix") : "/";
        entries[i].matchers.push_back(std::move(pm));
      }
    }
    if (entries[i].matchers.empty()) entries[i].matchers.push_back(router::PathMatcher{router::PathMatcher::Type::Prefix, "/"});
  }
  router::sortRoutesMostSpecificFirst(entries);
  Json sorted = Json::array();
  bool changed = false;
  for (size_t i = 0; i < entries.size(); ++i) {
    changed |= entries[i].clusterIndex != i;
    sorted.push_back(routes[entries[i].clusterIndex]);
  }
  routes = std::move(sorted);
  return changed;
}

std::string routeSummary(const Json& route) {
  std::string match;
  const Json* matchers = member(route, "matchers");
  if (matchers && matchers->is_array()) {
    for (const Json& m : *matchers) {
      for (const char* k : {"exact", "prefix", "regex"})
        if (member(m, k)) match += (match.empty() ? "" : "|") + std::string(k) + ":" + getString(m, k);
    }
  }
  if (match.empty()) match = "prefix:/";
  std::string dest = "?";
  if (const Json* up = path(route, "routeAction.single.upstream")) dest = getString(*up, "name");
  else if (member(route, "delegateAction")) dest = "delegate";
  else if (member(route, "redirectAction")) dest = "redirect";
  else if (member(route, "directResponseAction")) dest = "direct-response";
  else if (path(route, "routeAction.multi")) dest = "multi";
  else if (path(route, "routeAction.upstreamGroup")) dest = "group:" + getString(*path(route, "routeAction.upstreamGroup"), "name");
  return match + "->" + dest;
}

}  // namespace portico::cli
