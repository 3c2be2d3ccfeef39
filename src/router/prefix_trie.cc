#include "router/prefix_trie.h"

#include <algorithm>

namespace portico::router {

void PrefixTrie::insert(std::string_view prefix, uint32_t rank) {
  std::string key(prefix);
  if (caseInsensitive_)
    for (char& c : key) c = lower(c);
  std::string_view rest = key;
  uint32_t node = 0;
  while (!rest.empty()) {
    uint32_t child = 0;
    bool found = false;
    for (uint32_t c : build_[node].children) {
      if (build_[c].label[0] == rest[0]) {
        child = c;
        found = true;
        break;
      }
    }
    if (!found) {
      auto leaf = static_cast<uint32_t>(build_.size());
      build_.push_back({std::string(rest), {}, {}});
      build_[node].children.push_back(leaf);
      node = leaf;
      rest = {};
      break;
    }
    const std::string& label = build_[child].label;
    size_t common = std::mismatch(label.begin(), label.end(), rest.begin(), rest.end()).first -
                    label.begin();
    if (common < label.size()) {
      // Split the edge: node → mid (label[0, common)) → child (the rest of its label).
      auto mid = static_cast<uint32_t>(build_.size());
      build_.push_back({label.substr(0, common), {child}, {}});
      build_[child].label.erase(0, common);
      std::replace(build_[node].children.begin(), build_[node].children.end(), child, mid);
      child = mid;
    }
    node = child;
    rest.remove_prefix(common);
  }
  build_[node].ranks.push_back(rank);
}

void PrefixTrie::freeze() {
  // Breadth-first, so that each node's children are contiguous and sorted by first byte.
  std::vector<uint32_t> order{0};
  nodes_.clear();
  firstChar_.clear();
  for (size_t i = 0; i < order.size(); ++i) {
    BuildNode& b = build_[order[i]];
    std::sort(b.children.begin(), b.children.end(),
              [&](uint32_t x, uint32_t y) { return build_[x].label[0] < build_[y].label[0]; });
    Node n;
    n.labelBegin = static_cast<uint32_t>(labels_.size());
    n.labelSize = static_cast<uint32_t>(b.label.size());
    labels_ += b.label;
    n.firstChild = static_cast<uint32_t>(order.size());
    n.childCount = static_cast<uint32_t>(b.children.size());
    order.insert(order.end(), b.children.begin(), b.children.end());
    n.ranksBegin = static_cast<uint32_t>(ranks_.size());
    n.ranksSize = static_cast<uint32_t>(b.ranks.size());
    ranks_.insert(ranks_.end(), b.ranks.begin(), b.ranks.end());
    nodes_.push_back(n);
    firstChar_.push_back(b.label.empty() ? '\0' : b.label[0]);
  }
  build_.clear();
  build_.shrink_to_fit();
}

int64_t PrefixTrie::findChild(const Node& n, char c) const {
  const char* begin = firstChar_.data() + n.firstChild;
  const char* end = begin + n.childCount;
  const char* it;
  if (n.childCount <= 8) {
    it = std::find(begin, end, c);
  } else {
    it = std::lower_bound(begin, end, c);
    if (it != end && *it != c) it = end;
  }
  return it == end ? -1 : static_cast<int64_t>(n.firstChild + (it - begin));
}

}  // namespace portico::router
