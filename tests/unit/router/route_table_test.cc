// RouteTable: domain selection and first-match route semantics, through the index that
// addVirtualHost builds and through the linear scan of a hand-built VirtualHost.
#include <gtest/gtest.h>

#include "router/route_table.h"
#include "router_test_util.h"

namespace portico::router {
namespace {

using namespace routertest;  // NOLINT(google-build-using-namespace): test builders

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

TEST(RouteTable, AddVirtualHostBuildsTheIndex) {
  RouteTable t;
  t.addVirtualHost(vhost("v", {route(1, {prefix("/api")}), route(2, {exact("/")})}), {"*"});
  const VirtualHost* v = t.findVirtualHost("x");
  ASSERT_NE(v, nullptr);
  EXPECT_NE(v->index, nullptr);
  EXPECT_EQ(RouteTable::matchRoute(*v, request("/api/x")).route->clusterIndex, 1u);
  EXPECT_EQ(RouteTable::matchRoute(*v, request("/")).route->clusterIndex, 2u);
  EXPECT_EQ(RouteTable::matchRoute(*v, request("/other")).route, nullptr);
}

TEST(RouteTable, FirstMatchWinsInWrittenOrder) {
  std::vector<RouteEntry> routes{route(1, {prefix("/api")}), route(2, {exact("/api/exact")}),
                                 route(3, {regex("/users/[0-9]+")}), route(4, {prefix("/")})};
  for (const VirtualHost& v : {indexedHost(routes), linearHost(routes)}) {
    SCOPED_TRACE(v.name);
    EXPECT_EQ(outcome(v, request("/api/exact")), (Outcome{1, 4}));
    EXPECT_EQ(outcome(v, request("/users/42")), (Outcome{3, 9}));
    EXPECT_EQ(outcome(v, request("/users/42/x")), (Outcome{4, 1}));  // full match only
    EXPECT_EQ(outcome(v, request("/api/x")), (Outcome{1, 4}));
    EXPECT_EQ(outcome(v, request("/apix")), (Outcome{1, 4}));  // a prefix, not a segment
    EXPECT_EQ(outcome(v, request("")), (Outcome{}));
  }
}

TEST(RouteTable, ExactBeforePrefixOnlyWhenWrittenFirst) {
  std::vector<RouteEntry> routes{route(1, {exact("/a/b")}), route(2, {prefix("/a")}),
                                 route(3, {exact("/a/c")})};
  EXPECT_EQ(matchBoth(routes, request("/a/b")), 1);
  EXPECT_EQ(matchBoth(routes, request("/a/c")), 2);  // route 3 is shadowed
  EXPECT_EQ(matchBoth(routes, request("/a/b/")), 2);
}

TEST(RouteTable, RegexAfterAWinningPrefixNeverWins) {
  std::vector<RouteEntry> routes{route(1, {regex("/a/[0-9]+")}), route(2, {prefix("/a/")}),
                                 route(3, {regex("/a/.*")})};
  EXPECT_EQ(matchBoth(routes, request("/a/12")), 1);
  EXPECT_EQ(matchBoth(routes, request("/a/xy")), 2);
  EXPECT_EQ(matchBoth(routes, request("/b")), -1);
}

TEST(RouteTable, CaseInsensitiveMatchers) {
  std::vector<RouteEntry> routes{route(1, {exact("/ping", false)}),
                                 route(2, {prefix("/static/", false)}),
                                 route(3, {regex("/users/[a-z]+", false)})};
  for (const VirtualHost& v : {indexedHost(routes), linearHost(routes)}) {
    SCOPED_TRACE(v.name);
    EXPECT_EQ(outcome(v, request("/PING")).cluster, 1);
    EXPECT_EQ(outcome(v, request("/ping")).cluster, 1);
    EXPECT_EQ(outcome(v, request("/Static/x")), (Outcome{2, 8}));
    EXPECT_EQ(outcome(v, request("/USERS/Bob")).cluster, 3);
    EXPECT_EQ(outcome(v, request("/pin")).cluster, -1);
  }
}

TEST(RouteTable, CaseSensitiveMatchersDoNotFoldCase) {
  std::vector<RouteEntry> routes{route(1, {exact("/ping")}), route(2, {prefix("/static/")})};
  EXPECT_EQ(matchBoth(routes, request("/PING")), -1);
  EXPECT_EQ(matchBoth(routes, request("/Static/x")), -1);
  EXPECT_EQ(matchBoth(routes, request("/static/x")), 2);
}

TEST(RouteTable, CaseInsensitiveValueWrittenWithCapitals) {
  // The controller lowercases; a hand-built matcher that did not still compares without case.
  std::vector<RouteEntry> routes{route(1, {exact("/Ping", false)}),
                                 route(2, {prefix("/Static/", false)})};
  EXPECT_EQ(matchBoth(routes, request("/pInG")), 1);
  EXPECT_EQ(matchBoth(routes, request("/sTATIC/a")), 2);
}

TEST(RouteTable, SeveralMatchersAnyOfThem) {
  std::vector<RouteEntry> routes{
      route(1, {exact("/one"), prefix("/two/"), regex("/three/[0-9]+")}),
      route(2, {prefix("/")})};
  for (const VirtualHost& v : {indexedHost(routes), linearHost(routes)}) {
    SCOPED_TRACE(v.name);
    EXPECT_EQ(outcome(v, request("/one")), (Outcome{1, 4}));
    EXPECT_EQ(outcome(v, request("/two/x")), (Outcome{1, 5}));
    EXPECT_EQ(outcome(v, request("/three/7")), (Outcome{1, 8}));
    EXPECT_EQ(outcome(v, request("/three/x")), (Outcome{2, 1}));
  }
}

TEST(RouteTable, MatchedLengthIsTheMatcherThatMatched) {
  // The same route through a shorter and a longer prefix: the first matcher in order wins.
  std::vector<RouteEntry> routes{route(1, {prefix("/a"), prefix("/a/b/")})};
  EXPECT_EQ(outcome(indexedHost(routes), request("/a/b/c")), (Outcome{1, 2}));
  EXPECT_EQ(outcome(linearHost(routes), request("/a/b/c")), (Outcome{1, 2}));
}

TEST(RouteTable, EmptyPrefixMatchesEverything) {
  std::vector<RouteEntry> routes{route(1, {exact("/x")}), route(2, {prefix("")})};
  EXPECT_EQ(outcome(indexedHost(routes), request("/y")), (Outcome{2, 0}));
  EXPECT_EQ(outcome(indexedHost(routes), request("")), (Outcome{2, 0}));
  EXPECT_EQ(outcome(indexedHost(routes), request("/x")), (Outcome{1, 2}));
}

TEST(RouteTable, ConditionsFallThroughToTheNextCandidate) {
  http::HeaderMap v2;
  v2.add("x-version", "2");
  PathMatcher withHeader = prefix("/api");
  withHeader.headers.push_back(header("x-version", "2"));
  PathMatcher postOnly = exact("/api/items");
  postOnly.methods = {"POST", "PUT"};
  std::vector<RouteEntry> routes{route(1, {postOnly}), route(2, {withHeader}),
                                 route(3, {prefix("/api")})};
  EXPECT_EQ(matchBoth(routes, request("/api/items", "", "POST")), 1);
  EXPECT_EQ(matchBoth(routes, request("/api/items", "", "PUT", &v2)), 1);
  EXPECT_EQ(matchBoth(routes, request("/api/items", "", "GET", &v2)), 2);
  EXPECT_EQ(matchBoth(routes, request("/api/items", "", "GET")), 3);
  EXPECT_EQ(matchBoth(routes, request("/api/items", "", "post")), 3);  // methods are exact
}

TEST(RouteTable, ManyNestedPrefixesOnOnePath) {
  // More stored prefixes along one path than the lookup keeps inline: still the same answer.
  std::vector<RouteEntry> routes;
  std::string path;
  for (uint32_t i = 0; i < 40; ++i) {
    path += "/s";
    PathMatcher m = prefix(path);
    m.methods = {"DELETE"};  // every candidate is looked at and refused ...
    routes.push_back(route(i, {m}));
  }
  routes.push_back(route(100, {prefix(path.substr(0, 10), false)}));  // ... until this one
  EXPECT_EQ(matchBoth(routes, request(path + "/x")), 100);
  EXPECT_EQ(matchBoth(routes, request(path + "/x", "", "DELETE")), 0);
  EXPECT_EQ(outcome(indexedHost(routes), request(path)), (Outcome{100, 10}));
}

TEST(RouteTable, LongExactPaths) {
  std::string p254(254, 'x'), p255(255, 'y'), p300(300, 'z');
  std::vector<RouteEntry> routes{route(1, {exact(p254)}), route(2, {exact(p255)}),
                                 route(3, {exact(p300, false)}), route(4, {prefix(p300 + "/")})};
  EXPECT_EQ(matchBoth(routes, request(p254)), 1);
  EXPECT_EQ(matchBoth(routes, request(p255)), 2);
  EXPECT_EQ(matchBoth(routes, request(std::string(300, 'Z'))), 3);
  EXPECT_EQ(matchBoth(routes, request(std::string(301, 'z'))), -1);
  EXPECT_EQ(matchBoth(routes, request(std::string(256, 'y'))), -1);
  EXPECT_EQ(matchBoth(routes, request(p300 + "/a")), 4);
}

TEST(RouteTable, StaleIndexFallsBackToTheScan) {
  VirtualHost v = indexedHost({route(1, {prefix("/a")})});
  v.routes.insert(v.routes.begin(), route(2, {prefix("/")}));
  EXPECT_EQ(outcome(v, request("/a")).cluster, 2);
}

TEST(RouteTable, RegexWithoutCompiledPatternNeverMatches) {
  PathMatcher broken;
  broken.type = PathMatcher::Type::Regex;
  broken.value = "/x";
  std::vector<RouteEntry> routes{route(1, {broken}), route(2, {prefix("/")})};
  EXPECT_EQ(matchBoth(routes, request("/x")), 2);
}

}  // namespace
}  // namespace portico::router
