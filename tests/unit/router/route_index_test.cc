// RouteIndex: the indexed lookup gives exactly the answer of a linear first-match scan.
// Property test over random route sets (prefixes, exacts, regexes, mixed case, conditions)
// and random paths drawn from the same small alphabet so that they overlap a lot.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "router/route_index.h"
#include "router_test_util.h"

namespace portico::router {
namespace {

using namespace routertest;  // NOLINT(google-build-using-namespace): test builders

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

/// The reference: the documented semantics written as plainly as possible, independent of
/// the library's own matching code (except RE2 itself).
Outcome referenceMatch(const std::vector<RouteEntry>& routes, const RequestView& r) {
  for (const RouteEntry& route : routes) {
    for (const PathMatcher& m : route.matchers) {
      bool path = false;
      size_t length = r.path.size();
      std::string p = m.caseSensitive ? std::string(r.path) : lowered(r.path);
      std::string v = m.caseSensitive ? m.value : lowered(m.value);
      switch (m.type) {
      case PathMatcher::Type::Prefix:
        path = p.starts_with(v);
        length = v.size();
        break;
      case PathMatcher::Type::Exact:
        path = p == v;
        break;
      case PathMatcher::Type::Regex:
        path = RE2::FullMatch(std::string(r.path), *m.regex);
        break;
      }
      if (!path) continue;
      if (!m.methods.empty() &&
          std::find(m.methods.begin(), m.methods.end(), r.method) == m.methods.end())
        continue;
      bool headersOk = true;
      for (const HeaderMatch& h : m.headers) {  // the generator only makes presence tests
        bool present = r.headers && r.headers->has(h.name);
        if (present == h.invert) headersOk = false;
      }
      if (!headersOk) continue;
      return {static_cast<int>(route.clusterIndex), length};
    }
  }
  return {};
}

class Generator {
public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  int below(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool chance(int percent) { return below(100) < percent; }

  /// "/a/B/x1" style paths from a tiny alphabet, sometimes cut mid-segment or with a '/'.
  std::string path() {
    static const char* kSegments[] = {"a", "b", "ab", "A", "x1", "B", "aa"};
    std::string p;
    int depth = below(5);
    for (int i = 0; i < depth; ++i) p += std::string("/") + kSegments[below(7)];
    if (chance(20)) p += "/";
    if (!p.empty() && chance(15))
      p.resize(static_cast<size_t>(below(static_cast<int>(p.size()) + 1)));
    return p;
  }

  PathMatcher matcher() {
    static const char* kRegexes[] = {"/a/.*", "/[ab]+", "/x1/[0-9a-z]*", ".*b", "/A/.*",
                                     "(/[a-z]+)*", "/ab?/?", ""};
    bool caseSensitive = chance(70);
    PathMatcher m;
    switch (below(3)) {
    case 0: {
      std::string v = path();
      // The controller lowercases case-insensitive values; sometimes do not, to check that
      // both sides still fold case.
      if (!caseSensitive && chance(80)) v = lowered(v);
      m = prefix(v, caseSensitive);
      break;
    }
    case 1: {
      std::string v = path();
      if (!caseSensitive && chance(80)) v = lowered(v);
      m = exact(v, caseSensitive);
      break;
    }
    default:
      m = regex(kRegexes[below(8)], caseSensitive);
      break;
    }
    if (chance(15)) m.methods = {chance(50) ? "GET" : "POST"};
    if (chance(15)) m.headers.push_back(header("x-a", "", false, chance(50)));
    return m;
  }

  std::vector<RouteEntry> routes() {
    std::vector<RouteEntry> out;
    int n = 1 + below(chance(20) ? 200 : 40);
    for (int i = 0; i < n; ++i) {
      std::vector<PathMatcher> ms;
      int k = 1 + (chance(25) ? below(3) : 0);
      for (int j = 0; j < k; ++j) ms.push_back(matcher());
      out.push_back(route(static_cast<uint32_t>(i), std::move(ms)));
    }
    return out;
  }

private:
  std::mt19937 rng_;
};

TEST(RouteIndex, AgreesWithALinearScan) {
  http::HeaderMap withA;
  withA.add("x-a", "1");
  Generator g(20240611);
  int cases = 0, matched = 0;
  for (int set = 0; set < 400; ++set) {
    std::vector<RouteEntry> routes = g.routes();
    VirtualHost indexed = indexedHost(routes);
    VirtualHost linear = linearHost(routes);
    for (int i = 0; i < 40; ++i) {
      std::string path = g.path();
      const char* method = g.chance(50) ? "GET" : "POST";
      RequestView r = request(path, "", method, g.chance(50) ? &withA : nullptr);
      Outcome want = referenceMatch(routes, r);
      ASSERT_EQ(outcome(indexed, r), want)
          << "set " << set << " path \"" << path << "\" method " << method << " x-a "
          << (r.headers != nullptr) << " routes " << routes.size();
      ASSERT_EQ(outcome(linear, r), want) << "linear scan, set " << set << " path " << path;
      ++cases;
      matched += want.cluster >= 0;
    }
  }
  EXPECT_EQ(cases, 16000);
  // The generator must exercise both outcomes for the test to mean anything.
  EXPECT_GT(matched, cases / 4);
  EXPECT_LT(matched, cases * 9 / 10);
}

TEST(RouteIndex, ManyRoutesSameAnswerAsScan) {
  // A large table like the benchmark's: prefix and exact routes, with a regex sprinkled in.
  std::vector<RouteEntry> routes;
  for (uint32_t i = 0; i < 5000; ++i) {
    std::string base = "/service-" + std::to_string(i);
    if (i % 3 == 0)
      routes.push_back(route(i, {exact(base + "/exact")}));
    else if (i % 3 == 1)
      routes.push_back(route(i, {prefix(base + "/")}));
    else
      routes.push_back(route(i, {prefix(base, false)}));
  }
  routes.push_back(route(9999, {regex("/service-[0-9]+/.*")}));
  VirtualHost indexed = indexedHost(routes);
  for (uint32_t i = 0; i < 5000; i += 7) {
    for (const std::string& path :
         {"/service-" + std::to_string(i) + "/exact", "/SERVICE-" + std::to_string(i) + "/x",
          "/service-" + std::to_string(i) + "/x", "/service-" + std::to_string(i) + "0"}) {
      RequestView r = request(path);
      ASSERT_EQ(outcome(indexed, r), referenceMatch(routes, r)) << path;
    }
  }
}

TEST(RouteIndex, RouteCountForStalenessCheck) {
  std::vector<RouteEntry> routes{route(1, {prefix("/")}), route(2, {exact("/x"), exact("/y")})};
  EXPECT_EQ(RouteIndex::build(routes)->routeCount(), 2u);
  EXPECT_EQ(RouteIndex::build({})->routeCount(), 0u);
  VirtualHost empty = indexedHost({});
  EXPECT_EQ(outcome(empty, request("/")), Outcome{});
}

}  // namespace
}  // namespace portico::router
