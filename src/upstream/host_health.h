// HostHealth: one upstream host's health (active-check verdict, outlier ejection, counters) shared
// by every worker and the health-check/outlier thread; HostHealthRegistry keeps it across reloads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"

namespace portico::upstream {

/// What the hosts of one cluster share: a health epoch that moves whenever any host's
/// availability changed, so a worker recomputes its available-host set only then (one acquire
/// load per pick instead of one load per host).
class ClusterHealth {
public:
  explicit ClusterHealth(std::string name) : name_(std::move(name)) {}
  const std::string& name() const { return name_; }

  /// Any thread, after the change was stored: publishes it to the workers (release).
  void bump() { epoch_.fetch_add(1, std::memory_order_release); }
  /// Any thread (workers, per pick): acquire load; host states read after it are at least as
  /// new as the change that moved it.
  uint64_t epoch() const { return epoch_.load(std::memory_order_acquire); }

private:
  std::string name_;
  alignas(64) std::atomic<uint64_t> epoch_{0};
};

/// Health of one host. Thread rules:
///  * workers: only relaxed loads (available(), ejectedUntil()), plus their own WorkerSlot;
///  * health-checker thread: setCheckVerdict(), recordCheck();
///  * outlier-detector thread (the same thread): eject(), uneject(), detectorState();
///  * admin: counters(), any thread.
/// A host starts healthy and not ejected, so that a restart or a reload does not answer 503
/// before the first checks ran; active checks must fail `unhealthyThreshold` times to remove it.
class HostHealth {
public:
  HostHealth(std::shared_ptr<ClusterHealth> cluster, std::string key, size_t workers);
  HostHealth(const HostHealth&) = delete;
  HostHealth& operator=(const HostHealth&) = delete;

  const std::string& key() const { return key_; }
  const std::string& clusterName() const { return cluster_->name(); }
  ClusterHealth& cluster() const { return *cluster_; }

  // ---- workers (hot path: relaxed loads only) ----

  /// True when no active health check fails and the host is not ejected at `now` (monotonic ms).
  bool available(MonoMs now) const {
    return hcFailMask_.load(std::memory_order_relaxed) == 0 &&
           now >= ejectedUntil_.load(std::memory_order_relaxed);
  }
  bool healthCheckHealthy() const { return hcFailMask_.load(std::memory_order_relaxed) == 0; }
  /// Monotonic ms until which the host is ejected; 0 (or the past) when it is not.
  MonoMs ejectedUntil() const { return ejectedUntil_.load(std::memory_order_relaxed); }
  bool ejected(MonoMs now) const { return now < ejectedUntil(); }

  /// Per-worker outlier counters. Each worker writes only its own slot (plain fields, and
  /// relaxed load+store on the atomics — never a read-modify-write shared between threads);
  /// the detector thread reads `requests`/`successes`. Cache-line sized so workers never share
  /// a line.
  struct alignas(64) WorkerSlot {
    std::atomic<uint64_t> requests{0};   ///< monotonic; owner: load + store
    std::atomic<uint64_t> successes{0};  ///< monotonic; owner: load + store
    uint32_t streak5xx = 0;              ///< owner only
    uint32_t streakGatewayFailure = 0;   ///< owner only
    uint64_t streakEpoch = 0;            ///< owner only: totalEjections when the streaks began
  };
  /// `worker` < workers(). Only worker `worker` may write the slot.
  WorkerSlot& workerSlot(size_t worker) { return slots_[worker]; }
  const WorkerSlot& workerSlot(size_t worker) const { return slots_[worker]; }
  size_t workers() const { return workers_; }

  // ---- health-checker thread ----

  /// Stores active check `checkIndex`'s verdict (0 ≤ checkIndex < 32; a host with several
  /// checks is unhealthy while any of them says so). Bumps the cluster epoch and returns true
  /// when the host's combined verdict changed.
  bool setCheckVerdict(uint32_t checkIndex, bool healthy);
  /// The last verdict stored for check `checkIndex` (true = passing or never failed).
  bool checkVerdict(uint32_t checkIndex) const {
    return (hcFailMask_.load(std::memory_order_relaxed) & (1u << (checkIndex & 31))) == 0;
  }
  /// Admin counters of one finished check: `consecutiveFailures` as the checker counts them,
  /// `failureReason` empty on success.
  void recordCheck(bool success, uint32_t consecutiveFailures, std::string_view failureReason);

  // ---- outlier-detector thread ----

  /// Ejects the host until `until` (monotonic ms); `multiplier` is how many times in a row it
  /// was ejected (the ejection time factor). Bumps the cluster epoch.
  void eject(MonoMs until, uint32_t multiplier);
  /// Returns the host to service now (the ejection time is up or detection was removed).
  void uneject();
  /// Bookkeeping only the detector thread reads or writes.
  struct DetectorState {
    bool ejected = false;
    MonoMs lastUnejectMs = 0;   ///< when the last ejection ended (0 = never ejected)
    uint64_t lastRequests = 0;  ///< totals seen at the previous interval
    uint64_t lastSuccesses = 0;
  };
  DetectorState& detectorState() { return detector_; }
  /// The ejection time factor (times ejected in a row, decays while the host behaves).
  uint32_t ejectionMultiplier() const { return multiplier_.load(std::memory_order_relaxed); }
  void setEjectionMultiplier(uint32_t m) { multiplier_.store(m, std::memory_order_relaxed); }
  /// Sums of the workers' slots (any thread; a consistent-enough view for statistics).
  uint64_t requestsTotal() const;
  uint64_t successesTotal() const;

  // ---- admin (any thread) ----

  struct Counters {
    bool healthCheckHealthy = true;
    MonoMs ejectedUntil = 0;
    uint32_t ejectionMultiplier = 0;  ///< the "ejection count" that scales the ejection time
    uint64_t totalEjections = 0;
    uint32_t hcConsecutiveFailures = 0;
    uint64_t hcChecks = 0;
    uint64_t hcFailures = 0;
    std::string lastHcFailure;  ///< "connect: Connection refused", "status 503", "timeout", ...
  };
  Counters counters() const;
  uint64_t totalEjections() const { return totalEjections_.load(std::memory_order_relaxed); }

private:
  std::shared_ptr<ClusterHealth> cluster_;
  std::string key_;
  // Read by workers; written rarely (checker thread).
  std::atomic<uint32_t> hcFailMask_{0};
  std::atomic<MonoMs> ejectedUntil_{0};
  std::atomic<uint64_t> totalEjections_{0};
  std::atomic<uint32_t> multiplier_{0};
  // Checker-thread writes, admin reads.
  std::atomic<uint32_t> hcConsecutiveFailures_{0};
  std::atomic<uint64_t> hcChecks_{0};
  std::atomic<uint64_t> hcFailures_{0};
  mutable std::mutex reasonMutex_;  // guards lastHcFailure_ (checker writes, admin reads)
  std::string lastHcFailure_;
  DetectorState detector_;
  size_t workers_;
  std::unique_ptr<WorkerSlot[]> slots_;
};

using HostHealthSharedPtr = std::shared_ptr<HostHealth>;

/// Keeps HostHealth objects alive across config reloads: a snapshot rebuild attaches the same
/// object for the same (cluster name, host key), so verdicts, ejections and counters survive.
/// Holds them weakly: the state of a host is dropped once no snapshot (ClusterLbData) and no
/// health-check target references it any more, i.e. once the host was removed and the last
/// snapshot that had it is gone. Every method is thread-safe (one mutex; never on the request
/// path: the controller calls attach() while building a snapshot).
class HostHealthRegistry {
public:
  /// `workers`: number of worker threads (the size of each host's WorkerSlot array), ≥ 1.
  explicit HostHealthRegistry(size_t workers);

  /// The shared state of `hostKey` in cluster `cluster`, created healthy when none is alive.
  HostHealthSharedPtr attach(const std::string& cluster, const std::string& hostKey);
  /// The per-cluster shared state (the health epoch), created when none is alive.
  std::shared_ptr<ClusterHealth> cluster(const std::string& name);
  /// Visits every live host state (admin API). Runs `fn` outside the registry's lock.
  void forEach(const std::function<void(const HostHealth&)>& fn) const;
  /// Live entries (expired ones are swept as the registry grows, or by sweep()).
  size_t size() const;
  void sweep();
  size_t workers() const { return workers_; }

private:
  std::shared_ptr<ClusterHealth> clusterLocked(const std::string& name);
  void sweepLocked();

  const size_t workers_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::weak_ptr<ClusterHealth>> clusters_;
  std::unordered_map<std::string, std::weak_ptr<HostHealth>> hosts_;  // "cluster\nkey"
  size_t sweepAt_ = 64;
};

}  // namespace portico::upstream
