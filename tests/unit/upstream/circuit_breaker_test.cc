// Circuit breakers: per-worker shares of the cluster limits, acquire/release, trips, sums.
#include "upstream/circuit_breaker.h"

#include <gtest/gtest.h>

namespace portico::upstream {
namespace {

TEST(CircuitBreaker, LimitsAreSharedAcrossWorkers) {
  config::CircuitBreakers limits;  // Envoy's defaults: 1024, 1024, 1024, 3
  auto w0 = workerShare(limits, 2, 0);
  auto w1 = workerShare(limits, 2, 1);
  EXPECT_EQ(w0[CircuitResource::Connections], 512u);
  EXPECT_EQ(w1[CircuitResource::Requests], 512u);
  EXPECT_EQ(w0[CircuitResource::Retries], 2u);  // 3 = 2 + 1: the shares add up
  EXPECT_EQ(w1[CircuitResource::Retries], 1u);

  config::CircuitBreakers tiny;
  tiny.maxConnections = 1;
  tiny.maxRetries = 0;
  for (size_t w = 0; w < 4; ++w) {
    auto share = workerShare(tiny, 4, w);
    EXPECT_EQ(share[CircuitResource::Connections], 1u);  // at least one each
    EXPECT_EQ(share[CircuitResource::Retries], 0u);      // but "none" stays none
  }
  EXPECT_EQ(workerShare(limits, 1, 0)[CircuitResource::PendingRequests], 1024u);
}

TEST(CircuitBreaker, AcquireUpToTheBudgetThenTrip) {
  config::CircuitBreakers limits;
  limits.maxRequests = 6;
  CircuitBreaker cb(workerShare(limits, 2, 0));  // 3 for this worker
  EXPECT_TRUE(cb.tryAcquireRequest());
  EXPECT_TRUE(cb.tryAcquireRequest());
  EXPECT_TRUE(cb.tryAcquireRequest());
  EXPECT_FALSE(cb.tryAcquireRequest());
  EXPECT_FALSE(cb.tryAcquireRequest());
  EXPECT_EQ(cb.trips(CircuitResource::Requests), 2u);
  EXPECT_EQ(cb.inUse(CircuitResource::Requests), 3u);
  cb.releaseRequest();
  EXPECT_TRUE(cb.tryAcquireRequest());
  // Resources are independent.
  EXPECT_TRUE(cb.tryAcquireConnection());
  EXPECT_TRUE(cb.tryAcquirePendingRequest());
  EXPECT_TRUE(cb.tryAcquireRetry());
  EXPECT_TRUE(cb.tryAcquireRetry());
  EXPECT_FALSE(cb.tryAcquireRetry());  // 3 retries / 2 workers: this one got 2
  cb.releaseRetry();
  cb.releaseRetry();
  cb.releaseRetry();  // an extra release is ignored
  EXPECT_EQ(cb.inUse(CircuitResource::Retries), 0u);
}

TEST(CircuitBreaker, LowerLimitsKeepUnitsInUse) {
  CircuitBreakerLimits l;
  l[CircuitResource::Connections] = 4;
  CircuitBreaker cb(l);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(cb.tryAcquireConnection());
  l[CircuitResource::Connections] = 2;
  cb.setLimits(l);
  EXPECT_FALSE(cb.tryAcquireConnection());
  cb.releaseConnection();
  cb.releaseConnection();
  EXPECT_FALSE(cb.tryAcquireConnection());  // 2 in use, limit 2
  cb.releaseConnection();
  EXPECT_TRUE(cb.tryAcquireConnection());
}

TEST(CircuitBreaker, StatsSumTheWorkers) {
  config::CircuitBreakers limits;
  limits.maxPendingRequests = 4;
  CircuitBreaker a(workerShare(limits, 2, 0)), b(workerShare(limits, 2, 1));
  for (int i = 0; i < 3; ++i) a.tryAcquirePendingRequest();  // 2 ok, 1 trip
  b.tryAcquirePendingRequest();
  const CircuitBreaker* all[] = {&a, &b};
  CircuitBreakerStats s = sumCircuitBreakers(all, 2);
  size_t pending = static_cast<size_t>(CircuitResource::PendingRequests);
  EXPECT_EQ(s.inUse[pending], 3u);
  EXPECT_EQ(s.limit[pending], 4u);
  EXPECT_EQ(s.trips[pending], 1u);
  EXPECT_EQ(toString(CircuitResource::PendingRequests), "pending_requests");
}

}  // namespace
}  // namespace portico::upstream
