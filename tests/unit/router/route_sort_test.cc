// sortRoutesMostSpecificFirst: exact, then regex, then prefix by descending length; stable.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "router/route_sort.h"
#include "router_test_util.h"

namespace portico::router {
namespace {

using namespace routertest;  // NOLINT(google-build-using-namespace): test builders

std::vector<uint32_t> order(const std::vector<RouteEntry>& routes) {
  std::vector<uint32_t> out;
  for (const RouteEntry& r : routes) out.push_back(r.clusterIndex);
  return out;
}

TEST(RouteSort, MostSpecificFirst) {
  std::vector<RouteEntry> routes{
      route(0, {prefix("/")}),          route(1, {prefix("/api/v1/")}),
      route(2, {regex("/users/.*")}),   route(3, {exact("/health")}),
      route(4, {prefix("/api/")}),      route(5, {exact("/a")}),
      route(6, {regex("/x")}),          route(7, {prefix("/api/v2/")}),
  };
  sortRoutesMostSpecificFirst(routes);
  EXPECT_EQ(order(routes), (std::vector<uint32_t>{3, 5, 2, 6, 1, 7, 4, 0}));
}

TEST(RouteSort, RouteRanksByItsMostSpecificMatcher) {
  std::vector<RouteEntry> routes{
      route(0, {prefix("/long/long/prefix")}),
      route(1, {prefix("/"), regex("/r")}),             // regex beats any prefix
      route(2, {prefix("/"), exact("/e"), regex("/")}),  // exact beats regex
      route(3, {prefix("/a"), prefix("/abcdefghijklmnopqrstuvwxyz")}),  // longest prefix counts
  };
  sortRoutesMostSpecificFirst(routes);
  EXPECT_EQ(order(routes), (std::vector<uint32_t>{2, 1, 3, 0}));
}

TEST(RouteSort, StableAmongEquals) {
  std::vector<RouteEntry> routes{route(0, {exact("/b")}),   route(1, {prefix("/xy")}),
                                 route(2, {exact("/aaaa")}), route(3, {prefix("/ab")}),
                                 route(4, {regex("b")}),     route(5, {regex("a.*")})};
  sortRoutesMostSpecificFirst(routes);
  EXPECT_EQ(order(routes), (std::vector<uint32_t>{0, 2, 4, 5, 1, 3}));
}

TEST(RouteSort, KeepsEverythingElseOfTheRoute) {
  std::vector<RouteEntry> routes{route(0, {prefix("/")}), route(1, {exact("/e")})};
  routes[0].name = "catch-all";
  routes[0].timeoutMs = 5;
  routes[1].prefixRewrite = "/x";
  sortRoutesMostSpecificFirst(routes);
  EXPECT_EQ(routes[0].prefixRewrite, "/x");
  EXPECT_EQ(routes[1].name, "catch-all");
  EXPECT_EQ(routes[1].timeoutMs, 5);
  std::vector<RouteEntry> none;
  sortRoutesMostSpecificFirst(none);
  EXPECT_TRUE(none.empty());
}

TEST(RouteSort, SortedRoutesStillMatchThroughTheIndex) {
  std::vector<RouteEntry> routes{route(0, {prefix("/")}), route(1, {prefix("/api/")}),
                                 route(2, {exact("/api/health")})};
  sortRoutesMostSpecificFirst(routes);
  EXPECT_EQ(matchBoth(routes, request("/api/health")), 2);
  EXPECT_EQ(matchBoth(routes, request("/api/x")), 1);
  EXPECT_EQ(matchBoth(routes, request("/x")), 0);
}

}  // namespace
}  // namespace portico::router
