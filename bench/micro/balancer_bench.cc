// Cost of one host pick per balancer with 3 and 1,000 hosts, on a steady health state (the
// common case: the per-worker host set is only rebuilt when the cluster's health epoch moves).
// Also: smooth WRR with unequal weights (O(hosts) per pick), least request with the request
// start/end bookkeeping, the rebuild after a health change, and hashBytes on a typical key.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "upstream/hash.h"
#include "upstream/host_health.h"
#include "upstream/load_balancer.h"

namespace portico::upstream {
namespace {

using Policy = config::LoadBalancerConfig::Policy;

struct Setup {
  Setup(Policy policy, int hosts, bool weighted) : registry(1) {
    cluster.name = "bench.default";
    cluster.loadBalancer.policy = policy;
    for (int i = 0; i < hosts; ++i) {
      Host h;
      std::string ip = "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256);
      h.address = net::Address::fromIp(ip, 8080).value();
      h.key = ip + ":8080";
      h.weight = weighted ? 1 + static_cast<uint32_t>(i % 3) : 1;
      cluster.hosts.push_back(h);
    }
    data = buildClusterLbData(cluster, registry);
    lb = createLoadBalancer(cluster, *data);
  }
  HostHealthRegistry registry;
  Cluster cluster;
  std::shared_ptr<const ClusterLbData> data;
  std::unique_ptr<LoadBalancer> lb;
};

inline uint64_t xorshift(uint64_t& s) {
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  return s * 0x2545F4914F6CDD1DULL;
}

void pickLoop(benchmark::State& state, Policy policy, bool weighted, bool hashed) {
  Setup s(policy, static_cast<int>(state.range(0)), weighted);
  uint64_t rng = 0x9E3779B97F4A7C15ULL;
  PickContext ctx;
  ctx.now = 1000;
  for (auto _ : state) {
    ctx.random = xorshift(rng);
    if (hashed) ctx.hash = xorshift(rng);
    benchmark::DoNotOptimize(s.lb->pick(ctx));
  }
}

void BM_RoundRobin(benchmark::State& state) { pickLoop(state, Policy::RoundRobin, false, false); }
void BM_RoundRobinWeighted(benchmark::State& state) {
  pickLoop(state, Policy::RoundRobin, true, false);
}
void BM_LeastRequest(benchmark::State& state) {
  pickLoop(state, Policy::LeastRequest, false, false);
}
void BM_Random(benchmark::State& state) { pickLoop(state, Policy::Random, false, false); }
void BM_RandomWeighted(benchmark::State& state) { pickLoop(state, Policy::Random, true, false); }
void BM_RingHash(benchmark::State& state) { pickLoop(state, Policy::RingHash, false, true); }
void BM_Maglev(benchmark::State& state) { pickLoop(state, Policy::Maglev, false, true); }

BENCHMARK(BM_RoundRobin)->Arg(3)->Arg(1000);
BENCHMARK(BM_RoundRobinWeighted)->Arg(3)->Arg(1000);
BENCHMARK(BM_LeastRequest)->Arg(3)->Arg(1000);
BENCHMARK(BM_Random)->Arg(3)->Arg(1000);
BENCHMARK(BM_RandomWeighted)->Arg(3)->Arg(1000);
BENCHMARK(BM_RingHash)->Arg(3)->Arg(1000);
BENCHMARK(BM_Maglev)->Arg(3)->Arg(1000);

/// A pick plus the start/end bookkeeping a request does with least request.
void BM_LeastRequestWithAccounting(benchmark::State& state) {
  Setup s(Policy::LeastRequest, static_cast<int>(state.range(0)), false);
  uint64_t rng = 1;
  PickContext ctx;
  ctx.now = 1000;
  for (auto _ : state) {
    ctx.random = xorshift(rng);
    int h = s.lb->pick(ctx);
    s.lb->onRequestStart(h);
    s.lb->onRequestEnd(h);
  }
}
BENCHMARK(BM_LeastRequestWithAccounting)->Arg(3)->Arg(1000);

/// Worst case: the health epoch moves before every pick, so every pick rebuilds the host set
/// (what one pick per worker pays after a health change).
void BM_RoundRobinAfterHealthChange(benchmark::State& state) {
  Setup s(Policy::RoundRobin, static_cast<int>(state.range(0)), false);
  uint64_t rng = 1;
  PickContext ctx;
  ctx.now = 1000;
  for (auto _ : state) {
    s.data->clusterHealth->bump();
    ctx.random = xorshift(rng);
    benchmark::DoNotOptimize(s.lb->pick(ctx));
  }
}
BENCHMARK(BM_RoundRobinAfterHealthChange)->Arg(3)->Arg(1000);

void BM_HashBytes(benchmark::State& state) {
  std::string key(static_cast<size_t>(state.range(0)), 'k');
  for (auto _ : state) {
    benchmark::DoNotOptimize(key.data());
    benchmark::DoNotOptimize(hashBytes(key));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_HashBytes)->Arg(16)->Arg(64)->Arg(256);

/// Controller-side cost of building the shared tables once per cluster.
void BM_BuildLbData(benchmark::State& state, Policy policy) {
  for (auto _ : state) {
    Setup s(policy, static_cast<int>(state.range(0)), false);
    benchmark::DoNotOptimize(s.data.get());
  }
  state.SetLabel("build + one balancer");
}
BENCHMARK_CAPTURE(BM_BuildLbData, Ring, Policy::RingHash)
    ->Arg(3)
    ->Arg(1000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_BuildLbData, Maglev, Policy::Maglev)
    ->Arg(3)
    ->Arg(1000)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace portico::upstream
