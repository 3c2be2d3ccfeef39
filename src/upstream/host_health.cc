#include "upstream/host_health.h"

#include <algorithm>

namespace portico::upstream {

// ---- HostHealth ---------------------------------------------------------------------------------

HostHealth::HostHealth(std::shared_ptr<ClusterHealth> cluster, std::string key, size_t workers)
    : cluster_(std::move(cluster)),
      key_(std::move(key)),
      workers_(std::max<size_t>(workers, 1)),
      slots_(new WorkerSlot[workers_]) {}

bool HostHealth::setCheckVerdict(uint32_t checkIndex, bool healthy) {
  const uint32_t bit = 1u << (checkIndex & 31);
  uint32_t before = hcFailMask_.load(std::memory_order_relaxed);
  uint32_t after = healthy ? (before & ~bit) : (before | bit);
  if (after == before) return false;
  // Only the checker thread writes the mask, so load + store cannot lose an update.
  hcFailMask_.store(after, std::memory_order_relaxed);
  if ((before == 0) == (after == 0)) return false;  // another check still decides
  cluster_->bump();
  return true;
}

void HostHealth::recordCheck(bool success, uint32_t consecutiveFailures,
                             std::string_view failureReason) {
  hcChecks_.store(hcChecks_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  hcConsecutiveFailures_.store(consecutiveFailures, std::memory_order_relaxed);
  if (!success) {
    hcFailures_.store(hcFailures_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(reasonMutex_);
    lastHcFailure_.assign(failureReason);
  }
}

void HostHealth::eject(MonoMs until, uint32_t multiplier) {
  multiplier_.store(multiplier, std::memory_order_relaxed);
  totalEjections_.store(totalEjections_.load(std::memory_order_relaxed) + 1,
                        std::memory_order_relaxed);
  ejectedUntil_.store(until, std::memory_order_relaxed);
  detector_.ejected = true;
  cluster_->bump();
}

void HostHealth::uneject() {
  detector_.ejected = false;
  ejectedUntil_.store(0, std::memory_order_relaxed);
  cluster_->bump();
}

uint64_t HostHealth::requestsTotal() const {
  uint64_t sum = 0;
  for (size_t i = 0; i < workers_; ++i) sum += slots_[i].requests.load(std::memory_order_relaxed);
  return sum;
}

uint64_t HostHealth::successesTotal() const {
  uint64_t sum = 0;
  for (size_t i = 0; i < workers_; ++i) sum += slots_[i].successes.load(std::memory_order_relaxed);
  return sum;
}

HostHealth::Counters HostHealth::counters() const {
  Counters c;
  c.healthCheckHealthy = healthCheckHealthy();
  c.ejectedUntil = ejectedUntil();
  c.ejectionMultiplier = ejectionMultiplier();
  c.totalEjections = totalEjections();
  c.hcConsecutiveFailures = hcConsecutiveFailures_.load(std::memory_order_relaxed);
  c.hcChecks = hcChecks_.load(std::memory_order_relaxed);
  c.hcFailures = hcFailures_.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(reasonMutex_);
  c.lastHcFailure = lastHcFailure_;
  return c;
}

// ---- HostHealthRegistry -------------------------------------------------------------------------

HostHealthRegistry::HostHealthRegistry(size_t workers) : workers_(std::max<size_t>(workers, 1)) {}

std::shared_ptr<ClusterHealth> HostHealthRegistry::clusterLocked(const std::string& name) {
  auto& slot = clusters_[name];
  std::shared_ptr<ClusterHealth> c = slot.lock();
  if (!c) {
    c = std::make_shared<ClusterHealth>(name);
    slot = c;
  }
  return c;
}

std::shared_ptr<ClusterHealth> HostHealthRegistry::cluster(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  return clusterLocked(name);
}

HostHealthSharedPtr HostHealthRegistry::attach(const std::string& cluster,
                                               const std::string& hostKey) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string id;
  id.reserve(cluster.size() + 1 + hostKey.size());
  id.append(cluster).append(1, '\n').append(hostKey);
  auto& slot = hosts_[id];
  HostHealthSharedPtr h = slot.lock();
  if (!h) {
    h = std::make_shared<HostHealth>(clusterLocked(cluster), hostKey, workers_);
    slot = h;
  }
  // Expired entries (removed hosts) are swept whenever the map doubled since the last sweep, so
  // the cost is amortized O(1) per attach and the map stays within 2× the live hosts.
  if (hosts_.size() + clusters_.size() >= sweepAt_) {
    sweepLocked();
    sweepAt_ = std::max<size_t>(64, 2 * (hosts_.size() + clusters_.size()));
  }
  return h;
}

void HostHealthRegistry::sweepLocked() {
  std::erase_if(hosts_, [](const auto& kv) { return kv.second.expired(); });
  std::erase_if(clusters_, [](const auto& kv) { return kv.second.expired(); });
}

void HostHealthRegistry::sweep() {
  std::lock_guard<std::mutex> lock(mutex_);
  sweepLocked();
}

size_t HostHealthRegistry::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t n = 0;
  for (const auto& kv : hosts_) n += kv.second.expired() ? 0 : 1;
  return n;
}

void HostHealthRegistry::forEach(const std::function<void(const HostHealth&)>& fn) const {
  std::vector<HostHealthSharedPtr> live;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    live.reserve(hosts_.size());
    for (const auto& kv : hosts_)
      if (auto h = kv.second.lock()) live.push_back(std::move(h));
  }
  // Outside the lock: `fn` may take its time (formatting JSON) without blocking reloads.
  for (const auto& h : live) fn(*h);
}

}  // namespace portico::upstream
