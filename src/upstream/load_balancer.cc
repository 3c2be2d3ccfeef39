#include "upstream/load_balancer.h"

#include <algorithm>
#include <limits>

#include "upstream/hash.h"

namespace portico::upstream {

// ---- ClusterLbData ------------------------------------------------------------------------------

std::shared_ptr<const ClusterLbData> buildClusterLbData(const Cluster& cluster,
                                                        HostHealthRegistry& registry,
                                                        const ClusterLbData* previous) {
  auto d = std::make_shared<ClusterLbData>();
  d->config = cluster.loadBalancer;
  d->clusterHealth = registry.cluster(cluster.name);
  d->health.reserve(cluster.hosts.size());
  d->weights.reserve(cluster.hosts.size());
  for (const Host& h : cluster.hosts) {
    d->health.push_back(registry.attach(cluster.name, h.key));
    d->weights.push_back(std::max<uint32_t>(h.weight, 1));
  }
  const auto& lb = cluster.loadBalancer;
  switch (lb.policy) {
  case config::LoadBalancerConfig::Policy::RingHash:
    if (previous && previous->ring &&
        previous->ring->builtFrom(cluster.hosts, lb.minimumRingSize, lb.maximumRingSize))
      d->ring = previous->ring;
    else
      d->ring = RingHashTable::build(cluster.hosts, lb.minimumRingSize, lb.maximumRingSize);
    break;
  case config::LoadBalancerConfig::Policy::Maglev:
    if (previous && previous->maglev && previous->maglev->builtFrom(cluster.hosts))
      d->maglev = previous->maglev;
    else
      d->maglev = MaglevTable::build(cluster.hosts);
    break;
  default:
    break;
  }
  return d;
}

namespace {

// ---- HostSet: a worker's view of the pickable hosts ---------------------------------------------

/// Which hosts a balancer may pick right now: the available ones, or all of them in panic mode.
/// Recomputed (O(hosts)) only when the cluster's health epoch moved or an ejection ran out;
/// otherwise a refresh is one acquire load and one compare.
class HostSet {
public:
  explicit HostSet(const ClusterLbData& data) : data_(data), usable_(data.health.size(), 0) {}

  /// False when there is nothing to pick from.
  bool refresh(MonoMs now) {
    uint64_t epoch = data_.clusterHealth ? data_.clusterHealth->epoch() : 0;
    if (epoch != epoch_ || now >= validUntil_) [[unlikely]]
      rebuild(epoch, now);
    return !active_.empty();
  }

  const std::vector<uint32_t>& active() const { return active_; }
  bool usable(uint32_t host) const { return usable_[host] != 0; }
  bool panic() const { return panic_; }
  bool equalWeights() const { return equalWeights_; }

  /// An active host drawn with probability weight / Σweight of the active hosts.
  uint32_t pickWeighted(uint64_t r) const {
    if (equalWeights_) return active_[r % active_.size()];
    // The first prefix sum > x, i.e. ≥ x + 1.
    uint64_t x = r % totalWeight_;
    return active_[lowerBound(cumulative_.data(), cumulative_.size(), x + 1)];
  }

private:
  void rebuild(uint64_t epoch, MonoMs now) {
    epoch_ = epoch;
    validUntil_ = std::numeric_limits<MonoMs>::max();
    active_.clear();
    const size_t n = data_.health.size();
    for (size_t i = 0; i < n; ++i) {
      const HostHealth& h = *data_.health[i];
      MonoMs until = h.ejectedUntil();
      bool ok = h.healthCheckHealthy() && now >= until;
      if (until > now) validUntil_ = std::min(validUntil_, until);  // re-check when it runs out
      usable_[i] = ok ? 1 : 0;
      if (ok) active_.push_back(static_cast<uint32_t>(i));
    }
    const double threshold = data_.config.healthyPanicThreshold;
    panic_ = n > 0 && threshold > 0 &&
             100.0 * static_cast<double>(active_.size()) < threshold * static_cast<double>(n);
    if (panic_) {
      active_.clear();
      for (size_t i = 0; i < n; ++i) {
        active_.push_back(static_cast<uint32_t>(i));
        usable_[i] = 1;
      }
    }
    cumulative_.clear();
    totalWeight_ = 0;
    equalWeights_ = true;
    for (uint32_t i : active_) {
      uint32_t w = data_.weights[i];
      if (w != data_.weights[active_[0]]) equalWeights_ = false;
      totalWeight_ += w;
      cumulative_.push_back(totalWeight_);
    }
  }

  const ClusterLbData& data_;
  uint64_t epoch_ = std::numeric_limits<uint64_t>::max();
  MonoMs validUntil_ = std::numeric_limits<MonoMs>::min();  // forces the first rebuild
  std::vector<uint32_t> active_;
  std::vector<uint8_t> usable_;       // [host]
  std::vector<uint64_t> cumulative_;  // prefix sums of active_ weights
  uint64_t totalWeight_ = 0;
  bool panic_ = false;
  bool equalWeights_ = true;
};

// ---- RoundRobin ---------------------------------------------------------------------------------

/// nginx's smooth weighted round robin: each pick adds every active host's weight to its
/// current weight, takes the largest, and subtracts the total from it. Weights {5,1,1} give
/// a a b a c a a — spread out, not a a a a a b c. Equal weights take the O(1) path (plain
/// rotation, which is what smooth WRR degenerates to), starting at a random host per worker so
/// that workers do not all hit host 0 first.
class RoundRobinBalancer final : public LoadBalancer {
public:
  explicit RoundRobinBalancer(const ClusterLbData& data)
      : data_(data), set_(data), current_(data.health.size(), 0) {}

  int pick(const PickContext& ctx) override {
    if (!set_.refresh(ctx.now)) return -1;
    const auto& active = set_.active();
    if (set_.equalWeights()) {
      if (!started_) {
        cursor_ = ctx.random;
        started_ = true;
      }
      return static_cast<int>(active[cursor_++ % active.size()]);
    }
    int64_t total = 0;
    uint32_t best = active[0];
    for (uint32_t i : active) {
      current_[i] += data_.weights[i];
      total += data_.weights[i];
      if (current_[i] > current_[best]) best = i;
    }
    current_[best] -= total;
    return static_cast<int>(best);
  }

private:
  const ClusterLbData& data_;
  HostSet set_;
  std::vector<int64_t> current_;  // [host] smooth WRR current weights
  uint64_t cursor_ = 0;
  bool started_ = false;
};

// ---- LeastRequest -------------------------------------------------------------------------------

/// Power of `choiceCount` choices: draws that many hosts (by weight) and takes the one with the
/// fewest requests in flight on this worker. Counting per worker keeps the pick free of shared
/// atomics; with N workers each sees 1/N of the load, which P2C tolerates well (it only needs a
/// rough ordering). Drawing candidates by weight makes idle hosts receive traffic in proportion
/// to their weight, and busy heavy hosts still win more draws than light ones.
class LeastRequestBalancer final : public LoadBalancer {
public:
  explicit LeastRequestBalancer(const ClusterLbData& data)
      : set_(data),
        inFlight_(data.health.size(), 0),
        choices_(std::clamp<uint32_t>(data.config.choiceCount, 1, 32)) {}

  int pick(const PickContext& ctx) override {
    if (!set_.refresh(ctx.now)) return -1;
    const auto& active = set_.active();
    if (active.size() == 1) return static_cast<int>(active[0]);
    uint32_t best = set_.pickWeighted(mix64(ctx.random));
    for (uint32_t k = 1; k < choices_; ++k) {
      uint32_t c = set_.pickWeighted(mix64(ctx.random + k * 0x9E3779B97F4A7C15ULL));
      if (inFlight_[c] < inFlight_[best]) best = c;
    }
    return static_cast<int>(best);
  }

  void onRequestStart(int host) override {
    if (host >= 0 && static_cast<size_t>(host) < inFlight_.size()) ++inFlight_[host];
  }
  void onRequestEnd(int host) override {
    if (host >= 0 && static_cast<size_t>(host) < inFlight_.size() && inFlight_[host] > 0)
      --inFlight_[host];
  }

private:
  HostSet set_;
  std::vector<uint32_t> inFlight_;  // [host], this worker's requests in flight
  uint32_t choices_;
};

// ---- Random -------------------------------------------------------------------------------------

class RandomBalancer final : public LoadBalancer {
public:
  explicit RandomBalancer(const ClusterLbData& data) : set_(data) {}

  int pick(const PickContext& ctx) override {
    if (!set_.refresh(ctx.now)) return -1;
    return static_cast<int>(set_.pickWeighted(ctx.random));
  }

private:
  HostSet set_;
};

// ---- RingHash / Maglev --------------------------------------------------------------------------

/// Looks the request hash up in the shared ring; when the host there is not usable, walks forward
/// to the next point whose host is, so that keys of healthy hosts never move.
class RingHashBalancer final : public LoadBalancer {
public:
  explicit RingHashBalancer(const ClusterLbData& data) : set_(data), ring_(data.ring.get()) {}

  int pick(const PickContext& ctx) override {
    if (!ring_ || ring_->size() == 0 || !set_.refresh(ctx.now)) return -1;
    const size_t n = ring_->size();
    size_t i = ring_->find(ctx.hash ? *ctx.hash : ctx.random);
    for (size_t left = n; left > 0; --left) {
      uint32_t host = ring_->hostAt(i);
      if (set_.usable(host)) return static_cast<int>(host);
      if (++i == n) i = 0;
    }
    return -1;
  }

private:
  HostSet set_;
  const RingHashTable* ring_;
};

class MaglevBalancer final : public LoadBalancer {
public:
  explicit MaglevBalancer(const ClusterLbData& data) : set_(data), table_(data.maglev.get()) {}

  int pick(const PickContext& ctx) override {
    if (!table_ || table_->size() == 0 || !set_.refresh(ctx.now)) return -1;
    const size_t n = table_->size();
    size_t slot = table_->slotOf(ctx.hash ? *ctx.hash : ctx.random);
    for (size_t left = n; left > 0; --left) {
      uint32_t host = table_->hostAt(slot);
      if (set_.usable(host)) return static_cast<int>(host);
      if (++slot == n) slot = 0;
    }
    return -1;
  }

private:
  HostSet set_;
  const MaglevTable* table_;
};

}  // namespace

std::unique_ptr<LoadBalancer> createLoadBalancer(const Cluster& cluster,
                                                 const ClusterLbData& data) {
  (void)cluster;  // `data` was built from it and carries everything a pick needs
  using Policy = config::LoadBalancerConfig::Policy;
  switch (data.config.policy) {
  case Policy::RoundRobin:
    return std::make_unique<RoundRobinBalancer>(data);
  case Policy::LeastRequest:
    return std::make_unique<LeastRequestBalancer>(data);
  case Policy::Random:
    return std::make_unique<RandomBalancer>(data);
  case Policy::RingHash:
    return std::make_unique<RingHashBalancer>(data);
  case Policy::Maglev:
    return std::make_unique<MaglevBalancer>(data);
  }
  return std::make_unique<RoundRobinBalancer>(data);
}

}  // namespace portico::upstream
