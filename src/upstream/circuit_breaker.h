// CircuitBreaker: one worker's share of a cluster's limits (connections, pending requests,
// requests, retries), checked without locks or shared atomics; trips counted for the admin API.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/model.h"

namespace portico::upstream {

enum class CircuitResource { Connections = 0, PendingRequests, Requests, Retries };
inline constexpr size_t kCircuitResourceCount = 4;
std::string_view toString(CircuitResource r);

/// One worker's budget per resource.
struct CircuitBreakerLimits {
  std::array<uint32_t, kCircuitResourceCount> max{};
  uint32_t& operator[](CircuitResource r) { return max[static_cast<size_t>(r)]; }
  uint32_t operator[](CircuitResource r) const { return max[static_cast<size_t>(r)]; }
};

/// Worker `worker`'s share of the cluster's limits: each limit is divided across `workers`, the
/// remainder going one each to the first workers, so the shares add up to the limit; every
/// worker gets at least 1 (a limit below the worker count is thus exceeded, up to `workers`),
/// except that a limit of 0 ("no retries at all") stays 0.
///
/// Why divide instead of sharing one counter: a shared counter needs an atomic read-modify-write
/// on a contended cache line twice per request (acquire and release) on every worker. Divided
/// budgets make a check a plain compare on the worker's own memory. What it costs: the limit is
/// enforced per worker, so a burst landing on one worker trips at limit/N while the other
/// workers have room — the breaker can trip below the global limit (never above it, except
/// for the at-least-1 rounding). SO_REUSEPORT spreads connections evenly, so with many clients
/// the difference is small; with one client pinned to one worker it is N-fold.
CircuitBreakerLimits workerShare(const config::CircuitBreakers& limits, size_t workers,
                                 size_t worker);

/// Per (worker, cluster). Owner-thread only for tryAcquire/release/setLimits; the counters are
/// atomics written by the owner with relaxed load + store (a plain move on x86: no lock prefix),
/// so the admin thread may read them at any time. Keep one object per worker per cluster *name*
/// across snapshots (like connection pools) so that requests in flight during a reload stay
/// counted; call setLimits() when the limits change.
class CircuitBreaker {
public:
  CircuitBreaker() = default;
  explicit CircuitBreaker(const CircuitBreakerLimits& limits) { setLimits(limits); }
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  /// Takes one unit of `r`; false (and one trip counted) when this worker's budget is used up.
  bool tryAcquire(CircuitResource r) {
    const size_t i = static_cast<size_t>(r);
    uint32_t used = used_[i].load(std::memory_order_relaxed);
    if (used >= max_[i].load(std::memory_order_relaxed)) [[unlikely]] {
      trips_[i].store(trips_[i].load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      return false;
    }
    used_[i].store(used + 1, std::memory_order_relaxed);
    return true;
  }
  /// Returns one unit taken by a successful tryAcquire(r). Extra releases are ignored.
  void release(CircuitResource r) {
    const size_t i = static_cast<size_t>(r);
    uint32_t used = used_[i].load(std::memory_order_relaxed);
    if (used > 0) used_[i].store(used - 1, std::memory_order_relaxed);
  }

  bool tryAcquireConnection() { return tryAcquire(CircuitResource::Connections); }
  void releaseConnection() { release(CircuitResource::Connections); }
  bool tryAcquirePendingRequest() { return tryAcquire(CircuitResource::PendingRequests); }
  void releasePendingRequest() { release(CircuitResource::PendingRequests); }
  bool tryAcquireRequest() { return tryAcquire(CircuitResource::Requests); }
  void releaseRequest() { release(CircuitResource::Requests); }
  bool tryAcquireRetry() { return tryAcquire(CircuitResource::Retries); }
  void releaseRetry() { release(CircuitResource::Retries); }

  /// New budgets (reload). Units in use stay counted; a lower limit just refuses new ones.
  void setLimits(const CircuitBreakerLimits& limits) {
    for (size_t i = 0; i < kCircuitResourceCount; ++i)
      max_[i].store(limits.max[i], std::memory_order_relaxed);
  }

  // ---- any thread (admin) ----
  uint32_t inUse(CircuitResource r) const {
    return used_[static_cast<size_t>(r)].load(std::memory_order_relaxed);
  }
  uint32_t limit(CircuitResource r) const {
    return max_[static_cast<size_t>(r)].load(std::memory_order_relaxed);
  }
  uint64_t trips(CircuitResource r) const {
    return trips_[static_cast<size_t>(r)].load(std::memory_order_relaxed);
  }

private:
  std::array<std::atomic<uint32_t>, kCircuitResourceCount> used_{};
  std::array<std::atomic<uint32_t>, kCircuitResourceCount> max_{};
  std::array<std::atomic<uint64_t>, kCircuitResourceCount> trips_{};
};

/// The admin view of one cluster: the workers' breakers summed.
struct CircuitBreakerStats {
  std::array<uint64_t, kCircuitResourceCount> inUse{};
  std::array<uint64_t, kCircuitResourceCount> limit{};
  std::array<uint64_t, kCircuitResourceCount> trips{};
};
/// Sums `count` breakers (one per worker). Any thread.
CircuitBreakerStats sumCircuitBreakers(const CircuitBreaker* const* breakers, size_t count);

}  // namespace portico::upstream
