#include "upstream/consistent_hash.h"

#include <algorithm>
#include <numeric>

#include "upstream/hash.h"

namespace portico::upstream {
namespace {

std::vector<std::pair<std::string, uint32_t>> inputOf(const std::vector<Host>& hosts) {
  std::vector<std::pair<std::string, uint32_t>> in;
  in.reserve(hosts.size());
  for (const Host& h : hosts) in.emplace_back(h.key, std::max<uint32_t>(h.weight, 1));
  return in;
}

bool sameInput(const std::vector<std::pair<std::string, uint32_t>>& in,
               const std::vector<Host>& hosts) {
  if (in.size() != hosts.size()) return false;
  for (size_t i = 0; i < hosts.size(); ++i)
    if (in[i].first != hosts[i].key || in[i].second != std::max<uint32_t>(hosts[i].weight, 1))
      return false;
  return true;
}

// Seeds that make a host's Maglev offset and skip two independent hashes of its key.
constexpr uint64_t kOffsetSeed = 0x6d61676c65766f66ULL;  // "maglevof"
constexpr uint64_t kSkipSeed = 0x6d61676c65767370ULL;    // "maglevsp"

}  // namespace

// ---- RingHashTable ------------------------------------------------------------------------------

std::shared_ptr<const RingHashTable> RingHashTable::build(const std::vector<Host>& hosts,
                                                          uint64_t minSize, uint64_t maxSize) {
  auto t = std::make_shared<RingHashTable>();
  t->input_ = inputOf(hosts);
  t->minSize_ = minSize;
  t->maxSize_ = maxSize;
  if (hosts.empty()) return t;
  if (maxSize == 0) maxSize = 1;
  if (minSize > maxSize) minSize = maxSize;

  // Weights in lowest terms, so that {100, 100, 200} costs as many points as {1, 1, 2}.
  uint64_t g = 0;
  for (const auto& [key, w] : t->input_) g = std::gcd(g, static_cast<uint64_t>(w));
  std::vector<uint64_t> units(hosts.size());
  uint64_t totalUnits = 0;
  for (size_t i = 0; i < hosts.size(); ++i) totalUnits += units[i] = t->input_[i].second / g;

  std::vector<uint64_t> points(hosts.size());
  uint64_t r = kPointsPerWeight;
  if (totalUnits * r < minSize) r = (minSize + totalUnits - 1) / totalUnits;
  if (totalUnits * r > maxSize) r = maxSize / totalUnits;  // may be 0: handled below
  for (size_t i = 0; i < hosts.size(); ++i) {
    points[i] = r > 0 ? units[i] * r
                      : std::max<uint64_t>(
                            1, static_cast<uint64_t>(static_cast<double>(units[i]) * maxSize /
                                                     static_cast<double>(totalUnits)));
  }

  std::vector<std::pair<uint64_t, uint32_t>> ring;
  ring.reserve(std::accumulate(points.begin(), points.end(), uint64_t{0}));
  std::string name;
  for (size_t i = 0; i < hosts.size(); ++i) {
    const std::string& key = t->input_[i].first;
    for (uint64_t j = 0; j < points[i]; ++j) {
      name.assign(key).append(1, '_').append(std::to_string(j));
      ring.emplace_back(hashBytes(name), static_cast<uint32_t>(i));
    }
  }
  std::sort(ring.begin(), ring.end());  // by hash, then host index: deterministic
  t->hashes_.reserve(ring.size());
  t->hosts_.reserve(ring.size());
  for (const auto& [h, host] : ring) {
    t->hashes_.push_back(h);
    t->hosts_.push_back(host);
  }
  return t;
}

size_t RingHashTable::find(uint64_t hash) const {
  size_t i = lowerBound(hashes_.data(), hashes_.size(), hash);
  return i == hashes_.size() ? 0 : i;
}

bool RingHashTable::builtFrom(const std::vector<Host>& hosts, uint64_t minSize,
                              uint64_t maxSize) const {
  return minSize == minSize_ && maxSize == maxSize_ && sameInput(input_, hosts);
}

// ---- MaglevTable --------------------------------------------------------------------------------

std::shared_ptr<const MaglevTable> MaglevTable::build(const std::vector<Host>& hosts,
                                                      uint32_t tableSize) {
  auto t = std::make_shared<MaglevTable>();
  t->input_ = inputOf(hosts);
  const size_t n = hosts.size();
  if (n == 0 || tableSize == 0) return t;
  const uint64_t m = tableSize;

  std::vector<uint64_t> next(n), skip(n), taken(n, 0);
  uint64_t maxWeight = 0;
  for (size_t i = 0; i < n; ++i) {
    const std::string& key = t->input_[i].first;
    next[i] = hashBytes(key, kOffsetSeed) % m;
    skip[i] = m > 1 ? hashBytes(key, kSkipSeed) % (m - 1) + 1 : 1;
    maxWeight = std::max<uint64_t>(maxWeight, t->input_[i].second);
  }

  constexpr uint32_t kEmpty = UINT32_MAX;
  std::vector<uint32_t> table(m, kEmpty);
  uint64_t filled = 0;
  // Round `iteration`: host i takes a slot only while taken_i < iteration × w_i / w_max, so the
  // heaviest host fills one slot per round and the others in proportion (Envoy's weighted
  // Maglev does the same). Each host walks its permutation offset, offset+skip, ... (mod m)
  // to its next free slot.
  for (uint64_t iteration = 1; filled < m; ++iteration) {
    for (size_t i = 0; i < n && filled < m; ++i) {
      if (taken[i] * maxWeight >= iteration * t->input_[i].second) continue;
      uint64_t c = next[i];
      while (table[c] != kEmpty) {
        c += skip[i];
        if (c >= m) c -= m;
      }
      table[c] = static_cast<uint32_t>(i);
      c += skip[i];
      if (c >= m) c -= m;
      next[i] = c;
      ++taken[i];
      ++filled;
    }
  }
  t->table_ = std::move(table);
  return t;
}

bool MaglevTable::builtFrom(const std::vector<Host>& hosts, uint32_t tableSize) const {
  return (hosts.empty() ? table_.empty() : table_.size() == tableSize) && sameInput(input_, hosts);
}

}  // namespace portico::upstream
