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
    auto n = [this](StatsKind k) { return static_cast<uint32_t>(tables_[static_cast<size_t>(k)].keys.size()); };
    w->virtualServices.ensure(n(StatsKind::VirtualService));
    w->routes.ensure(n(StatsKind::Route));
    w->upstreams.ensure(n(StatsKind::Upstream));
    workers_.push_back(std::move(w));
  }
}

bool MetricsRegistry::ensureSlots(StatsKind kind, uint32_t n) {
  for (auto& w : workers_) {
    bool ok = kind == StatsKind::VirtualService ? w->virtualServices.ensure(n)
              : kind == StatsKind::Route        ? w->routes.ensure(n)
                                                : w->upstreams.ensure(n);
    if (!ok) return false;
  }
  // Without workers nothing is allocated, but the capacity is the same.
  return n <= SlotArray<RequestStats>::kChunk * SlotArray<RequestStats>::kMaxChunks;
}

void MetricsRegistry::resetSlots(StatsKind kind, uint32_t id) {
  for (auto& w : workers_) {
    if (kind == StatsKind::VirtualService) w->virtualServices[id].reset();
    else if (kind == StatsKind::Route) w->routes[id].reset();
    else w->upstreams[id].reset();
  }
}

bool MetricsRegistry::upstreamConnectionsClosed(uint32_t id) const {
  // A connection counts its close last; opened stops growing once no snapshot holds the id.
  uint64_t opened = 0, closed = 0;
  for (const auto& w : workers_) {
    const UpstreamStats* s = w->upstreams.find(id);
    if (!s) continue;
    closed += s->connectionsClosed.value();
    opened += s->connectionsOpened.value();
  }
  return closed >= opened;
}

uint32_t MetricsRegistry::acquire(StatsKind kind, std::string key) {
  IdTable& t = tables_[static_cast<size_t>(kind)];
  if (key.empty()) return kNoStatsId;  // "" marks a free id (names are never empty)
  if (auto it = t.byKey.find(key); it != t.byKey.end()) {
    uint32_t id = it->second;
    ++t.refs[id];
    t.retiredAt[id] = kInUse;  // back before it was freed: its values carry on
    return id;
  }
  uint32_t id;
  if (!t.freeIds.empty()) {
    id = t.freeIds.back();
    t.freeIds.pop_back();
    resetSlots(kind, id);
  } else {
    id = static_cast<uint32_t>(t.keys.size());
    if (!ensureSlots(kind, id + 1)) return kNoStatsId;
    t.keys.emplace_back();
    t.refs.push_back(0);
    t.generations.push_back(0);
    t.retiredAt.push_back(kInUse);
  }
  t.byKey.emplace(key, id);
  t.keys[id] = std::move(key);
  t.refs[id] = 1;
  ++t.generations[id];
  t.retiredAt[id] = kInUse;
  return id;
}

uint32_t MetricsRegistry::virtualServiceId(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  return acquire(StatsKind::VirtualService, name);
}

uint32_t MetricsRegistry::routeId(const std::string& virtualService, const std::string& route) {
  std::lock_guard<std::mutex> lock(mutex_);
  return acquire(StatsKind::Route, virtualService + '\n' + route);
}

uint32_t MetricsRegistry::upstreamId(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  return acquire(StatsKind::Upstream, name);
}

void MetricsRegistry::release(StatsKind kind, uint32_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  IdTable& t = tables_[static_cast<size_t>(kind)];
  if (id >= t.refs.size() || t.refs[id] == 0) return;
  if (--t.refs[id] == 0) t.retiredAt[id] = clock_();
}

void MetricsRegistry::forgetRetired() {
  std::lock_guard<std::mutex> lock(mutex_);
  const MonoMs now = clock_();
  for (size_t k = 0; k < kStatsKinds; ++k) {
    IdTable& t = tables_[k];
    for (uint32_t id = 0; id < t.keys.size(); ++id) {
      if (t.retiredAt[id] == kInUse || t.keys[id].empty() || now - t.retiredAt[id] < kRetiredGraceMs)
        continue;
      if (static_cast<StatsKind>(k) == StatsKind::Upstream && !upstreamConnectionsClosed(id)) continue;
      t.byKey.erase(t.keys[id]);
      t.keys[id].clear();
      t.keys[id].shrink_to_fit();
      t.retiredAt[id] = kInUse;
      t.freeIds.push_back(id);
    }
  }
}

size_t MetricsRegistry::idCapacity(StatsKind kind) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return tables_[static_cast<size_t>(kind)].keys.size();
}

size_t MetricsRegistry::namedIds(StatsKind kind) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return tables_[static_cast<size_t>(kind)].byKey.size();
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
  Names out;
  out.virtualServices = tables_[static_cast<size_t>(StatsKind::VirtualService)].keys;
  out.upstreams = tables_[static_cast<size_t>(StatsKind::Upstream)].keys;
  const auto& routeKeys = tables_[static_cast<size_t>(StatsKind::Route)].keys;
  out.routes.reserve(routeKeys.size());
  for (const std::string& key : routeKeys) {
    size_t nl = key.find('\n');  // "<virtual service>\n<route>"; a free id is ""
    if (nl == std::string::npos) out.routes.emplace_back();
    else out.routes.emplace_back(key.substr(0, nl), key.substr(nl + 1));
  }
  for (size_t k = 0; k < kStatsKinds; ++k) out.generations[k] = tables_[k].generations;
  return out;
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
