#include "router/route_sort.h"

#include <algorithm>
#include <cstddef>
#include <utility>

namespace portico::router {

namespace {
/// Smaller sorts first: (0, 0) exact, (1, 0) regex, (2, -longest prefix) prefix-only.
std::pair<int, long long> specificity(const RouteEntry& r) {
  bool exact = false, regex = false;
  size_t longestPrefix = 0;
  for (const PathMatcher& m : r.matchers) {
    switch (m.type) {
    case PathMatcher::Type::Exact: exact = true; break;
    case PathMatcher::Type::Regex: regex = true; break;
    case PathMatcher::Type::Prefix: longestPrefix = std::max(longestPrefix, m.value.size()); break;
    }
  }
  if (exact) return {0, 0};
  if (regex) return {1, 0};
  return {2, -static_cast<long long>(longestPrefix)};
}
}  // namespace

void sortRoutesMostSpecificFirst(std::vector<RouteEntry>& routes) {
  std::vector<std::pair<std::pair<int, long long>, size_t>> keys;
  keys.reserve(routes.size());
  for (size_t i = 0; i < routes.size(); ++i) keys.push_back({specificity(routes[i]), i});
  std::stable_sort(keys.begin(), keys.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<RouteEntry> sorted;
  sorted.reserve(routes.size());
  for (const auto& k : keys) sorted.push_back(std::move(routes[k.second]));
  routes = std::move(sorted);
}

}  // namespace portico::router
