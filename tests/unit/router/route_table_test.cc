// RouteTable: domain selection and first-match route semantics.
#include <gtest/gtest.h>

#include <re2/re2.h>

#include "router/route_table.h"

namespace portico::router {
namespace {

RouteEntry route(PathMatcher::Type type, std::string value, uint32_t cluster,
                 bool caseSensitive = true) {
  RouteEntry r;
  PathMatcher m;
  m.type = type;
  m.value = value;
  m.caseSensitive = caseSensitive;
  if (type == PathMatcher::Type::Regex) m.regex = std::make_shared<RE2>(value);
  r.matchers.push_back(m);
  r.clusterIndex = cluster;
  return r;
}

VirtualHost vhost(std::string name, std::vector<RouteEntry> routes) {
  VirtualHost v;
  v.name = std::move(name);
  v.routes = std::move(routes);
  return v;
}

TEST(RouteTable, DomainPrecedence) {
  RouteTable t;
  t.addVirtualHost(vhost("exact", {}), {"api.example.com"});
  t.addVirtualHost(vhost("wild", {}), {"*.example.com"});
  t.addVirtualHost(vhost("deeper", {}), {"*.v2.example.com"});
  t.addVirtualHost(vhost("port", {}), {"other.com:8080"});
  t.addVirtualHost(vhost("any", {}), {"*"});
  EXPECT_EQ(t.findVirtualHost("api.example.com")->name, "exact");
  EXPECT_EQ(t.findVirtualHost("API.Example.COM:8080")->name, "exact");  // case, port stripped
  EXPECT_EQ(t.findVirtualHost("x.example.com")->name, "wild");
  EXPECT_EQ(t.findVirtualHost("x.v2.example.com")->name, "deeper");  // longest suffix wins
  EXPECT_EQ(t.findVirtualHost("other.com:8080")->name, "port");
  EXPECT_EQ(t.findVirtualHost("other.com")->name, "any");
  EXPECT_EQ(t.findVirtualHost("")->name, "any");
  EXPECT_EQ(t.domainOwner("*.example.com"), 1);
  EXPECT_EQ(t.domainOwner("API.example.com"), 0);
  EXPECT_EQ(t.domainOwner("nobody.com"), -1);
}

TEST(RouteTable, NoCatchAllMeansNoMatch) {
  RouteTable t;
  t.addVirtualHost(vhost("a", {}), {"a.com"});
  EXPECT_EQ(t.findVirtualHost("b.com"), nullptr);
  EXPECT_NE(t.findVirtualHost("[::1]:80"), t.findVirtualHost("a.com"));
}

TEST(RouteTable, FirstMatchWinsInWrittenOrder) {
  VirtualHost v = vhost("v", {route(PathMatcher::Type::Prefix, "/api", 1),
                              route(PathMatcher::Type::Exact, "/api/exact", 2),
                              route(PathMatcher::Type::Regex, "/users/[0-9]+", 3),
                              route(PathMatcher::Type::Prefix, "/", 4)});
  EXPECT_EQ(RouteTable::matchRoute(v, RequestView{"/api/exact", "", "GET", nullptr}).route->clusterIndex, 1u);
  EXPECT_EQ(RouteTable::matchRoute(v, RequestView{"/users/42", "", "GET", nullptr}).route->clusterIndex, 3u);
  EXPECT_EQ(RouteTable::matchRoute(v, RequestView{"/users/42/x", "", "GET", nullptr}).route->clusterIndex, 4u);  // full match only
  auto m = RouteTable::matchRoute(v, RequestView{"/api/x", "", "GET", nullptr});
  EXPECT_EQ(m.matchedLength, 4u);
  EXPECT_EQ(RouteTable::matchRoute(v, RequestView{"/users/42", "", "GET", nullptr}).matchedLength, 9u);
}

TEST(RouteTable, CaseInsensitiveMatchers) {
  VirtualHost v = vhost("v", {route(PathMatcher::Type::Exact, "/ping", 1, false),
                              route(PathMatcher::Type::Prefix, "/static/", 2, false)});
  EXPECT_EQ(RouteTable::matchRoute(v, RequestView{"/PING", "", "GET", nullptr}).route->clusterIndex, 1u);
  EXPECT_EQ(RouteTable::matchRoute(v, RequestView{"/Static/x", "", "GET", nullptr}).route->clusterIndex, 2u);
  EXPECT_EQ(RouteTable::matchRoute(v, RequestView{"/pin", "", "GET", nullptr}).route, nullptr);
}

}  // namespace
}  // namespace portico::router
