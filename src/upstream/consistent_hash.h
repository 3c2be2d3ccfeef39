// RingHashTable and MaglevTable: the immutable lookup structures of the hash-based balancers,
// built once per cluster (controller thread) and shared read-only by every worker.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "upstream/cluster.h"

namespace portico::upstream {

/// Index of the first of the `n` sorted values at `a` that is ≥ `x` (n when none): the same
/// answer as std::lower_bound, without data-dependent branches (the comparison feeds a
/// conditional move), which is ~2× faster on random keys because nothing is mispredicted.
inline size_t lowerBound(const uint64_t* a, size_t n, uint64_t x) {
  if (n == 0) return 0;
  const uint64_t* base = a;
  while (n > 1) {
    size_t half = n / 2;
    base = base[half] < x ? base + half : base;
    n -= half;
  }
  return static_cast<size_t>(base - a) + (*base < x ? 1 : 0);
}

/// A ketama-style consistent-hash ring: each host owns `weight × R` points at
/// hashBytes("<host key>_<i>"); a request hash belongs to the first point at or after it
/// (wrapping). R is 160 points per unit of (gcd-normalized) weight, raised so that the ring
/// has at least `minSize` points and lowered so that it has at most `maxSize` (each host keeps
/// ≥ 1 point). With a fixed R, removing a host moves only the keys it owned; a cluster small
/// enough for `minSize` to raise R (fewer than minSize/160 weight units) re-spreads R on a host
/// count change and moves up to about twice that share — Envoy's ring behaves so always.
class RingHashTable {
public:
  static constexpr uint64_t kPointsPerWeight = 160;

  static std::shared_ptr<const RingHashTable> build(const std::vector<Host>& hosts,
                                                    uint64_t minSize, uint64_t maxSize);

  size_t size() const { return hashes_.size(); }
  /// Index of the first point whose hash is ≥ `hash`, wrapping to 0. size() must be > 0.
  size_t find(uint64_t hash) const;
  uint32_t hostAt(size_t index) const { return hosts_[index]; }
  /// True when build() with these arguments would produce this table (reuse across reloads).
  bool builtFrom(const std::vector<Host>& hosts, uint64_t minSize, uint64_t maxSize) const;

private:
  std::vector<uint64_t> hashes_;  // sorted; split from hosts_ so the binary search stays dense
  std::vector<uint32_t> hosts_;
  std::vector<std::pair<std::string, uint32_t>> input_;  // (key, weight) per host index
  uint64_t minSize_ = 0;
  uint64_t maxSize_ = 0;
};

/// Google's Maglev lookup table (Eisenbud et al., NSDI 2016): every host fills the table in its
/// own pseudo-random permutation order, taking turns in proportion to its weight, so each host
/// owns ≈ weight/Σweight of the slots and a host change moves little more than its own share.
class MaglevTable {
public:
  /// Prime (required: every skip is then coprime with the size); Envoy's default.
  static constexpr uint32_t kDefaultSize = 65537;

  static std::shared_ptr<const MaglevTable> build(const std::vector<Host>& hosts,
                                                  uint32_t tableSize = kDefaultSize);

  size_t size() const { return table_.size(); }
  size_t slotOf(uint64_t hash) const { return static_cast<size_t>(hash % table_.size()); }
  uint32_t hostAt(size_t slot) const { return table_[slot]; }
  bool builtFrom(const std::vector<Host>& hosts, uint32_t tableSize = kDefaultSize) const;

private:
  std::vector<uint32_t> table_;  // slot → host index; empty when the cluster has no hosts
  std::vector<std::pair<std::string, uint32_t>> input_;
};

}  // namespace portico::upstream
