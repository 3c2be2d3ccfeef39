// Cost of choosing a virtual host and route. Routes are matched in written order (first match
// wins); the routing issue replaces the linear scan with a trie — this shows today's cost.
#include <benchmark/benchmark.h>

#include <string>

#include "router/route_table.h"

namespace portico::router {
namespace {

RouteTable makeTable(int routes) {
  RouteTable t;
  VirtualHost v;
  v.name = "bench";
  for (int i = 0; i < routes; ++i) {
    RouteEntry r;
    PathMatcher m;
    m.type = i % 2 ? PathMatcher::Type::Exact : PathMatcher::Type::Prefix;
    m.value = "/service-" + std::to_string(i) + (i % 2 ? "/exact" : "/");
    r.matchers.push_back(m);
    r.clusterIndex = static_cast<uint32_t>(i);
    v.routes.push_back(std::move(r));
  }
  t.addVirtualHost(std::move(v), {"api.example.com"});
  return t;
}

void BM_MatchLastRoute(benchmark::State& state) {
  int n = static_cast<int>(state.range(0));
  RouteTable t = makeTable(n);
  std::string path = "/service-" + std::to_string(n - 2) + "/pets/1";
  for (auto _ : state) {
    const VirtualHost* vh = t.findVirtualHost("api.example.com:8080");
    auto m = RouteTable::matchRoute(*vh, RequestView{path, "", "GET", nullptr});
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(BM_MatchLastRoute)->Arg(10)->Arg(1000)->Arg(10000);

}  // namespace
}  // namespace portico::router
