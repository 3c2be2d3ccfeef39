// PrefixTrie: route prefixes compiled into a path-compressed (radix) trie; walking a request
// path visits, shortest first, every stored prefix it starts with, in time bounded by the path.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace portico::router {

class PrefixTrie {
public:
  /// `caseInsensitive`: prefixes are stored lowercased and paths compared without ASCII case.
  explicit PrefixTrie(bool caseInsensitive) : caseInsensitive_(caseInsensitive) {}

  /// Adds `rank` under `prefix`. Ranks must be added in increasing order (each prefix's list
  /// stays sorted). Build time only: call before freeze().
  void insert(std::string_view prefix, uint32_t rank);
  /// Lays the trie out for lookup (children contiguous, labels in one string) and drops the
  /// build-time nodes. Call once, after the last insert().
  void freeze();

  bool empty() const { return ranks_.empty(); }

  /// Calls `onPrefix(std::span<const uint32_t> ranks, size_t prefixLength)` for every stored
  /// prefix of `path`, shortest first. No allocation; frozen tries only.
  template <class F>
  void walk(std::string_view path, F&& onPrefix) const;

private:
  struct Node {
    uint32_t labelBegin = 0;  ///< into labels_: the bytes from the parent to this node
    uint32_t labelSize = 0;
    uint32_t firstChild = 0;  ///< children are nodes_[firstChild, firstChild + childCount)
    uint32_t childCount = 0;
    uint32_t ranksBegin = 0;  ///< into ranks_
    uint32_t ranksSize = 0;
  };
  struct BuildNode {
    std::string label;
    std::vector<uint32_t> children;
    std::vector<uint32_t> ranks;
  };

  static char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
  /// The child of `n` whose label starts with `c`, or -1.
  int64_t findChild(const Node& n, char c) const;

  bool caseInsensitive_;
  std::vector<BuildNode> build_ = std::vector<BuildNode>(1);  ///< [0]: the root, empty label
  std::vector<Node> nodes_;          ///< [0] is the root; breadth-first
  std::vector<char> firstChar_;      ///< per node: labels_[labelBegin] (sorted among siblings)
  std::string labels_;
  std::vector<uint32_t> ranks_;
};

template <class F>
void PrefixTrie::walk(std::string_view path, F&& onPrefix) const {
  if (nodes_.empty()) return;
  const Node* n = &nodes_[0];
  if (n->ranksSize) onPrefix(std::span<const uint32_t>(&ranks_[n->ranksBegin], n->ranksSize), 0);
  size_t pos = 0;
  while (pos < path.size() && n->childCount) {
    int64_t k = findChild(*n, caseInsensitive_ ? lower(path[pos]) : path[pos]);
    if (k < 0) return;
    const Node& child = nodes_[static_cast<size_t>(k)];
    if (path.size() - pos < child.labelSize) return;
    const char* label = labels_.data() + child.labelBegin;
    if (caseInsensitive_) {
      for (uint32_t i = 1; i < child.labelSize; ++i)
        if (lower(path[pos + i]) != label[i]) return;
    } else if (path.compare(pos, child.labelSize, label, child.labelSize) != 0) {
      return;
    }
    pos += child.labelSize;
    n = &child;
    if (n->ranksSize)
      onPrefix(std::span<const uint32_t>(&ranks_[n->ranksBegin], n->ranksSize), pos);
  }
}

}  // namespace portico::router
