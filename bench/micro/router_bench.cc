// Cost of choosing a virtual host and route. addVirtualHost compiles prefix and exact matchers
// into a radix trie and hash maps and regexes into RE2 sets, so lookup should not grow with the
// number of routes (allocs/op is reported under bench/alloc_count/alloc_shim.c); the
// *Linear variants run the same lookups on a VirtualHost without index (the written-order scan)
// for comparison. The matching route is always near the end of the table.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <re2/re2.h>
#include <string>

#include "http/header_map.h"
#include "router/route_table.h"

namespace portico::router {
namespace {

/// n routes, route i with the one matcher `matcherFor(i)` and cluster i.
template <class F>
VirtualHost makeHost(int n, F&& matcherFor) {
  VirtualHost v;
  v.name = "bench";
  for (int i = 0; i < n; ++i) {
    RouteEntry r;
    r.matchers.push_back(matcherFor(i));
    r.clusterIndex = static_cast<uint32_t>(i);
    v.routes.push_back(std::move(r));
  }
  return v;
}

/// n routes alternating prefix "/service-i/" and exact "/service-i/exact"; with `tenantHeader`,
/// each route also requires "x-tenant: tenant-i".
VirtualHost makeRoutes(int n, bool tenantHeader) {
  return makeHost(n, [&](int i) {
    PathMatcher m;
    m.type = i % 2 ? PathMatcher::Type::Exact : PathMatcher::Type::Prefix;
    m.value = "/service-" + std::to_string(i) + (i % 2 ? "/exact" : "/");
    if (tenantHeader)
      m.headers.push_back({"x-tenant", "tenant-" + std::to_string(i), nullptr, false});
    return m;
  });
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

/// Heap allocations so far in this process, as counted by bench/alloc_count/alloc_shim.c when
/// it is preloaded (LD_PRELOAD=alloc_shim.so ALLOC_COUNT_FILE=prefix); -1 without it. Reads
/// the shim's file with open/read, which do not allocate.
int64_t allocationsSoFar() {
  const char* prefix = std::getenv("ALLOC_COUNT_FILE");
  if (!prefix) return -1;
  char path[4096];
  std::snprintf(path, sizeof path, "%s.%ld", prefix, static_cast<long>(getpid()));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  uint64_t allocs = 0;  // the file's first u64
  ssize_t got = read(fd, &allocs, sizeof allocs);
  close(fd);
  return got == sizeof allocs ? static_cast<int64_t>(allocs) : -1;
}

/// Runs `lookup` as the benchmark loop; under the allocation shim, also reports allocs/op.
template <class F>
void loopCountingAllocations(benchmark::State& state, F&& lookup) {
  int64_t before = allocationsSoFar();
  for (auto _ : state) lookup();
  int64_t after = allocationsSoFar();
  if (before >= 0 && after >= 0)
    state.counters["allocs/op"] =
        benchmark::Counter(static_cast<double>(after - before), benchmark::Counter::kAvgIterations);
}

/// n regex routes "/api/v[0-9]+/item-i/.*" (issue 3's example); the request matches route
/// n-2, so a scan runs almost every regex before it. `caseInsensitive`: every other route is
/// caseSensitive:false.
VirtualHost makeRegexRoutes(int n, bool caseInsensitive) {
  return makeHost(n, [&](int i) {
    PathMatcher m;
    m.type = PathMatcher::Type::Regex;
    m.value = "/api/v[0-9]+/item-" + std::to_string(i) + "/.*";
    m.caseSensitive = !(caseInsensitive && i % 2);
    RE2::Options opts;
    opts.set_case_sensitive(m.caseSensitive);
    opts.set_log_errors(false);
    m.regex = std::make_shared<RE2>(m.value, opts);
    return m;
  });
}

void runRegexMatch(benchmark::State& state, bool caseInsensitive, bool indexed) {
  int n = static_cast<int>(state.range(0));
  RouteTable t;
  VirtualHost unindexed;
  if (indexed)
    t.addVirtualHost(makeRegexRoutes(n, caseInsensitive), {"*"});
  else
    unindexed = makeRegexRoutes(n, caseInsensitive);
  const VirtualHost& vh = indexed ? t.virtualHosts()[0] : unindexed;
  std::string path = "/api/v2/item-" + std::to_string(n - 2) + "/details/7";
  // RE2 builds its automata lazily: warm them so that the figure is the steady state.
  if (!RouteTable::matchRoute(vh, RequestView{path, "", "GET", nullptr}).route) {
    state.SkipWithError("no route matched");
    return;
  }
  loopCountingAllocations(state, [&] {
    auto m = RouteTable::matchRoute(vh, RequestView{path, "", "GET", nullptr});
    benchmark::DoNotOptimize(m);
  });
}

void BM_MatchLastRegexRoute(benchmark::State& state) { runRegexMatch(state, false, true); }
BENCHMARK(BM_MatchLastRegexRoute)->Arg(10)->Arg(1000)->Arg(10000);

void BM_MatchLastRegexRouteMixedCase(benchmark::State& state) {
  runRegexMatch(state, true, true);
}
BENCHMARK(BM_MatchLastRegexRouteMixedCase)->Arg(10)->Arg(1000)->Arg(10000);

/// The same lookup without the index: every regex in written order.
void BM_MatchLastRegexRouteLinear(benchmark::State& state) { runRegexMatch(state, false, false); }
BENCHMARK(BM_MatchLastRegexRouteLinear)->Arg(10)->Arg(1000)->Arg(10000);

/// A request no regex matches (a prefix route at the end catches it): the regexes are all
/// tried and all fail.
void BM_MatchRegexMiss(benchmark::State& state) {
  int n = static_cast<int>(state.range(0));
  VirtualHost v = makeRegexRoutes(n, false);
  RouteEntry fallback;
  PathMatcher m;
  m.value = "/";
  fallback.matchers.push_back(m);
  v.routes.push_back(std::move(fallback));
  RouteTable t;
  t.addVirtualHost(std::move(v), {"*"});
  const VirtualHost& vh = t.virtualHosts()[0];
  std::string path = "/api/v2/other/details/7";
  RouteTable::matchRoute(vh, RequestView{path, "", "GET", nullptr});  // warm RE2's automata
  loopCountingAllocations(state, [&] {
    auto r = RouteTable::matchRoute(vh, RequestView{path, "", "GET", nullptr});
    benchmark::DoNotOptimize(r);
  });
}
BENCHMARK(BM_MatchRegexMiss)->Arg(10)->Arg(1000)->Arg(10000);

/// Build cost of the index (once per snapshot, off the workers) for the routes `v`.
void runBuild(benchmark::State& state, const VirtualHost& v) {
  for (auto _ : state) {
    RouteTable t;
    t.addVirtualHost(v, {"api.example.com"});
    benchmark::DoNotOptimize(t);
  }
}

void BM_BuildTable(benchmark::State& state) {
  runBuild(state, makeRoutes(static_cast<int>(state.range(0)), false));
}
BENCHMARK(BM_BuildTable)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);

/// With n regex routes: the RE2 set is compiled here.
void BM_BuildRegexTable(benchmark::State& state) {
  runBuild(state, makeRegexRoutes(static_cast<int>(state.range(0)), false));
}
BENCHMARK(BM_BuildRegexTable)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace portico::router
