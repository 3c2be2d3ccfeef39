// MetricsRegistry: the per-worker stats blocks, the ids of virtual services, routes and upstreams
// (interned by name when a snapshot is built, freed after they left), the controller's counters.
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

#include "common/clock.h"
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

/// The three kinds of named stats (one id space each).
enum class StatsKind : size_t { VirtualService = 0, Route, Upstream };
inline constexpr size_t kStatsKinds = 3;

/// Ids are reference-counted by the snapshots that use them, so that config churn (names that
/// come and go every build) leaves the registry at a bounded size: an id no snapshot holds any
/// more is retired, stays visible to scrapes with its final values for kRetiredGraceMs, and is
/// then freed and handed to the next new name with its slots zeroed.
class MetricsRegistry {
public:
  /// How long the stats of a virtual service, route or upstream that left the config stay
  /// scrapable (its last increments reach a scraper polling at least this often).
  static constexpr MonoMs kRetiredGraceMs = 60000;

  explicit MetricsRegistry(size_t workers = 0);
  /// Sets the worker count once, before any worker or snapshot uses the registry.
  void configure(size_t workers);
  size_t workers() const { return workers_.size(); }
  /// Worker `i`'s stats (i < workers()).
  WorkerStats& worker(size_t i) { return *workers_[i]; }
  const WorkerStats& worker(size_t i) const { return *workers_[i]; }

  // ---- controller thread (snapshot build) ----
  /// Stable ids by name; kNoStatsId when the fixed capacity is exhausted. Slots exist in every
  /// worker before the id is returned. Each call takes one reference on the id, given back with
  /// release(); a retired id whose name comes back is revived with its values.
  uint32_t virtualServiceId(const std::string& name);
  uint32_t routeId(const std::string& virtualService, const std::string& route);
  uint32_t upstreamId(const std::string& name);
  /// Frees the ids retired for kRetiredGraceMs or longer (an upstream's only once none of its
  /// pooled connections is open: they keep writing to its slot). Called once per build.
  void forgetRetired();
  /// The clusters in effect, for the gauges computed at scrape time (healthy hosts, ejections,
  /// breaker trips). Keeps them alive until the next call.
  void setClusters(std::vector<std::pair<uint32_t, upstream::ClusterConstSharedPtr>> clusters);
  /// One snapshot build finished in `durationUs`; `objects`: (kind, state) → count.
  void recordBuild(uint64_t durationUs, std::map<std::pair<std::string, std::string>, uint64_t> objects);

  // ---- any thread ----
  /// Gives back one reference taken by an *Id() call (kNoStatsId is ignored). The last one
  /// retires the id: no request can write its slots any more.
  void release(StatsKind kind, uint32_t id);
  struct Names {
    /// [id] → name; an empty name is a free id (nothing to report).
    std::vector<std::string> virtualServices;
    std::vector<std::pair<std::string, std::string>> routes;  ///< (virtual service, route)
    std::vector<std::string> upstreams;
    /// [kind][id]: bumped each time the id goes to another name (deltas across a change of
    /// generation are meaningless).
    std::array<std::vector<uint32_t>, kStatsKinds> generations;
  };
  Names names() const;
  ControllerStats controllerStats() const;
  std::vector<std::pair<uint32_t, upstream::ClusterConstSharedPtr>> clusters() const;
  /// Ids of `kind` that have slots (in use, retired or free): what the registry's memory grows
  /// with.
  size_t idCapacity(StatsKind kind) const;
  /// Names of `kind` known now (in use or retired).
  size_t namedIds(StatsKind kind) const;
  void setClockForTest(std::function<MonoMs()> clock) { clock_ = std::move(clock); }

private:
  /// One id space: names by key and per-id bookkeeping, all indexed by id.
  struct IdTable {
    std::unordered_map<std::string, uint32_t> byKey;
    std::vector<std::string> keys;  ///< empty: free
    std::vector<uint32_t> refs;
    std::vector<uint32_t> generations;
    std::vector<MonoMs> retiredAt;  ///< kInUse unless refs == 0
    std::vector<uint32_t> freeIds;
  };
  static constexpr MonoMs kInUse = -1;

  uint32_t acquire(StatsKind kind, std::string key);
  /// Every worker's slot `id` of `kind` exists (false: beyond the fixed capacity) / is zeroed.
  bool ensureSlots(StatsKind kind, uint32_t n);
  void resetSlots(StatsKind kind, uint32_t id);
  /// No pooled upstream connection counted on upstream `id` is still open.
  bool upstreamConnectionsClosed(uint32_t id) const;

  std::vector<std::unique_ptr<WorkerStats>> workers_;
  mutable std::mutex mutex_;
  std::array<IdTable, kStatsKinds> tables_;
  std::function<MonoMs()> clock_ = monotonicMs;
  ControllerStats controller_;
  std::vector<std::pair<uint32_t, upstream::ClusterConstSharedPtr>> clusters_;
};

}  // namespace portico::observability
