// Cost of choosing a virtual host and route. addVirtualHost compiles prefix and exact matchers
// into a radix trie and hash maps, so lookup should not grow with the number of routes; the
// *Linear variants run the same lookups on a VirtualHost without index (the written-order scan)
// for comparison. The matching route is always near the end of the table.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "http/header_map.h"
#include "router/route_table.h"

namespace portico::router {
namespace {

/// n routes alternating prefix "/service-i/" and exact "/service-i/exact"; with `tenantHeader`,
/// each route also requires "x-tenant: tenant-i".
VirtualHost makeRoutes(int n, bool tenantHeader) {
  VirtualHost v;
  v.name = "bench";
  for (int i = 0; i < n; ++i) {
    RouteEntry r;
    PathMatcher m;
    m.type = i % 2 ? PathMatcher::Type::Exact : PathMatcher::Type::Prefix;
    m.value = "/service-" + std::to_string(i) + (i % 2 ? "/exact" : "/");
    if (tenantHeader)
      m.headers.push_back({"x-tenant", "tenant-" + std::to_string(i), nullptr, false});
    r.matchers.push_back(m);
    r.clusterIndex = static_cast<uint32_t>(i);
    v.routes.push_back(std::move(r));
  }
  return v;
}

RouteTable makeTable(int n, bool tenantHeader = false) {
  RouteTable t;
  t.addVirtualHost(makeRoutes(n, tenantHeader), {"api.example.com"});
  return t;
}

void BM_FindVirtualHost(benchmark::State& state) {
  RouteTable t = makeTable(10);
  for (auto _ : state) {
    const VirtualHost* vh = t.findVirtualHost("api.example.com:8080");  // exact miss, then no port
    benchmark::DoNotOptimize(vh);
  }
}
BENCHMARK(BM_FindVirtualHost);

void BM_MatchLastRoute(benchmark::State& state) {
  int n = static_cast<int>(state.range(0));
  RouteTable t = makeTable(n);
  const VirtualHost& vh = t.virtualHosts()[0];
  std::string path = "/service-" + std::to_string(n - 2) + "/pets/1";  // a prefix route
  for (auto _ : state) {
    auto m = RouteTable::matchRoute(vh, RequestView{path, "", "GET", nullptr});
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(BM_MatchLastRoute)->Arg(10)->Arg(1000)->Arg(10000);

void BM_MatchLastExactRoute(benchmark::State& state) {
  int n = static_cast<int>(state.range(0));
  RouteTable t = makeTable(n);
  const VirtualHost& vh = t.virtualHosts()[0];
  std::string path = "/service-" + std::to_string(n - 1) + "/exact";
  for (auto _ : state) {
    auto m = RouteTable::matchRoute(vh, RequestView{path, "", "GET", nullptr});
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(BM_MatchLastExactRoute)->Arg(10)->Arg(1000)->Arg(10000);

void BM_MatchNoRoute(benchmark::State& state) {
  int n = static_cast<int>(state.range(0));
  RouteTable t = makeTable(n);
  const VirtualHost& vh = t.virtualHosts()[0];
  std::string path = "/unknown/service/path";
  for (auto _ : state) {
    auto m = RouteTable::matchRoute(vh, RequestView{path, "", "GET", nullptr});
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(BM_MatchNoRoute)->Arg(10)->Arg(1000)->Arg(10000);

/// Every route also has a header condition; the request carries the one of route n-2.
void BM_MatchHeaderRoute(benchmark::State& state) {
  int n = static_cast<int>(state.range(0));
  RouteTable t = makeTable(n, true);
  const VirtualHost& vh = t.virtualHosts()[0];
  std::string path = "/service-" + std::to_string(n - 2) + "/pets/1";
  http::HeaderMap headers;
  headers.add("host", "api.example.com");
  headers.add("user-agent", "bench/1.0");
  headers.add("accept", "*/*");
  headers.add("x-tenant", "tenant-" + std::to_string(n - 2));
  for (auto _ : state) {
    auto m = RouteTable::matchRoute(vh, RequestView{path, "a=1", "GET", &headers});
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(BM_MatchHeaderRoute)->Arg(10)->Arg(1000)->Arg(10000);

/// The index's limit: n routes on the same prefix told apart only by a header. Candidates
/// sharing a path are checked one by one in order, so this grows with n.
void BM_MatchHeaderSharedPrefix(benchmark::State& state) {
  int n = static_cast<int>(state.range(0));
  VirtualHost v;
  for (int i = 0; i < n; ++i) {
    RouteEntry r;
    PathMatcher m;
    m.value = "/api/";
    m.headers.push_back({"x-tenant", "tenant-" + std::to_string(i), nullptr, false});
    r.matchers.push_back(m);
    v.routes.push_back(std::move(r));
  }
  RouteTable t;
  t.addVirtualHost(std::move(v), {"*"});
  const VirtualHost& vh = t.virtualHosts()[0];
  http::HeaderMap headers;
  headers.add("x-tenant", "tenant-" + std::to_string(n - 1));
  for (auto _ : state) {
    auto m = RouteTable::matchRoute(vh, RequestView{"/api/x", "", "GET", &headers});
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(BM_MatchHeaderSharedPrefix)->Arg(10)->Arg(1000)->Arg(10000);

/// The same lookup as BM_MatchLastRoute without the index: the written-order scan.
void BM_MatchLastRouteLinear(benchmark::State& state) {
  int n = static_cast<int>(state.range(0));
  VirtualHost vh = makeRoutes(n, false);  // no addVirtualHost: no index
  std::string path = "/service-" + std::to_string(n - 2) + "/pets/1";
  for (auto _ : state) {
    auto m = RouteTable::matchRoute(vh, RequestView{path, "", "GET", nullptr});
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(BM_MatchLastRouteLinear)->Arg(10)->Arg(1000)->Arg(10000);

/// Build cost of the index (once per snapshot, off the workers).
void BM_BuildTable(benchmark::State& state) {
  int n = static_cast<int>(state.range(0));
  VirtualHost v = makeRoutes(n, false);
  for (auto _ : state) {
    RouteTable t;
    t.addVirtualHost(v, {"api.example.com"});
    benchmark::DoNotOptimize(t);
  }
}
BENCHMARK(BM_BuildTable)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace portico::router
