// What observability adds to one request on a worker: the counters and histograms it bumps,
// an access log line formatted (Envoy's default format and a JSON one) and queued to the writer.
#include <benchmark/benchmark.h>

#include "observability/access_log_format.h"
#include "observability/access_log_writer.h"
#include "observability/metrics_registry.h"

namespace portico::observability {
namespace {

void BM_RequestCounters(benchmark::State& state) {
  // What endRequestStats() and an upstream attempt touch: one method×code counter, a virtual
  // service and a route (counter + histogram each), an upstream (counter + histogram), clocks.
  MetricsRegistry r(1);
  uint32_t vs = r.virtualServiceId("default.gloo-system");
  uint32_t route = r.routeId("default.gloo-system", "r");
  uint32_t up = r.upstreamId("origin.gloo-system");
  WorkerStats& w = r.worker(0);
  for (auto _ : state) {
    uint64_t start = monotonicUs();
    w.upstreams[up].requests.add();
    w.upstreams[up].latency.recordUs(monotonicUs() - start);
    w.downstream.requests[methodIndex("GET")][codeClassIndex(200)].add();
    uint64_t d = monotonicUs() - start;
    w.virtualServices[vs].requests[1].add();
    w.virtualServices[vs].latency.recordUs(d);
    w.routes[route].requests[1].add();
    w.routes[route].latency.recordUs(d);
  }
  benchmark::DoNotOptimize(w.routes[route].latency.sumUs());
}
BENCHMARK(BM_RequestCounters);

struct Entry {
  http::HeaderMap headers;
  AccessLogEntry e;
  Entry() {
    headers.add("host", "127.0.0.1:8080");
    headers.add("user-agent", "wrk");
    e.startUnixUs = 1764165406123456;
    e.durationUs = 850;
    e.method = "GET";
    e.target = "/";
    e.authority = "127.0.0.1:8080";
    e.protocol = "HTTP/1.1";
    e.requestHeaders = &headers;
    e.responseCode = 200;
    e.bytesSent = 1024;
    e.upstreamHost = "127.0.0.1:9000";
    e.upstreamCluster = "origin.gloo-system";
    e.requestId = "d49bc3ed-cf04-4b17-b335-4072beb1de65";
  }
};

void BM_AccessLogDefaultFormat(benchmark::State& state) {
  std::vector<std::string> resp;
  auto f = AccessLogFormat::compileText("", resp);
  Entry entry;
  std::string line;
  for (auto _ : state) {
    line.clear();
    f->render(entry.e, line);
    benchmark::DoNotOptimize(line.data());
  }
}
BENCHMARK(BM_AccessLogDefaultFormat);

void BM_AccessLogJsonFormat(benchmark::State& state) {
  std::vector<std::string> resp;
  auto f = AccessLogFormat::compileJson({{"time", "%START_TIME%"}, {"method", "%REQ(:METHOD)%"},
                                         {"path", "%REQ(:PATH)%"}, {"status", "%RESPONSE_CODE%"},
                                         {"duration", "%DURATION%"}, {"upstream", "%UPSTREAM_HOST%"},
                                         {"ua", "%REQ(user-agent)%"}},
                                        resp);
  Entry entry;
  std::string line;
  for (auto _ : state) {
    line.clear();
    f->render(entry.e, line);
    benchmark::DoNotOptimize(line.data());
  }
}
BENCHMARK(BM_AccessLogJsonFormat);

void BM_AccessLogPush(benchmark::State& state) {
  // Queueing one 180-byte line; the writer is drained every 4096 lines (not timed).
  AccessLogWriter writer(1, 1 << 20);
  auto sink = writer.sink("/dev/null");
  std::string line(179, 'x');
  line += '\n';
  size_t n = 0;
  for (auto _ : state) {
    (*sink)->push(0, line);
    if (++n % 4096 == 0) {
      state.PauseTiming();
      writer.flush();
      state.ResumeTiming();
    }
  }
}
BENCHMARK(BM_AccessLogPush);

}  // namespace
}  // namespace portico::observability
