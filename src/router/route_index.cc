#include "router/route_index.h"

#include "router/route_conditions.h"

namespace portico::router {

namespace {
inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
inline size_t lengthSlot(size_t length) { return length < 255 ? length : 255; }

/// What is left to check of a candidate's path before its conditions.
enum class PathTest : uint8_t {
  Passed,  ///< exact and prefix lists, and the regexes the set matched
  Regex,   ///< a regex to run on its own (no usable set, or the set gave up on this path)
  Set,     ///< all the regexes: run the set once, when the first of them comes up
};

/// One ascending list of candidate ranks and what a match through it means.
struct Cursor {
  const uint32_t* next;
  const uint32_t* end;
  size_t matchedLength;
  PathTest test;
};

/// The candidate lists of one lookup: inline for the usual handful (two exact tables, the
/// regexes, a few nested prefixes), on the heap only for paths that meet many stored prefixes.
class Cursors {
public:
  void add(const uint32_t* begin, const uint32_t* end, size_t matchedLength, PathTest test) {
    if (begin == end) return;
    if (size_ < kInline) {
      inline_[size_++] = {begin, end, matchedLength, test};
      return;
    }
    if (heap_.empty()) heap_.assign(inline_, inline_ + kInline);
    heap_.push_back({begin, end, matchedLength, test});
  }
  Cursor* begin() { return heap_.empty() ? inline_ : heap_.data(); }
  Cursor* end() { return heap_.empty() ? inline_ + size_ : heap_.data() + heap_.size(); }

private:
  static constexpr size_t kInline = 16;
  Cursor inline_[kInline];
  size_t size_ = 0;
  std::vector<Cursor> heap_;
};
}  // namespace

size_t RouteIndex::NoCaseHash::operator()(std::string_view s) const {
  uint64_t h = 14695981039346656037ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(lower(c));
    h *= 1099511628211ull;
  }
  return static_cast<size_t>(h);
}

bool RouteIndex::NoCaseEqual::operator()(std::string_view a, std::string_view b) const {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::shared_ptr<const RouteIndex> RouteIndex::build(const std::vector<RouteEntry>& routes) {
  std::shared_ptr<RouteIndex> index(new RouteIndex());
  index->routeCount_ = routes.size();
  for (size_t i = 0; i < routes.size(); ++i) {
    const std::vector<PathMatcher>& matchers = routes[i].matchers;
    for (size_t j = 0; j < matchers.size(); ++j) {
      const PathMatcher& m = matchers[j];
      auto rank = static_cast<uint32_t>(index->ranks_.size());
      index->ranks_.push_back(
          {static_cast<uint32_t>(i), static_cast<uint32_t>(j), hasConditions(m)});
      switch (m.type) {
      case PathMatcher::Type::Prefix:
        (m.caseSensitive ? index->prefixes_ : index->prefixesNoCase_).insert(m.value, rank);
        break;
      case PathMatcher::Type::Exact:
        index->exactLengths_.set(lengthSlot(m.value.size()));
        if (m.caseSensitive)
          index->exact_[m.value].push_back(rank);
        else
          index->exactNoCase_[m.value].push_back(rank);  // NoCaseEqual: "/A" and "/a" share a list
        break;
      case PathMatcher::Type::Regex:
        index->regexes_.push_back(rank);
        if (m.regex) index->regexSet_.add(*m.regex, rank);  // no regex: never matches
        break;
      }
    }
  }
  index->prefixes_.freeze();
  index->prefixesNoCase_.freeze();
  if (!index->regexes_.empty()) index->regexSet_.compile();  // refused: match() scans them
  return index;
}

RouteIndex::Result RouteIndex::match(const std::vector<RouteEntry>& routes,
                                     const RequestView& request) const {
  std::string_view path = request.path;
  Cursors cursors;
  auto addList = [&](const RankList& ranks, size_t length, PathTest test) {
    cursors.add(ranks.data(), ranks.data() + ranks.size(), length, test);
  };
  if (exactLengths_.test(lengthSlot(path.size()))) {
    if (!exact_.empty()) {
      auto it = exact_.find(path);
      if (it != exact_.end()) addList(it->second, path.size(), PathTest::Passed);
    }
    if (!exactNoCase_.empty()) {
      auto it = exactNoCase_.find(path);
      if (it != exactNoCase_.end()) addList(it->second, path.size(), PathTest::Passed);
    }
  }
  auto onPrefix = [&](std::span<const uint32_t> ranks, size_t length) {
    cursors.add(ranks.data(), ranks.data() + ranks.size(), length, PathTest::Passed);
  };
  prefixes_.walk(path, onPrefix);
  prefixesNoCase_.walk(path, onPrefix);
  addList(regexes_, path.size(), regexSet_.usable() ? PathTest::Set : PathTest::Regex);

  // Merge the ascending lists: the candidates come out in written order, so the first one
  // whose remaining tests hold is the route a linear scan would have found. The regexes are
  // not run at all when an unconditional exact/prefix candidate ranks before all of them.
  for (;;) {
    Cursor* best = nullptr;
    for (Cursor& c : cursors)
      if (c.next != c.end && (!best || *c.next < *best->next)) best = &c;
    if (!best) return {};
    if (best->test == PathTest::Set) {
      // One pass over the path for every regex; the list becomes the ones that matched (all
      // ranked at or after this point, since this was the smallest regex rank).
      std::span<const uint32_t> hits;
      if (regexSet_.match(path, &hits)) {
        best->next = hits.data();
        best->end = hits.data() + hits.size();
        best->test = PathTest::Passed;
      } else {
        best->test = PathTest::Regex;
      }
      continue;
    }
    const Rank& r = ranks_[*best->next++];
    if (best->test == PathTest::Passed && !r.hasConditions) return {r.route, best->matchedLength};
    const PathMatcher& m = routes[r.route].matchers[r.matcher];
    if (best->test == PathTest::Regex && !pathMatches(m, path)) continue;
    if (r.hasConditions && !conditionsHold(m, request)) continue;
    return {r.route, best->matchedLength};
  }
}

}  // namespace portico::router
