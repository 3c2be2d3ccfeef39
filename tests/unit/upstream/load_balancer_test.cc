// Load balancers: smooth weighted round robin, least request, weighted random, ring hash and
// Maglev (stickiness, minimal disruption), panic mode and skipping unavailable hosts.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "upstream/hash.h"
#include "upstream_test_util.h"

namespace portico::upstream {
namespace {

using namespace testing;

constexpr MonoMs kNow = 1'000'000;

PickContext ctx(uint64_t random, std::optional<uint64_t> hash = std::nullopt, MonoMs now = kNow) {
  PickContext c;
  c.random = random;
  c.hash = hash;
  c.now = now;
  return c;
}

std::vector<int> countPicks(LoadBalancer& lb, size_t hosts, int picks, TestRandom& rnd) {
  std::vector<int> counts(hosts, 0);
  for (int i = 0; i < picks; ++i) {
    int h = lb.pick(ctx(rnd.next()));
    EXPECT_GE(h, 0);
    if (h >= 0) ++counts[static_cast<size_t>(h)];
  }
  return counts;
}

// ---- hashBytes ----------------------------------------------------------------------------------

TEST(BalancerHash, MatchesReferenceXxHash64) {
  // Reference values from the xxHash library (libxxhash 0.8.1, XXH64).
  EXPECT_EQ(hashBytes(""), 0xef46db3751d8e999ULL);
  EXPECT_EQ(hashBytes("", 1), 0xd5afba1336a3be4bULL);
  EXPECT_EQ(hashBytes("a"), 0xd24ec4f1a98c6e5bULL);
  EXPECT_EQ(hashBytes("abc"), 0x44bc2cf5ad770999ULL);
  EXPECT_EQ(hashBytes("abc", 1), 0xbea9ca8199328908ULL);
  EXPECT_EQ(hashBytes("10.0.0.1:8080_0"), 0x23a29ae775dfd4a3ULL);
  EXPECT_EQ(hashBytes(std::string(31, 'x')), 0x60dd0d01083b99f0ULL);  // tail lanes only
  EXPECT_EQ(hashBytes(std::string(32, 'y')), 0x64da1f1d3495ce66ULL);  // one full stripe
  std::string fox;
  for (int i = 0; i < 3; ++i) fox += "The quick brown fox jumps over the lazy dog";
  EXPECT_EQ(hashBytes(fox), 0xc652b4dbfcd6b853ULL);
  EXPECT_EQ(hashBytes(fox, 1), 0x529adff3f8999249ULL);
}

// ---- round robin --------------------------------------------------------------------------------

TEST(LoadBalancerRoundRobin, SmoothWeightedSequence) {
  HostHealthRegistry registry(1);
  Balanced b(makeCluster(3, Policy::RoundRobin, {5, 1, 1}), registry);
  std::vector<int> seq;
  for (int i = 0; i < 14; ++i) seq.push_back(b.lb->pick(ctx(i)));
  // nginx's example: a a b a c a a, and again.
  EXPECT_EQ(seq, (std::vector<int>{0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0}));
}

TEST(LoadBalancerRoundRobin, WeightsOver10000Picks) {
  HostHealthRegistry registry(1);
  Balanced b(makeCluster(4, Policy::RoundRobin, {1, 2, 3, 4}), registry);
  TestRandom rnd;
  auto counts = countPicks(*b.lb, 4, 10000, rnd);
  // Smooth WRR is exact over every cycle of Σweight = 10 picks.
  EXPECT_EQ(counts, (std::vector<int>{1000, 2000, 3000, 4000}));
}

TEST(LoadBalancerRoundRobin, EqualWeightsRotate) {
  HostHealthRegistry registry(1);
  Balanced b(makeCluster(3, Policy::RoundRobin), registry);
  int first = b.lb->pick(ctx(7));
  for (int i = 1; i < 30; ++i) EXPECT_EQ(b.lb->pick(ctx(i)), (first + i) % 3);
}

TEST(LoadBalancerRoundRobin, SkipsUnavailableHosts) {
  HostHealthRegistry registry(1);
  Balanced b(makeCluster(4, Policy::RoundRobin, {1, 1, 1, 2}), registry);
  b.health(1).setCheckVerdict(0, false);
  b.health(3).eject(kNow + 5000, 1);
  TestRandom rnd;
  auto counts = countPicks(*b.lb, 4, 1000, rnd);
  EXPECT_EQ(counts[1], 0);
  EXPECT_EQ(counts[3], 0);
  EXPECT_EQ(counts[0], 500);
  EXPECT_EQ(counts[2], 500);
  // The ejection ends by time alone (no epoch change): host 3 is back at its expiry.
  std::vector<int> after(4, 0);
  for (int i = 0; i < 800; ++i) ++after[static_cast<size_t>(b.lb->pick(ctx(i, {}, kNow + 5000)))];
  EXPECT_EQ(after[1], 0);
  EXPECT_EQ(after[3], 400);
}

// ---- least request ------------------------------------------------------------------------------

TEST(LoadBalancerLeastRequest, PrefersIdleHosts) {
  HostHealthRegistry registry(1);
  Balanced b(makeCluster(2, Policy::LeastRequest), registry);
  for (int i = 0; i < 5; ++i) b.lb->onRequestStart(0);
  TestRandom rnd;
  auto counts = countPicks(*b.lb, 2, 10000, rnd);
  // Host 1 wins whenever it is one of the two candidates: 3/4 of the picks.
  EXPECT_NEAR(counts[1] / 10000.0, 0.75, 0.03);

  // With many choices the idle host is (almost) always found.
  Cluster c = makeCluster(4, Policy::LeastRequest);
  c.loadBalancer.choiceCount = 16;
  Balanced wide(std::move(c), registry);
  for (int h = 0; h < 3; ++h) wide.lb->onRequestStart(h);
  auto wideCounts = countPicks(*wide.lb, 4, 1000, rnd);
  EXPECT_GT(wideCounts[3], 980);
}

TEST(LoadBalancerLeastRequest, BalancesInFlightRequests) {
  HostHealthRegistry registry(1);
  Balanced b(makeCluster(5, Policy::LeastRequest), registry);
  TestRandom rnd;
  // Requests that never finish: P2C keeps the in-flight counts close together.
  std::vector<int> inFlight(5, 0);
  for (int i = 0; i < 1000; ++i) {
    int h = b.lb->pick(ctx(rnd.next()));
    b.lb->onRequestStart(h);
    ++inFlight[static_cast<size_t>(h)];
  }
  auto [lo, hi] = std::minmax_element(inFlight.begin(), inFlight.end());
  EXPECT_LE(*hi - *lo, 10);
  // Finishing all of one host's requests makes it the favourite.
  for (int i = 0; i < inFlight[2]; ++i) b.lb->onRequestEnd(2);
  int twos = 0;
  for (int i = 0; i < 100; ++i) twos += b.lb->pick(ctx(rnd.next())) == 2;
  EXPECT_GT(twos, 25);  // 1 - (4/5)^2 = 36 % expected
}

TEST(LoadBalancerLeastRequest, WeightedWhenIdle) {
  HostHealthRegistry registry(1);
  Balanced b(makeCluster(2, Policy::LeastRequest, {1, 3}), registry);
  TestRandom rnd;
  auto counts = countPicks(*b.lb, 2, 10000, rnd);
  // Idle hosts tie, so the first weighted draw decides.
  EXPECT_NEAR(counts[1] / 10000.0, 0.75, 0.03);
}

// ---- random -------------------------------------------------------------------------------------

TEST(LoadBalancerRandom, WeightedDistribution) {
  HostHealthRegistry registry(1);
  Balanced b(makeCluster(3, Policy::Random, {1, 3, 6}), registry);
  TestRandom rnd;
  auto counts = countPicks(*b.lb, 3, 10000, rnd);
  EXPECT_NEAR(counts[0] / 10000.0, 0.1, 0.02);
  EXPECT_NEAR(counts[1] / 10000.0, 0.3, 0.02);
  EXPECT_NEAR(counts[2] / 10000.0, 0.6, 0.02);
}

TEST(LoadBalancerRandom, UniformWithEqualWeights) {
  HostHealthRegistry registry(1);
  Balanced b(makeCluster(4, Policy::Random), registry);
  TestRandom rnd;
  for (int n : countPicks(*b.lb, 4, 10000, rnd)) EXPECT_NEAR(n / 10000.0, 0.25, 0.02);
}

// ---- panic mode ---------------------------------------------------------------------------------

TEST(LoadBalancerPanic, BelowThresholdPicksAmongAllHosts) {
  HostHealthRegistry registry(1);
  Balanced b(makeCluster(10, Policy::Random), registry);  // threshold 50 %
  for (size_t i = 0; i < 4; ++i) b.health(i).setCheckVerdict(0, false);
  TestRandom rnd;
  auto counts = countPicks(*b.lb, 10, 2000, rnd);  // 60 % available: normal mode
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(counts[i], 0);

  for (size_t i = 4; i < 6; ++i) b.health(i).setCheckVerdict(0, false);
  counts = countPicks(*b.lb, 10, 2000, rnd);  // 40 % < 50 %: panic, every host gets traffic
  for (size_t i = 0; i < 10; ++i) EXPECT_GT(counts[i], 100) << i;

  for (size_t i = 0; i < 10; ++i) b.health(i).setCheckVerdict(0, false);
  EXPECT_GE(b.lb->pick(ctx(1)), 0);  // none available: still panic, still a host
}

TEST(LoadBalancerPanic, DisabledReturnsNoHost) {
  HostHealthRegistry registry(1);
  for (Policy p : {Policy::RoundRobin, Policy::LeastRequest, Policy::Random, Policy::RingHash,
                   Policy::Maglev}) {
    Cluster c = makeCluster(3, p);
    c.name = "panic-" + std::to_string(static_cast<int>(p));
    c.loadBalancer.healthyPanicThreshold = 0;
    Balanced b(std::move(c), registry);
    b.health(0).setCheckVerdict(0, false);
    b.health(1).setCheckVerdict(0, false);
    for (int i = 0; i < 20; ++i) EXPECT_EQ(b.lb->pick(ctx(i * 7919, i * 104729ULL)), 2);
    b.health(2).eject(kNow + 10, 1);
    EXPECT_EQ(b.lb->pick(ctx(1, 1)), -1) << static_cast<int>(p);
    EXPECT_EQ(b.lb->pick(ctx(1, 1, kNow + 10)), 2);  // the ejection ran out
  }
}

TEST(LoadBalancerPanic, NoHosts) {
  HostHealthRegistry registry(1);
  for (Policy p : {Policy::RoundRobin, Policy::LeastRequest, Policy::Random, Policy::RingHash,
                   Policy::Maglev}) {
    Balanced b(makeCluster(0, p), registry);
    EXPECT_EQ(b.lb->pick(ctx(1, 1)), -1);
  }
}

// ---- ring hash and Maglev -----------------------------------------------------------------------

class ConsistentHash : public ::testing::TestWithParam<Policy> {};

std::string policyName(const ::testing::TestParamInfo<Policy>& info) {
  return info.param == Policy::RingHash ? "Ring" : "Maglev";
}

TEST_P(ConsistentHash, StickyAcrossPicksAndWorkers) {
  HostHealthRegistry registry(2);
  Balanced b(makeCluster(8, GetParam()), registry);
  auto other = createLoadBalancer(b.cluster, *b.data);  // another worker's balancer
  TestRandom rnd;
  std::set<int> seen;
  for (int k = 0; k < 1000; ++k) {
    uint64_t h = hashBytes("user-" + std::to_string(k));
    int first = b.lb->pick(ctx(rnd.next(), h));
    ASSERT_GE(first, 0);
    seen.insert(first);
    EXPECT_EQ(b.lb->pick(ctx(rnd.next(), h)), first);
    EXPECT_EQ(other->pick(ctx(rnd.next(), h)), first);
  }
  EXPECT_EQ(seen.size(), 8u);
}

/// Share of 10,000 keys that change host when host 3 of `n` is removed from the cluster.
double movedShare(Policy policy, size_t n, uint64_t minRingSize) {
  HostHealthRegistry registry(1);
  Cluster c = makeCluster(n, policy);
  c.loadBalancer.minimumRingSize = minRingSize;
  Balanced before(std::move(c), registry);
  Cluster smaller = before.cluster;
  smaller.hosts.erase(smaller.hosts.begin() + 3);
  Balanced after(std::move(smaller), registry);
  const int keys = 10000;
  int moved = 0;
  for (int k = 0; k < keys; ++k) {
    uint64_t h = hashBytes("session-" + std::to_string(k));
    moved += before.keyOf(before.lb->pick(ctx(0, h))) != after.keyOf(after.lb->pick(ctx(0, h)));
  }
  return static_cast<double>(moved) / keys;
}

TEST_P(ConsistentHash, RemovingOneOfNHostsMovesAboutOneNth) {
  for (size_t n : {7u, 10u, 20u, 50u}) {
    double share = movedShare(GetParam(), n, 1024);
    EXPECT_LE(share, 1.5 / static_cast<double>(n)) << "n=" << n;
    EXPECT_GE(share, 0.5 / static_cast<double>(n)) << "n=" << n;
  }
  // A small cluster too, once minimumRingSize does not stretch the ring (5 × 160 ≥ 512).
  double share = movedShare(GetParam(), 5, 512);
  EXPECT_LE(share, 1.5 / 5);
  EXPECT_GE(share, 0.5 / 5);
}

TEST(RingHashTable, SmallClusterStretchedToMinimumSizeMovesMore) {
  // 5 hosts × 160 < 1024: the ring is stretched to ⌈1024/5⌉ points per host, and to ⌈1024/4⌉
  // after the removal; the extra points move keys between the remaining hosts too (Envoy's ring
  // always behaves so). Documented in consistent_hash.h; bounded by about 2/N.
  double share = movedShare(Policy::RingHash, 5, 1024);
  EXPECT_GT(share, 1.5 / 5);
  EXPECT_LE(share, 2.0 / 5);
}

TEST_P(ConsistentHash, UnavailableHostMovesOnlyItsKeys) {
  HostHealthRegistry registry(1);
  Balanced b(makeCluster(6, GetParam()), registry);
  std::vector<int> owner;
  for (int k = 0; k < 5000; ++k) owner.push_back(b.lb->pick(ctx(0, hashBytes(std::to_string(k)))));
  b.health(2).setCheckVerdict(0, false);
  for (int k = 0; k < 5000; ++k) {
    int now = b.lb->pick(ctx(0, hashBytes(std::to_string(k))));
    ASSERT_NE(now, 2);
    if (owner[k] != 2) {
      EXPECT_EQ(now, owner[k]) << k;
    }
  }
  b.health(2).setCheckVerdict(0, true);
  for (int k = 0; k < 5000; ++k)
    EXPECT_EQ(b.lb->pick(ctx(0, hashBytes(std::to_string(k)))), owner[k]);
}

TEST_P(ConsistentHash, WeightsAndHashlessPicks) {
  HostHealthRegistry registry(1);
  Balanced b(makeCluster(3, GetParam(), {1, 1, 2}), registry);
  std::vector<int> counts(3, 0);
  for (int k = 0; k < 20000; ++k)
    ++counts[static_cast<size_t>(b.lb->pick(ctx(0, hashBytes("k" + std::to_string(k)))))];
  EXPECT_NEAR(counts[0] / 20000.0, 0.25, 0.05);
  EXPECT_NEAR(counts[2] / 20000.0, 0.50, 0.05);
  // No hash: spread like random.
  TestRandom rnd;
  auto random = countPicks(*b.lb, 3, 20000, rnd);
  EXPECT_NEAR(random[2] / 20000.0, 0.50, 0.05);
  EXPECT_GT(random[0], 3000);
}

INSTANTIATE_TEST_SUITE_P(LoadBalancer, ConsistentHash,
                         ::testing::Values(Policy::RingHash, Policy::Maglev), policyName);

TEST(RingHashTable, SizeWithinMinAndMax) {
  Cluster c = makeCluster(3, Policy::RingHash);
  EXPECT_EQ(RingHashTable::build(c.hosts, 1024, 8388608)->size(), 1026u);  // 3 × ⌈1024/3⌉
  EXPECT_EQ(RingHashTable::build(c.hosts, 16, 8388608)->size(), 480u);     // 160 per host
  EXPECT_EQ(RingHashTable::build(c.hosts, 16, 300)->size(), 300u);         // 100 per host
  Cluster weighted = makeCluster(2, Policy::RingHash, {100, 300});         // ∝ {1, 3}
  EXPECT_EQ(RingHashTable::build(weighted.hosts, 64, 8388608)->size(), 640u);
}

TEST(RingHashTable, BranchlessLowerBoundMatchesStd) {
  TestRandom rnd;
  for (size_t n : {0u, 1u, 2u, 3u, 7u, 8u, 9u, 100u, 1025u}) {
    std::vector<uint64_t> v;
    for (size_t i = 0; i < n; ++i) v.push_back(rnd.next() % 1000);
    std::sort(v.begin(), v.end());
    for (uint64_t x = 0; x <= 1001; ++x) {
      size_t expected = static_cast<size_t>(std::lower_bound(v.begin(), v.end(), x) - v.begin());
      ASSERT_EQ(lowerBound(v.data(), v.size(), x), expected) << "n=" << n << " x=" << x;
    }
  }
}

TEST(MaglevTable, EveryHostOwnsItsShare) {
  Cluster c = makeCluster(7, Policy::Maglev, {1, 1, 1, 1, 1, 1, 4});
  auto t = MaglevTable::build(c.hosts);
  ASSERT_EQ(t->size(), 65537u);
  std::vector<int> slots(7, 0);
  for (size_t s = 0; s < t->size(); ++s) ++slots[t->hostAt(s)];
  for (size_t i = 0; i < 6; ++i) EXPECT_NEAR(slots[i] / 65537.0, 0.1, 0.01) << i;
  EXPECT_NEAR(slots[6] / 65537.0, 0.4, 0.01);
}

// ---- shared data across reloads -----------------------------------------------------------------

TEST(LoadBalancerData, ReloadKeepsHealthAndReusesTables) {
  HostHealthRegistry registry(2);
  Cluster c = makeCluster(4, Policy::Maglev);
  auto first = buildClusterLbData(c, registry);
  first->health[1]->setCheckVerdict(0, false);

  auto second = buildClusterLbData(c, registry, first.get());
  EXPECT_EQ(second->maglev, first->maglev);        // same hosts: table shared
  EXPECT_EQ(second->health[1], first->health[1]);  // same HostHealth object
  EXPECT_FALSE(second->health[1]->healthCheckHealthy());

  Cluster changed = c;
  changed.hosts.pop_back();
  auto third = buildClusterLbData(changed, registry, second.get());
  EXPECT_NE(third->maglev, second->maglev);
  EXPECT_EQ(third->health[1], first->health[1]);

  // Once no snapshot holds host 3, its state is dropped.
  first.reset();
  second.reset();
  registry.sweep();
  EXPECT_EQ(registry.size(), 3u);
  Cluster ring = c;
  ring.loadBalancer.policy = Policy::RingHash;
  auto r1 = buildClusterLbData(ring, registry);
  auto r2 = buildClusterLbData(ring, registry, r1.get());
  EXPECT_EQ(r1->ring, r2->ring);
  EXPECT_TRUE(r2->health[3]->healthCheckHealthy());  // recreated fresh
}

}  // namespace
}  // namespace portico::upstream
