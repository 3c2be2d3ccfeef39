#include "observability/metrics_totals.h"

namespace portico::observability {

MetricsTotals sumWorkers(const MetricsRegistry& registry) {
  MetricsTotals t;
  t.names = registry.names();
  t.virtualServices.resize(t.names.virtualServices.size());
  t.routes.resize(t.names.routes.size());
  t.upstreams.resize(t.names.upstreams.size());
  for (size_t w = 0; w < registry.workers(); ++w) {
    const WorkerStats& ws = registry.worker(w);
    t.connectionsOpened += ws.downstream.connectionsOpened.value();
    t.connectionsClosed += ws.downstream.connectionsClosed.value();
    t.acceptPauses += ws.downstream.acceptPauses.value();
    t.listenersPaused += ws.downstream.listenersPaused.value();
    t.listenersResumed += ws.downstream.listenersResumed.value();
    for (size_t m = 0; m < kMethods; ++m)
      for (size_t c = 0; c < kCodeClasses; ++c)
        t.requestsByMethod[m][c] += ws.downstream.requests[m][c].value();
    for (size_t i = 0; i < t.virtualServices.size(); ++i)
      if (const RequestStats* s = ws.virtualServices.find(static_cast<uint32_t>(i))) t.virtualServices[i].add(*s);
    for (size_t i = 0; i < t.routes.size(); ++i)
      if (const RequestStats* s = ws.routes.find(static_cast<uint32_t>(i))) t.routes[i].add(*s);
    for (size_t i = 0; i < t.upstreams.size(); ++i)
      if (const UpstreamStats* s = ws.upstreams.find(static_cast<uint32_t>(i))) t.upstreams[i].add(*s);
  }
  return t;
}

}  // namespace portico::observability
