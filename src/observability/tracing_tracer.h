// Tracer: the process's tracing settings (sampling, collectors), one bounded span ring per
// worker (single producer, no lock, drops when full) and the exporter thread that drains the
// rings and POSTs batches to Zipkin v2 and OTLP/HTTP JSON collectors.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "observability/stats.h"
#include "observability/tracing_export.h"
#include "observability/tracing_span.h"

namespace portico::observability {

struct TracerOptions {
  /// New roots sampled per million requests (a caller's decision always wins).
  uint32_t samplingPerMillion = 0;
  std::optional<CollectorUrl> zipkin;  ///< POST /api/v2/spans (Zipkin v2 JSON)
  std::optional<CollectorUrl> otlp;    ///< POST /v1/traces (OTLP/HTTP JSON)
  std::string serviceName = "portico";
  size_t ringSpans = 2048;        ///< per worker; spans beyond it are dropped, never waited for
  int64_t flushIntervalMs = 200;  ///< how often the exporter drains the rings
  size_t maxBatch = 256;          ///< spans per POST
  int64_t exportTimeoutMs = 1000; ///< connect + send + answer, per POST
};

/// The collectors, in the order of the `exporter` label and of the counters below.
enum class Exporter : size_t { Zipkin = 0, Otlp = 1 };
inline constexpr size_t kExporters = 2;
inline constexpr std::array<std::string_view, kExporters> kExporterNames = {"zipkin", "otlp"};

struct TracerCounters {
  uint64_t sampled = 0;      ///< spans workers finished (recorded or dropped at the ring)
  uint64_t bufferFull = 0;   ///< dropped: a worker's ring was full
  std::array<uint64_t, kExporters> exported{};
  std::array<uint64_t, kExporters> exportFailed{};  ///< dropped: the collector failed or timed out
};

class Tracer {
public:
  Tracer() = default;
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  /// Before the workers exist (main thread). Tracing is enabled when a collector is set.
  void configure(size_t workers, TracerOptions options);
  bool enabled() const { return workers_ > 0; }
  size_t workers() const { return workers_; }
  uint32_t samplingPerMillion() const { return options_.samplingPerMillion; }
  const TracerOptions& options() const { return options_; }

  /// Worker `worker` only: the next free slot of its ring (to fill, then commit()), or null —
  /// the ring is full and the span is counted as dropped.
  Span* claim(size_t worker) {
    Ring& r = rings_[worker];
    r.sampled.add();
    uint64_t head = r.head.load(std::memory_order_relaxed);
    if (head - r.tail.load(std::memory_order_acquire) >= capacity_) [[unlikely]] {
      r.dropped.add();
      return nullptr;
    }
    Span* s = &r.slots[head % capacity_];
    *s = Span{};
    return s;
  }
  /// Publishes the slot claim() returned.
  void commit(size_t worker) {
    Ring& r = rings_[worker];
    r.head.store(r.head.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }

  /// Starts the exporter thread.
  void start();
  /// Exports what is queued (one last try) and stops the thread.
  void stop();
  /// Drains the rings and exports now on the calling thread (tests; the thread when stopping).
  void flush();
  /// Any thread.
  TracerCounters counters() const;

private:
  struct alignas(64) Ring {
    std::unique_ptr<Span[]> slots;
    std::atomic<uint64_t> head{0};              ///< spans ever committed (the worker)
    alignas(64) std::atomic<uint64_t> tail{0};  ///< spans ever taken (the exporter)
    Counter sampled, dropped;
  };
  void run();
  /// Takes every queued span out of the rings into `batch`.
  void drain(std::vector<Span>& batch);
  void exportBatch(const std::vector<Span>& batch);

  TracerOptions options_;
  size_t workers_ = 0;
  size_t capacity_ = 0;
  std::unique_ptr<Ring[]> rings_;
  std::array<std::unique_ptr<CollectorClient>, kExporters> clients_;
  std::array<std::atomic<uint64_t>, kExporters> exported_{};
  std::array<std::atomic<uint64_t>, kExporters> failed_{};
  std::mutex flushMutex_;  // one exporter pass at a time (thread vs flush() in tests)
  std::vector<Span> batch_;  // the pass's spans (under flushMutex_)
  std::string body_;         // the POST body being encoded (under flushMutex_)
  std::mutex mutex_;       // guards stopping_ for the thread's wait
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

/// The process's tracer (never destroyed: workers may outlive main's scope).
Tracer& tracer();

/// Appends the portico_tracing_* families to a /metrics body in the Prometheus text format or
/// OpenMetrics (then before the closing "# EOF"). Nothing when tracing is off.
void appendTracingMetrics(std::string& body, bool openMetrics);

}  // namespace portico::observability
