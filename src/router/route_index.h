// RouteIndex: a virtual host's matchers compiled so that lookup does not grow with the number
// of routes — hashes for exact paths, radix tries for prefixes, RE2 sets for regexes — while
// keeping first-match-wins: every (route, matcher) has a rank, its order of appearance.
#pragma once

#include <bitset>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "router/prefix_trie.h"
#include "router/regex_set.h"
#include "router/request_view.h"
#include "router/route_entry.h"

namespace portico::router {

class RouteIndex {
public:
  static constexpr uint32_t kNoRoute = UINT32_MAX;

  /// Compiles `routes` (their order is the match order). The index refers to routes and
  /// matchers by position, so it serves any copy of the same vector; rebuild it when the
  /// routes change. Build time: O(total matcher bytes).
  static std::shared_ptr<const RouteIndex> build(const std::vector<RouteEntry>& routes);

  struct Result {
    uint32_t route = kNoRoute;  ///< index into the routes; kNoRoute: none matched
    size_t matchedLength = 0;   ///< prefix: the prefix length; exact/regex: the path length
  };
  /// The same answer as scanning `routes` in order and taking the first matcher that accepts
  /// `request`. `routes` must be the vector this index was built from. Cost: one hash lookup
  /// per exact table, one trie walk per prefix trie (both bounded by the path length), one RE2
  /// set pass over the path when a regex ranks before the first unconditional candidate, plus
  /// the conditions of the candidates ranked before the winner. Allocation-free unless the
  /// path meets more than 13 distinct stored prefixes that carry routes, or a regex matches
  /// (RE2::Set::Match allocates scratch then; see RegexSet::match). Thread-safe (read-only).
  Result match(const std::vector<RouteEntry>& routes, const RequestView& request) const;

  /// How many routes the index was built from (a cheap staleness check for callers).
  size_t routeCount() const { return routeCount_; }

private:
  RouteIndex() = default;

  struct Rank {
    uint32_t route = 0;
    uint32_t matcher = 0;
    bool hasConditions = false;  ///< headers, query parameters or methods to check
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  /// FNV-1a over ASCII-lowercased bytes: looks a path up without lowercasing a copy of it.
  struct NoCaseHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const;
  };
  struct NoCaseEqual {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const;
  };
  using RankList = std::vector<uint32_t>;  ///< ascending

  std::vector<Rank> ranks_;
  std::unordered_map<std::string, RankList, StringHash, std::equal_to<>> exact_;
  std::unordered_map<std::string, RankList, NoCaseHash, NoCaseEqual> exactNoCase_;
  /// Lengths of the exact paths (255 stands for 255 and longer): most requests for prefix
  /// routes skip hashing the path when no exact path has its length.
  std::bitset<256> exactLengths_;
  PrefixTrie prefixes_{false};
  PrefixTrie prefixesNoCase_{true};
  RankList regexes_;
  /// regexes_ in RE2 sets; when RE2 refuses to build them, match() runs each regex instead.
  RegexSet regexSet_;
  size_t routeCount_ = 0;
};

}  // namespace portico::router
