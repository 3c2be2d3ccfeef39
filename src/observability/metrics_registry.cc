#include "observability/metrics_registry.h"

#include <functional>

namespace portico::observability {

size_t methodIndex(std::string_view method) {
  for (size_t i = 0; i + 1 < kMethods; ++i)
    if (method == kMethodNames[i]) return i;
  return kMethods - 1;
}

MetricsRegistry::MetricsRegistry(size_t workers) { configure(workers); }

void MetricsRegistry::configure(size_t workers) {
  std::lock_guard<std::mutex> lock(mutex_);
  while (workers_.size() < workers) {
    auto w = std::make_unique<WorkerStats>();
    // Ids handed out before configure() need their slots in the new worker too.
    w->virtualServices.ensure(static_cast<uint32_t>(names_.virtualServices.size()));
    w->routes.ensure(static_cast<uint32_t>(names_.routes.size()));
    w->upstreams.ensure(static_cast<uint32_t>(names_.upstreams.size()));
    workers_.push_back(std::move(w));
  }
}

uint32_t MetricsRegistry::intern(std::unordered_map<std::string, uint32_t>& ids,
                                 const std::string& key, size_t count,
                                 const std::function<bool(uint32_t)>& ensure) {
  auto it = ids.find(key);
  if (it != ids.end()) return it->second;
  uint32_t id = static_cast<uint32_t>(count);
  if (!ensure(id + 1)) return kNoStatsId;
  ids.emplace(key, id);
  return id;
}

uint32_t MetricsRegistry::virtualServiceId(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  uint32_t id = intern(vsIds_, name, names_.virtualServices.size(), [this](uint32_t n) {
    for (auto& w : workers_)
      if (!w->virtualServices.ensure(n)) return false;
    return n <= SlotArray<RequestStats>::kChunk * SlotArray<RequestStats>::kMaxChunks;
  });
  if (id != kNoStatsId && id == names_.virtualServices.size()) names_.virtualServices.push_back(name);
  return id;
}

uint32_t MetricsRegistry::routeId(const std::string& virtualService, const std::string& route) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string key = virtualService + '\n' + route;
  uint32_t id = intern(routeIds_, key, names_.routes.size(), [this](uint32_t n) {
    for (auto& w : workers_)
      if (!w->routes.ensure(n)) return false;
    return n <= SlotArray<RequestStats>::kChunk * SlotArray<RequestStats>::kMaxChunks;
  });
  if (id != kNoStatsId && id == names_.routes.size()) names_.routes.emplace_back(virtualService, route);
  return id;
}

uint32_t MetricsRegistry::upstreamId(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  uint32_t id = intern(upstreamIds_, name, names_.upstreams.size(), [this](uint32_t n) {
    for (auto& w : workers_)
      if (!w->upstreams.ensure(n)) return false;
    return n <= SlotArray<UpstreamStats>::kChunk * SlotArray<UpstreamStats>::kMaxChunks;
  });
  if (id != kNoStatsId && id == names_.upstreams.size()) names_.upstreams.push_back(name);
  return id;
}

void MetricsRegistry::setClusters(
    std::vector<std::pair<uint32_t, upstream::ClusterConstSharedPtr>> clusters) {
  std::lock_guard<std::mutex> lock(mutex_);
  clusters_ = std::move(clusters);
}

void MetricsRegistry::recordBuild(uint64_t durationUs,
                                  std::map<std::pair<std::string, std::string>, uint64_t> objects) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++controller_.builds;
  size_t i = 0;
  while (i < kLatencyBoundsUs.size() && durationUs > kLatencyBoundsUs[i]) ++i;
  ++controller_.buildBuckets[i];
  controller_.buildSumUs += durationUs;
  // Keep every (kind, state) seen so far: a state that dropped to 0 reads 0, not absent.
  for (auto& [key, n] : controller_.objects) n = 0;
  for (auto& [key, n] : objects) controller_.objects[key] = n;
}

MetricsRegistry::Names MetricsRegistry::names() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return names_;
}

ControllerStats MetricsRegistry::controllerStats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return controller_;
}

std::vector<std::pair<uint32_t, upstream::ClusterConstSharedPtr>> MetricsRegistry::clusters() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return clusters_;
}

}  // namespace portico::observability
