// MetricsRegistry: the per-worker stats blocks, the stable ids of virtual services, routes and
// upstreams (interned by name when a snapshot is built), and the controller's own counters.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "observability/stats.h"
#include "upstream/cluster.h"

namespace portico::observability {

inline constexpr uint32_t kNoStatsId = UINT32_MAX;

/// Slots addressed by a stable id, allocated in fixed chunks that never move: a worker indexes
/// (two loads, no lock, no lookup) while the controller adds chunks and the admin thread reads.
template <typename T>
class SlotArray {
public:
  static constexpr uint32_t kChunk = 64;
  static constexpr uint32_t kMaxChunks = 1024;  ///< 65,536 ids per kind
  SlotArray() = default;
  ~SlotArray() {
    for (auto& c : chunks_) delete[] c.load(std::memory_order_relaxed);
  }
  SlotArray(const SlotArray&) = delete;
  SlotArray& operator=(const SlotArray&) = delete;

  /// `id` < capacity() (the caller got it from a snapshot built after ensure()).
  T& operator[](uint32_t id) { return chunks_[id / kChunk].load(std::memory_order_acquire)[id % kChunk]; }
  /// nullptr when `id` has no slot yet (readers).
  const T* find(uint32_t id) const {
    if (id >= kChunk * kMaxChunks) return nullptr;
    const T* c = chunks_[id / kChunk].load(std::memory_order_acquire);
    return c ? &c[id % kChunk] : nullptr;
  }
  /// Makes ids [0, n) addressable; false when n is beyond the fixed capacity. One caller at a
  /// time (the registry's mutex).
  bool ensure(uint32_t n) {
    if (n > kChunk * kMaxChunks) return false;
    for (uint32_t c = 0; c * kChunk < n; ++c)
      if (!chunks_[c].load(std::memory_order_relaxed))
        chunks_[c].store(new T[kChunk], std::memory_order_release);
    return true;
  }

private:
  std::array<std::atomic<T*>, kMaxChunks> chunks_{};
};

/// Everything one worker writes. Only that worker writes; any thread reads.
struct WorkerStats {
  DownstreamStats downstream;
  SlotArray<RequestStats> virtualServices;
  SlotArray<RequestStats> routes;
  SlotArray<UpstreamStats> upstreams;
};

/// The controller's own numbers (written by the controller thread under the registry's mutex).
struct ControllerStats {
  uint64_t builds = 0;
  std::array<uint64_t, kLatencyBuckets> buildBuckets{};
  uint64_t buildSumUs = 0;
  std::map<std::pair<std::string, std::string>, uint64_t> objects;  ///< (kind, state) → count
};

class MetricsRegistry {
public:
  explicit MetricsRegistry(size_t workers = 0);
  /// Sets the worker count once, before any worker or snapshot uses the registry.
  void configure(size_t workers);
  size_t workers() const { return workers_.size(); }
  /// Worker `i`'s stats (i < workers()).
  WorkerStats& worker(size_t i) { return *workers_[i]; }
  const WorkerStats& worker(size_t i) const { return *workers_[i]; }

  // ---- controller thread (snapshot build) ----
  /// Stable ids by name; kNoStatsId when the fixed capacity is exhausted. Slots exist in every
  /// worker before the id is returned.
  uint32_t virtualServiceId(const std::string& name);
  uint32_t routeId(const std::string& virtualService, const std::string& route);
  uint32_t upstreamId(const std::string& name);
  /// The clusters in effect, for the gauges computed at scrape time (healthy hosts, ejections,
  /// breaker trips). Keeps them alive until the next call.
  void setClusters(std::vector<std::pair<uint32_t, upstream::ClusterConstSharedPtr>> clusters);
  /// One snapshot build finished in `durationUs`; `objects`: (kind, state) → count.
  void recordBuild(uint64_t durationUs, std::map<std::pair<std::string, std::string>, uint64_t> objects);

  // ---- any thread (admin scrape) ----
  struct Names {
    std::vector<std::string> virtualServices;
    std::vector<std::pair<std::string, std::string>> routes;  ///< (virtual service, route)
    std::vector<std::string> upstreams;
  };
  Names names() const;
  ControllerStats controllerStats() const;
  std::vector<std::pair<uint32_t, upstream::ClusterConstSharedPtr>> clusters() const;

private:
  uint32_t intern(std::unordered_map<std::string, uint32_t>& ids, const std::string& key,
                  size_t count, const std::function<bool(uint32_t)>& ensure);

  std::vector<std::unique_ptr<WorkerStats>> workers_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, uint32_t> vsIds_, routeIds_, upstreamIds_;
  Names names_;
  ControllerStats controller_;
  std::vector<std::pair<uint32_t, upstream::ClusterConstSharedPtr>> clusters_;
};

}  // namespace portico::observability
