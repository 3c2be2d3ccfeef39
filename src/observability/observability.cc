#include "observability/observability.h"

#include "observability/exposition.h"
#include "observability/tracing_tracer.h"

namespace portico::observability {

Observability& instance() {
  static Observability* o = new Observability();  // never destroyed: workers may outlive main's scope
  return *o;
}

SnapshotStatsIndex::~SnapshotStatsIndex() {
  if (!registry) return;
  for (uint32_t id : clusters) registry->release(StatsKind::Upstream, id);
  for (uint32_t id : virtualServices) registry->release(StatsKind::VirtualService, id);
  for (const auto& perListener : routes)
    for (const auto& perVhost : perListener)
      for (const RouteStatsRef& ref : perVhost) registry->release(StatsKind::Route, ref.route);
}

std::shared_ptr<const SnapshotStatsIndex> buildStatsIndex(
    MetricsRegistry& registry, const std::vector<const router::RouteTable*>& listeners,
    const std::vector<upstream::ClusterConstSharedPtr>& clusters,
    const std::function<std::string(const router::RouteEntry&, const router::VirtualHost&, size_t)>&
        routeName) {
  registry.forgetRetired();
  auto index = std::make_shared<SnapshotStatsIndex>();
  index->registry = &registry;
  std::vector<std::pair<uint32_t, upstream::ClusterConstSharedPtr>> inEffect;
  for (const auto& c : clusters) {
    uint32_t id = registry.upstreamId(c->name);
    index->clusters.push_back(id);
    if (id != kNoStatsId) inEffect.emplace_back(id, c);
  }
  for (const router::RouteTable* table : listeners) {
    auto& perListener = index->routes.emplace_back();
    for (const router::VirtualHost& vh : table->virtualHosts()) {
      auto& perVhost = perListener.emplace_back();
      uint32_t vs = registry.virtualServiceId(vh.name);
      index->virtualServices.push_back(vs);
      for (size_t r = 0; r < vh.routes.size(); ++r) {
        RouteStatsRef ref;
        ref.virtualService = vs;
        ref.name = routeName(vh.routes[r], vh, r);
        ref.route = registry.routeId(vh.name, ref.name);
        perVhost.push_back(std::move(ref));
      }
    }
  }
  registry.setClusters(std::move(inEffect));
  return index;
}

}  // namespace portico::observability

namespace portico::observability {

void serveMetrics(std::string_view accept, std::string& contentType, std::string& body) {
  ExpositionFormat format = negotiateFormat(accept);
  contentType = observability::contentType(format);
  body = renderMetrics(instance().metrics(), format, &instance().accessLogs());
  appendTracingMetrics(body, format == ExpositionFormat::OpenMetrics);
}

}  // namespace portico::observability
