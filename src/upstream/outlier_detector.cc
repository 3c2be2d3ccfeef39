#include "upstream/outlier_detector.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "common/log.h"
#include "upstream/load_balancer.h"

namespace portico::upstream {

const char* toString(EjectionReason r) {
  switch (r) {
  case EjectionReason::Consecutive5xx:
    return "consecutive_5xx";
  case EjectionReason::ConsecutiveGatewayFailure:
    return "consecutive_gateway_failure";
  case EjectionReason::SuccessRate:
    return "success_rate";
  }
  return "unknown";
}

struct OutlierDetector::ClusterState {
  std::string name;
  config::OutlierDetection config;
  std::vector<HostHealthSharedPtr> hosts;
  std::unique_ptr<net::Timer> timer;
};

namespace {

int64_t intervalOf(const config::OutlierDetection& c) { return std::max<int64_t>(c.intervalMs, 1); }

/// The host's detector bookkeeping when it (re)joins a cluster's watch list: success-rate deltas
/// start from its current totals rather than from everything it ever served.
void startWatching(HostHealth& h) {
  auto& st = h.detectorState();
  st.lastRequests = h.requestsTotal();
  st.lastSuccesses = h.successesTotal();
}

}  // namespace

// ---- OutlierDetector ----------------------------------------------------------------------------

OutlierDetector::OutlierDetector(net::EventLoop& loop, uint64_t seed)
    : loop_(loop),
      rng_(seed != 0
               ? seed
               : (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}()) {}

OutlierDetector::~OutlierDetector() = default;

void OutlierDetector::update(std::vector<OutlierCluster> clusters) {
  auto shared = std::make_shared<std::vector<OutlierCluster>>(std::move(clusters));
  loop_.post([this, shared] { updateAt(std::move(*shared), monotonicMs()); });
}

void OutlierDetector::requestEjection(HostHealthSharedPtr host, EjectionReason reason) {
  // The shared_ptr keeps the host alive until the loop thread looks at it, even if the snapshot
  // that held it is released meanwhile.
  loop_.post(
      [this, host = std::move(host), reason] { requestEjectionAt(*host, reason, monotonicMs()); });
}

void OutlierDetector::updateAt(std::vector<OutlierCluster> clusters, MonoMs now) {
  std::unordered_map<std::string, std::unique_ptr<ClusterState>> next;
  for (OutlierCluster& in : clusters) {
    if (next.count(in.name)) continue;
    std::unique_ptr<ClusterState> c;
    auto old = clusters_.find(in.name);
    if (old != clusters_.end()) {
      c = std::move(old->second);
      clusters_.erase(old);
      // Hosts that left the cluster go back to service; new ones start their statistics now.
      std::unordered_set<HostHealth*> keep;
      for (const auto& h : in.hosts) keep.insert(h.get());
      std::unordered_set<HostHealth*> had;
      for (const auto& h : c->hosts) {
        had.insert(h.get());
        if (!keep.count(h.get()) && h->detectorState().ejected) h->uneject();
      }
      for (const auto& h : in.hosts)
        if (!had.count(h.get())) startWatching(*h);
      bool intervalChanged = intervalOf(c->config) != intervalOf(in.config);
      c->config = in.config;
      c->hosts = std::move(in.hosts);
      if (intervalChanged) c->timer->arm(intervalOf(c->config));
    } else {
      c = std::make_unique<ClusterState>();
      c->name = in.name;
      c->config = in.config;
      c->hosts = std::move(in.hosts);
      for (const auto& h : c->hosts) startWatching(*h);
      ClusterState* raw = c.get();
      c->timer = std::make_unique<net::Timer>(loop_, [this, raw] {
        runIntervalAt(raw->name, monotonicMs());
        raw->timer->arm(intervalOf(raw->config));
      });
      c->timer->arm(intervalOf(c->config));
    }
    next.emplace(c->name, std::move(c));
  }
  // Clusters no longer watched: nothing will return their hosts, so do it now.
  for (auto& [name, c] : clusters_)
    for (const auto& h : c->hosts)
      if (h->detectorState().ejected) h->uneject();
  clusters_ = std::move(next);
  (void)now;
}

bool OutlierDetector::requestEjectionAt(HostHealth& host, EjectionReason reason, MonoMs now) {
  auto it = clusters_.find(host.clusterName());
  if (it == clusters_.end()) return false;
  ClusterState& c = *it->second;
  bool member = std::any_of(c.hosts.begin(), c.hosts.end(),
                            [&](const HostHealthSharedPtr& h) { return h.get() == &host; });
  if (!member) return false;  // a host of an older snapshot that left the cluster
  bump(detected_[static_cast<size_t>(reason)]);
  return eject(c, host, reason, now);
}

uint32_t OutlierDetector::enforcingPercent(const config::OutlierDetection& cfg,
                                           EjectionReason r) const {
  switch (r) {
  case EjectionReason::Consecutive5xx:
    return cfg.enforcingConsecutive5xx;
  case EjectionReason::ConsecutiveGatewayFailure:
    return cfg.enforcingConsecutiveGatewayFailure;
  case EjectionReason::SuccessRate:
    return cfg.enforcingSuccessRate;
  }
  return 0;
}

bool OutlierDetector::eject(ClusterState& c, HostHealth& host, EjectionReason reason, MonoMs now) {
  auto& st = host.detectorState();
  if (st.ejected) {
    if (now < host.ejectedUntil()) return false;  // already out
    host.uneject();                               // its time is up but the sweep has not run yet
    st.lastUnejectMs = now;
  }
  uint32_t percent = std::min<uint32_t>(enforcingPercent(c.config, reason), 100);
  if (percent == 0 || rng_() % 100 >= percent) return false;

  size_t ejected = 0;
  for (const auto& h : c.hosts)
    if (h->detectorState().ejected && now < h->ejectedUntil()) ++ejected;
  const uint64_t maxPercent = std::min<uint32_t>(c.config.maxEjectionPercent, 100);
  if (ejected > 0 && (ejected + 1) * 100 > maxPercent * c.hosts.size()) {
    bump(overflow_);
    return false;
  }

  const int64_t base = std::max<int64_t>(c.config.baseEjectionTimeMs, 0);
  const int64_t cap = std::max(base, c.config.maxEjectionTimeMs);
  // The multiplier stops growing once the capped time is reached, so that it decays back in a
  // bounded number of intervals.
  const uint64_t maxMultiplier =
      base > 0 ? std::max<uint64_t>(1, static_cast<uint64_t>((cap + base - 1) / base)) : 1;
  uint32_t multiplier = static_cast<uint32_t>(
      std::min<uint64_t>(uint64_t{host.ejectionMultiplier()} + 1, maxMultiplier));
  int64_t duration = std::min<int64_t>(base * multiplier, cap);
  host.eject(now + duration, multiplier);
  bump(enforced_[static_cast<size_t>(reason)]);
  LOG_WARN("outlier detection: %s host %s ejected for %lld ms (%s, ejection %u in a row)",
           c.name.c_str(), host.key().c_str(), static_cast<long long>(duration), toString(reason),
           multiplier);
  return true;
}

void OutlierDetector::runIntervalAt(const std::string& name, MonoMs now) {
  auto it = clusters_.find(name);
  if (it == clusters_.end()) return;
  ClusterState& c = *it->second;
  const int64_t base = std::max<int64_t>(c.config.baseEjectionTimeMs, 0);
  for (const auto& hp : c.hosts) {
    HostHealth& h = *hp;
    auto& st = h.detectorState();
    if (st.ejected) {
      if (now >= h.ejectedUntil()) {
        h.uneject();
        st.lastUnejectMs = now;
        LOG_INFO("outlier detection: %s host %s returned to service", c.name.c_str(),
                 h.key().c_str());
      }
    } else if (h.ejectionMultiplier() > 0 && now - st.lastUnejectMs >= base) {
      // In service for at least a base ejection time: forgive one past ejection per interval.
      h.setEjectionMultiplier(h.ejectionMultiplier() - 1);
    }
  }
  successRate(c, now);
}

void OutlierDetector::successRate(ClusterState& c, MonoMs now) {
  struct Sample {
    HostHealth* host;
    double rate;
  };
  std::vector<Sample> samples;
  const uint64_t volume = c.config.successRateRequestVolume;
  for (const auto& hp : c.hosts) {
    HostHealth& h = *hp;
    auto& st = h.detectorState();
    // The two counters are read without a common snapshot (relaxed loads of monotonic values):
    // a response counted between the loads can show up in one and not the other, so the success
    // delta is clamped to the request delta; the next interval picks up the remainder.
    uint64_t successes = h.successesTotal();
    uint64_t requests = h.requestsTotal();
    uint64_t dReq = requests - st.lastRequests;
    uint64_t dOk = std::min(successes - st.lastSuccesses, dReq);
    st.lastRequests = requests;
    st.lastSuccesses = successes;
    if (st.ejected || dReq == 0 || dReq < volume) continue;
    samples.push_back({&h, 100.0 * static_cast<double>(dOk) / static_cast<double>(dReq)});
  }
  if (samples.empty() || samples.size() < c.config.successRateMinimumHosts) return;
  double mean = 0;
  for (const Sample& s : samples) mean += s.rate;
  mean /= static_cast<double>(samples.size());
  double variance = 0;
  for (const Sample& s : samples) variance += (s.rate - mean) * (s.rate - mean);
  variance /= static_cast<double>(samples.size());
  const double threshold =
      mean - static_cast<double>(c.config.successRateStdevFactor) / 1000.0 * std::sqrt(variance);
  for (const Sample& s : samples) {
    if (s.rate >= threshold) continue;
    bump(detected_[static_cast<size_t>(EjectionReason::SuccessRate)]);
    eject(c, *s.host, EjectionReason::SuccessRate, now);
  }
}

OutlierDetector::Stats OutlierDetector::stats() const {
  Stats s;
  for (size_t i = 0; i < kEjectionReasonCount; ++i) {
    s.detected[i] = detected_[i].load(std::memory_order_relaxed);
    s.enforced[i] = enforced_[i].load(std::memory_order_relaxed);
  }
  s.overflow = overflow_.load(std::memory_order_relaxed);
  return s;
}

OutlierCluster outlierCluster(const Cluster& cluster, const ClusterLbData& data) {
  OutlierCluster out;
  out.name = cluster.name;
  out.config = cluster.outlierDetection.value_or(config::OutlierDetection{});
  std::unordered_set<HostHealth*> seen;
  for (const auto& h : data.health)
    if (seen.insert(h.get()).second) out.hosts.push_back(h);
  return out;
}

// ---- OutlierRecorder ----------------------------------------------------------------------------

OutlierRecorder::OutlierRecorder(const ClusterLbData& data, const config::OutlierDetection& config,
                                 size_t worker, OutlierDetector* detector)
    : data_(data), config_(config), worker_(worker), detector_(detector) {}

void OutlierRecorder::recordResult(int host, int status) {
  if (host < 0 || static_cast<size_t>(host) >= data_.health.size()) return;
  const HostHealthSharedPtr& hp = data_.health[host];
  HostHealth::WorkerSlot& slot = hp->workerSlot(worker_);
  const bool local = status == 0;
  const bool serverError = local || status >= 500;
  // Owner-only counters: load + store, no locked instruction (the detector only reads them).
  slot.requests.store(slot.requests.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  if (!serverError) {
    slot.successes.store(slot.successes.load(std::memory_order_relaxed) + 1,
                         std::memory_order_relaxed);
    slot.streak5xx = 0;
    slot.streakGatewayFailure = 0;
    return;
  }
  // A streak that began before the host's last ejection is stale (another worker's streak, or
  // one from before the ejection, must not eject the host again on its first failure back).
  const uint64_t ejections = hp->totalEjections();
  if (slot.streakEpoch != ejections) {
    slot.streakEpoch = ejections;
    slot.streak5xx = 0;
    slot.streakGatewayFailure = 0;
  }
  // No request while the host is out (it still gets traffic in panic mode) or when the reason
  // is never enforced: a failing host at 10k rps must not post thousands of messages a second.
  const bool canEject = detector_ && hp->ejectedUntil() == 0;
  const bool gatewayFailure = local || status == 502 || status == 503 || status == 504;
  if (gatewayFailure) {
    if (++slot.streakGatewayFailure >= std::max<uint32_t>(config_.consecutiveGatewayFailure, 1)) {
      slot.streakGatewayFailure = 0;
      if (canEject && config_.enforcingConsecutiveGatewayFailure > 0)
        detector_->requestEjection(hp, EjectionReason::ConsecutiveGatewayFailure);
    }
  } else {
    slot.streakGatewayFailure = 0;
  }
  if (++slot.streak5xx >= std::max<uint32_t>(config_.consecutive5xx, 1)) {
    slot.streak5xx = 0;
    if (canEject && config_.enforcingConsecutive5xx > 0)
      detector_->requestEjection(hp, EjectionReason::Consecutive5xx);
  }
}

}  // namespace portico::upstream
