#include "observability/tracing_tracer.h"

#include <chrono>
#include <cinttypes>
#include <cstdio>

#include "common/log.h"

namespace portico::observability {

Tracer& tracer() {
  static Tracer* t = new Tracer();  // never destroyed: workers may outlive main's scope
  return *t;
}

Tracer::~Tracer() { stop(); }

void Tracer::configure(size_t workers, TracerOptions options) {
  options_ = std::move(options);
  if (!options_.zipkin && !options_.otlp) return;  // no collector: tracing stays off
  capacity_ = options_.ringSpans ? options_.ringSpans : 1;
  rings_.reset(new Ring[workers]);
  for (size_t i = 0; i < workers; ++i) rings_[i].slots.reset(new Span[capacity_]);
  if (options_.zipkin) clients_[static_cast<size_t>(Exporter::Zipkin)] = std::make_unique<CollectorClient>(*options_.zipkin);
  if (options_.otlp) clients_[static_cast<size_t>(Exporter::Otlp)] = std::make_unique<CollectorClient>(*options_.otlp);
  workers_ = workers;
}

void Tracer::start() {
  if (!enabled() || thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void Tracer::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
    flush();  // what the workers queued last
  }
}

void Tracer::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(options_.flushIntervalMs));
    if (stopping_) break;
    lock.unlock();
    flush();
    lock.lock();
  }
}

void Tracer::drain(std::vector<Span>& batch) {
  for (size_t w = 0; w < workers_; ++w) {
    Ring& r = rings_[w];
    uint64_t head = r.head.load(std::memory_order_acquire);
    uint64_t tail = r.tail.load(std::memory_order_relaxed);
    for (; tail < head; ++tail) batch.push_back(r.slots[tail % capacity_]);
    // Slots are free again as soon as they are copied: export time never holds the ring.
    r.tail.store(tail, std::memory_order_release);
  }
}

void Tracer::flush() {
  if (!enabled()) return;
  std::lock_guard<std::mutex> lock(flushMutex_);
  batch_.clear();  // kept across passes, like body_: no allocation once they have grown
  drain(batch_);
  if (!batch_.empty()) exportBatch(batch_);
}

void Tracer::exportBatch(const std::vector<Span>& batch) {
  for (size_t e = 0; e < kExporters; ++e) {
    CollectorClient* client = clients_[e].get();
    if (!client) continue;
    const bool zipkin = e == static_cast<size_t>(Exporter::Zipkin);
    for (size_t at = 0; at < batch.size(); at += options_.maxBatch) {
      size_t n = std::min(options_.maxBatch, batch.size() - at);
      body_.clear();
      if (zipkin) encodeZipkin(batch.data() + at, n, options_.serviceName, body_);
      else encodeOtlp(batch.data() + at, n, options_.serviceName, body_);
      Status s = client->post("application/json", body_, options_.exportTimeoutMs);
      if (s.ok()) {
        exported_[e].fetch_add(n, std::memory_order_relaxed);
        continue;
      }
      // The collector is down or slow: drop this pass's remaining spans for it instead of
      // waiting once per batch; the next pass tries again.
      size_t lost = batch.size() - at;
      uint64_t before = failed_[e].fetch_add(lost, std::memory_order_relaxed);
      if (before == 0 || (before / 10000) != ((before + lost) / 10000))
        LOG_WARN("tracing: %s export to %s: %s (%zu spans dropped)", kExporterNames[e].data(),
                 client->url().hostHeader.c_str(), s.message().c_str(), lost);
      break;
    }
  }
}

TracerCounters Tracer::counters() const {
  TracerCounters c;
  for (size_t w = 0; w < workers_; ++w) {
    c.sampled += rings_[w].sampled.value();
    c.bufferFull += rings_[w].dropped.value();
  }
  for (size_t e = 0; e < kExporters; ++e) {
    c.exported[e] = exported_[e].load(std::memory_order_relaxed);
    c.exportFailed[e] = failed_[e].load(std::memory_order_relaxed);
  }
  return c;
}

void appendTracingMetrics(std::string& body, bool openMetrics) {
  Tracer& t = tracer();
  if (!t.enabled()) return;
  TracerCounters c = t.counters();
  const std::string eof = "# EOF\n";
  bool hadEof = openMetrics && body.ends_with(eof);
  if (hadEof) body.resize(body.size() - eof.size());
  auto family = [&](const char* name, const char* help) {
    // OpenMetrics names a counter family without _total; the 0.0.4 text format with it.
    std::string f = std::string(name) + (openMetrics ? "" : "_total");
    body += "# HELP " + f + " " + help + "\n# TYPE " + f + " counter\n";
  };
  char line[256];
  family("portico_tracing_spans_sampled", "Spans recorded by the workers (sampled requests and their upstream attempts).");
  snprintf(line, sizeof(line), "portico_tracing_spans_sampled_total %" PRIu64 "\n", c.sampled);
  body += line;
  family("portico_tracing_spans_exported", "Spans a collector accepted.");
  for (size_t e = 0; e < kExporters; ++e) {
    if ((e == 0 && !t.options().zipkin) || (e == 1 && !t.options().otlp)) continue;
    snprintf(line, sizeof(line), "portico_tracing_spans_exported_total{exporter=\"%s\"} %" PRIu64 "\n",
             kExporterNames[e].data(), c.exported[e]);
    body += line;
  }
  family("portico_tracing_spans_dropped", "Spans dropped: a worker's buffer was full, or a collector failed or timed out.");
  snprintf(line, sizeof(line), "portico_tracing_spans_dropped_total{reason=\"buffer_full\"} %" PRIu64 "\n",
           c.bufferFull);
  body += line;
  for (size_t e = 0; e < kExporters; ++e) {
    if ((e == 0 && !t.options().zipkin) || (e == 1 && !t.options().otlp)) continue;
    snprintf(line, sizeof(line),
             "portico_tracing_spans_dropped_total{reason=\"export_failed\",exporter=\"%s\"} %" PRIu64 "\n",
             kExporterNames[e].data(), c.exportFailed[e]);
    body += line;
  }
  if (hadEof) body += eof;
}

}  // namespace portico::observability
