// Builders for the router unit tests: matchers, routes, virtual hosts and requests in one line,
// and a helper that matches through the index and through the linear scan and compares them.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <re2/re2.h>
#include <string>
#include <vector>

#include "router/route_index.h"
#include "router/route_table.h"

namespace portico::router::routertest {

inline std::shared_ptr<const RE2> compile(const std::string& pattern, bool caseSensitive = true) {
  RE2::Options opts;
  opts.set_case_sensitive(caseSensitive);
  opts.set_log_errors(false);
  return std::make_shared<RE2>(pattern, opts);
}

inline PathMatcher prefix(std::string value, bool caseSensitive = true) {
  PathMatcher m;
  m.type = PathMatcher::Type::Prefix;
  m.value = std::move(value);
  m.caseSensitive = caseSensitive;
  return m;
}

inline PathMatcher exact(std::string value, bool caseSensitive = true) {
  PathMatcher m = prefix(std::move(value), caseSensitive);
  m.type = PathMatcher::Type::Exact;
  return m;
}

/// Like the controller: case-insensitivity of a regex is an RE2 option.
inline PathMatcher regex(std::string pattern, bool caseSensitive = true) {
  PathMatcher m;
  m.type = PathMatcher::Type::Regex;
  m.regex = compile(pattern, caseSensitive);
  m.value = std::move(pattern);
  m.caseSensitive = caseSensitive;
  return m;
}

inline HeaderMatch header(std::string name, std::string value = "", bool isRegex = false,
                          bool invert = false) {
  HeaderMatch h;
  h.name = std::move(name);
  if (isRegex) h.regex = compile(value);
  h.value = std::move(value);
  h.invert = invert;
  return h;
}

inline QueryMatch query(std::string name, std::string value = "", bool isRegex = false) {
  QueryMatch q;
  q.name = std::move(name);
  if (isRegex) q.regex = compile(value);
  q.value = std::move(value);
  return q;
}

inline RouteEntry route(uint32_t cluster, std::vector<PathMatcher> matchers) {
  RouteEntry r;
  r.name = "routes[" + std::to_string(cluster) + "]";
  r.clusterIndex = cluster;
  r.matchers = std::move(matchers);
  return r;
}

/// A virtual host without an index: matchRoute scans linearly (the reference semantics).
inline VirtualHost linearHost(std::vector<RouteEntry> routes) {
  VirtualHost v;
  v.name = "linear";
  v.routes = std::move(routes);
  return v;
}

/// A virtual host with its index built, as addVirtualHost does.
inline VirtualHost indexedHost(std::vector<RouteEntry> routes) {
  VirtualHost v = linearHost(std::move(routes));
  v.name = "indexed";
  v.index = RouteIndex::build(v.routes);
  return v;
}

inline RequestView request(std::string_view path, std::string_view query = "",
                           std::string_view method = "GET",
                           const http::HeaderMap* headers = nullptr) {
  return RequestView{path, query, method, headers};
}

/// The matched route's cluster and length, -1 cluster for none.
struct Outcome {
  int cluster = -1;
  size_t matchedLength = 0;
  bool operator==(const Outcome&) const = default;
};

inline Outcome outcome(const VirtualHost& v, const RequestView& r) {
  RouteTable::Match m = RouteTable::matchRoute(v, r);
  if (!m.route) return {};
  return {static_cast<int>(m.route->clusterIndex), m.matchedLength};
}

inline std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  return os << "{cluster " << o.cluster << ", length " << o.matchedLength << "}";
}

/// Matches through both the index and the linear scan, expects them to agree, returns the
/// cluster (-1: no route).
inline int matchBoth(const std::vector<RouteEntry>& routes, const RequestView& r) {
  VirtualHost indexed = indexedHost(routes);
  VirtualHost linear = linearHost(routes);
  Outcome a = outcome(indexed, r), b = outcome(linear, r);
  EXPECT_EQ(a, b) << "path " << r.path << " query " << r.query << " method " << r.method;
  return a.cluster;
}

}  // namespace portico::router::routertest
