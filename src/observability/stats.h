// Per-worker metric cells (Counter, Histogram) and the stats blocks a worker writes on the
// request path: downstream totals, per virtual service, per route and per upstream.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/clock.h"

namespace portico::observability {

/// A monotonic count with exactly one writer thread (its worker): relaxed load + store, a plain
/// add on x86 with no lock prefix and no cache line shared with another worker. Any thread may
/// read it (relaxed); readers sum the workers' cells.
class Counter {
public:
  void add(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }
  /// Back to 0: only when no worker writes the cell any more (a stats id being reused).
  void reset() { value_.store(0, std::memory_order_relaxed); }

private:
  std::atomic<uint64_t> value_{0};
};

/// Upper bounds of the latency buckets, in microseconds (0.5 ms … 60 s; +Inf is implicit).
inline constexpr std::array<uint64_t, 16> kLatencyBoundsUs = {
    500,    1000,   2500,   5000,    10000,   25000,   50000,    100000,
    250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000, 60000000};
inline constexpr size_t kLatencyBuckets = kLatencyBoundsUs.size() + 1;  ///< + the +Inf bucket

/// A fixed-bucket latency histogram with one writer. Buckets hold per-bucket (not cumulative)
/// counts; the count is their sum, so a scrape always sees +Inf == _count.
class Histogram {
public:
  void recordUs(uint64_t us) {
    size_t i = 0;
    while (i < kLatencyBoundsUs.size() && us > kLatencyBoundsUs[i]) ++i;
    buckets_[i].add();
    sumUs_.add(us);
  }
  uint64_t bucket(size_t i) const { return buckets_[i].value(); }
  uint64_t sumUs() const { return sumUs_.value(); }
  void reset() {
    for (Counter& b : buckets_) b.reset();
    sumUs_.reset();
  }

private:
  std::array<Counter, kLatencyBuckets> buckets_;
  Counter sumUs_;
};

/// Response code classes: 1xx … 5xx, and "none" for a request that ended without a response.
inline constexpr size_t kCodeClasses = 6;
inline constexpr std::array<std::string_view, kCodeClasses> kCodeClassNames = {
    "1xx", "2xx", "3xx", "4xx", "5xx", "none"};
inline size_t codeClassIndex(int status) {
  if (status >= 100 && status < 600) return static_cast<size_t>(status / 100 - 1);
  return 5;
}

/// Methods as a bounded label: the RFC 9110 set plus PATCH, anything else is "other".
inline constexpr size_t kMethods = 10;
inline constexpr std::array<std::string_view, kMethods> kMethodNames = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "other"};
size_t methodIndex(std::string_view method);

/// Errors an upstream attempt can end with (the `type` label of portico_upstream_errors_total).
enum class UpstreamError : size_t { Status5xx = 0, ConnectFailure, Reset };
inline constexpr size_t kUpstreamErrorKinds = 3;
inline constexpr std::array<std::string_view, kUpstreamErrorKinds> kUpstreamErrorNames = {
    "5xx", "connect_failure", "reset"};

/// What one worker counts for one virtual service or one route.
struct alignas(64) RequestStats {
  std::array<Counter, kCodeClasses> requests;  ///< by code class
  Histogram latency;                           ///< downstream request duration
  void reset() {
    for (Counter& c : requests) c.reset();
    latency.reset();
  }
};

/// What one worker counts for one upstream (cluster name).
struct alignas(64) UpstreamStats {
  Counter requests;  ///< attempts sent (retries included)
  std::array<Counter, kUpstreamErrorKinds> errors;
  Counter retries;          ///< policy retries scheduled
  Counter timeouts;         ///< per-try, route and connect timeouts
  Counter connectFailures;  ///< refused, unreachable or timed out connects
  Histogram latency;        ///< attempt start → response headers
  // Pool connections: gauges as differences of monotonic counters, so each stays one-writer.
  Counter connectionsOpened, connectionsClosed, idleEntered, idleLeft;
  void error(UpstreamError e) { errors[static_cast<size_t>(e)].add(); }
  void reset() {
    for (Counter* c : {&requests, &retries, &timeouts, &connectFailures, &connectionsOpened,
                       &connectionsClosed, &idleEntered, &idleLeft})
      c->reset();
    for (Counter& c : errors) c.reset();
    latency.reset();
  }
};

/// Downstream totals of one worker.
struct alignas(64) DownstreamStats {
  Counter connectionsOpened;
  Counter connectionsClosed;
  /// --max-connections: times this worker stopped accepting; its listener sockets paused and
  /// resumed (a gauge as the difference, so each stays one-writer).
  Counter acceptPauses, listenersPaused, listenersResumed;
  std::array<std::array<Counter, kCodeClasses>, kMethods> requests;  ///< [method][code class]
};

using portico::monotonicUs;

}  // namespace portico::observability
