// StatsdSink: sends the metrics to a statsd or DogStatsD server over UDP every interval, from
// its own thread (never from a worker): counters as deltas since the last flush, gauges, and
// each histogram's mean over the interval as a timer. An unreachable server only loses packets.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "net/address.h"
#include "observability/metrics_registry.h"
#include "observability/metrics_totals.h"

namespace portico::observability {

struct StatsdOptions {
  net::Address address;       ///< the server (UDP)
  int64_t intervalMs = 10000;  ///< flush period
  /// DogStatsD tags ("|#method:GET,code_class:2xx"); plain statsd folds the label values into
  /// the name ("portico.downstream.requests.GET.2xx").
  bool dogstatsd = false;
  std::string prefix = "portico";
};

class StatsdSink {
public:
  /// Opens the UDP socket (errors name the address).
  static Result<std::unique_ptr<StatsdSink>> create(StatsdOptions options, const MetricsRegistry& registry);
  ~StatsdSink();
  StatsdSink(const StatsdSink&) = delete;
  StatsdSink& operator=(const StatsdSink&) = delete;

  void start();
  /// Flushes once more and stops the thread.
  void stop();
  /// The lines describing what changed since the previous call (which becomes the baseline).
  /// One caller at a time (the sink's thread, or a test).
  std::vector<std::string> collect();
  /// collect() and send, packed into datagrams of at most kMaxDatagram bytes.
  void flush();
  /// Datagrams the kernel refused (server unreachable, buffer full).
  uint64_t sendErrors() const { return sendErrors_; }

  static constexpr size_t kMaxDatagram = 1432;  ///< fits a 1500-byte MTU with headers

private:
  StatsdSink(StatsdOptions options, const MetricsRegistry& registry, int fd)
      : options_(std::move(options)), registry_(registry), fd_(fd) {}
  void run();

  StatsdOptions options_;
  const MetricsRegistry& registry_;
  int fd_;
  MetricsTotals previous_;
  uint64_t previousBuilds_ = 0;
  std::atomic<uint64_t> sendErrors_{0};
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace portico::observability
