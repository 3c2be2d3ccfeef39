// RouteIndex with regex routes: the RE2 sets give the answer of a brute-force first-match scan
// (random regex-heavy route sets, random requests, fixed seed), and RegexSet on its own.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <re2/re2.h>
#include <string>
#include <vector>

#include "router/regex_set.h"
#include "router/route_index.h"
#include "router_test_util.h"

namespace portico::router {
namespace {

using namespace routertest;  // NOLINT(google-build-using-namespace): test builders

std::string foldCase(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

/// Brute force: every route, every matcher, in written order; each regex run on its own.
Outcome bruteForce(const std::vector<RouteEntry>& routes, const RequestView& r) {
  const std::string path(r.path);
  for (const RouteEntry& route : routes) {
    for (const PathMatcher& m : route.matchers) {
      bool pathOk = m.type == PathMatcher::Type::Regex
                        ? m.regex && RE2::FullMatch(path, *m.regex)
                        : (m.caseSensitive ? path : foldCase(path))
                              .starts_with(m.caseSensitive ? m.value : foldCase(m.value));
      if (m.type == PathMatcher::Type::Exact)
        pathOk = pathOk && path.size() == m.value.size();
      bool methodOk =
          m.methods.empty() || std::count(m.methods.begin(), m.methods.end(), r.method) > 0;
      bool headersOk = std::all_of(m.headers.begin(), m.headers.end(), [&](const HeaderMatch& h) {
        return (r.headers && r.headers->has(h.name)) != h.invert;  // presence tests only
      });
      if (pathOk && methodOk && headersOk) {
        size_t length = m.type == PathMatcher::Type::Prefix ? m.value.size() : path.size();
        return {static_cast<int>(route.clusterIndex), length};
      }
    }
  }
  return {};
}

/// Random regexes over the paths' alphabet: literals, classes, groups with alternation,
/// quantifiers, anchors, inline flags; now and then one RE2 refuses.
class RegexGenerator {
public:
  explicit RegexGenerator(uint32_t seed) : rng_(seed) {}

  int below(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool chance(int percent) { return below(100) < percent; }

  std::string path() {
    static const char* kPieces[] = {"/", "a", "b", "A", "x", "1", "42", "/v1", "/v2", "-"};
    std::string p;
    int n = below(9);
    for (int i = 0; i < n; ++i) p += kPieces[below(10)];
    return p;
  }

  std::string atom(int depth) {
    static const char* kAtoms[] = {"/", "a", "b", "A", "x", "1", "[ab]", "[0-9]", "[a-z]+",
                                   ".",  "/v[0-9]+", "\\d", "[^/]*", "-"};
    if (depth < 2 && chance(15)) return "(" + alternation(depth + 1) + ")";
    std::string a = kAtoms[below(14)];
    static const char* kQuantifiers[] = {"*", "+", "?", "{1,2}"};
    if (chance(20)) a = "(?:" + a + ")" + kQuantifiers[below(4)];
    return a;
  }

  std::string sequence(int depth) {
    std::string s;
    int n = 1 + below(4);
    for (int i = 0; i < n; ++i) s += atom(depth);
    if (chance(25)) s += ".*";
    return s;
  }

  std::string alternation(int depth) {
    std::string s = sequence(depth);
    while (chance(20)) s += "|" + sequence(depth);
    return s;
  }

  std::string pattern() {
    if (chance(2)) return "(";  // invalid: never matches, on either side
    if (chance(3)) return "";
    std::string p = alternation(0);
    if (chance(5)) p = "^" + p;
    if (chance(5)) p += "$";
    if (chance(5)) p = "(?i)" + p;
    return p;
  }

  PathMatcher matcher() {
    PathMatcher m;
    int kind = below(10);
    if (kind < 7) {  // mostly regexes, in three RE2 option sets
      std::string p = pattern();
      RE2::Options opts;
      opts.set_log_errors(false);
      m.caseSensitive = chance(70);
      opts.set_case_sensitive(m.caseSensitive);
      if (chance(5)) opts.set_longest_match(true);
      m.type = PathMatcher::Type::Regex;
      m.regex = std::make_shared<RE2>(p, opts);
      m.value = p;
    } else {
      bool caseSensitive = chance(70);
      std::string v = path();
      m = kind < 9 ? prefix(caseSensitive ? v : foldCase(v), caseSensitive)
                   : exact(caseSensitive ? v : foldCase(v), caseSensitive);
    }
    if (chance(15)) m.methods = {chance(50) ? "GET" : "POST"};
    if (chance(15)) m.headers.push_back(header("x-a", "", false, chance(50)));
    return m;
  }

  std::vector<RouteEntry> routes(int maxRoutes) {
    std::vector<RouteEntry> out;
    int n = 1 + below(maxRoutes);
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

TEST(RouteIndexRegex, AgreesWithBruteForceOnRandomRouteSets) {
  http::HeaderMap withA;
  withA.add("x-a", "1");
  RegexGenerator g(20261126);
  int cases = 0, matched = 0, byRegex = 0;
  for (int set = 0; set < 300; ++set) {
    std::vector<RouteEntry> routes = g.routes(set % 10 == 0 ? 300 : 30);
    VirtualHost indexed = indexedHost(routes);
    for (int i = 0; i < 60; ++i) {
      std::string path = g.path();
      const char* method = g.chance(50) ? "GET" : "POST";
      RequestView r = request(path, "", method, g.chance(50) ? &withA : nullptr);
      Outcome want = bruteForce(routes, r);
      ASSERT_EQ(outcome(indexed, r), want)
          << "set " << set << " path \"" << path << "\" method " << method << " x-a "
          << (r.headers != nullptr) << " routes " << routes.size();
      ++cases;
      if (want.cluster < 0) continue;
      ++matched;
      for (const PathMatcher& m : routes[static_cast<size_t>(want.cluster)].matchers)
        byRegex += m.type == PathMatcher::Type::Regex && m.regex->ok() &&
                   RE2::FullMatch(path, *m.regex);
    }
  }
  EXPECT_EQ(cases, 18000);
  // Both outcomes, and regex winners, must be common for the test to mean anything.
  EXPECT_GT(matched, cases / 5);
  EXPECT_LT(matched, cases * 9 / 10);
  EXPECT_GT(byRegex, cases / 10);
}

TEST(RouteIndexRegex, ThousandsOfRegexRoutesWithConditions) {
  // The benchmark's shape: /api/v[0-9]+/item-i/.*, every third one GET-only, plus a prefix
  // route in the middle that shadows the later items of its own path.
  std::vector<RouteEntry> routes;
  for (uint32_t i = 0; i < 3000; ++i) {
    PathMatcher m = regex("/api/v[0-9]+/item-" + std::to_string(i) + "/.*", i % 2 == 0);
    if (i % 3 == 0) m.methods = {"GET"};
    routes.push_back(route(i, {m}));
    if (i == 1500) routes.push_back(route(9000, {prefix("/api/v1/item-2")}));
  }
  routes.push_back(route(9001, {regex("/api/.*")}));
  VirtualHost indexed = indexedHost(routes);
  RegexSet set;  // what the index holds: it must be the set, not the one-by-one fallback
  for (uint32_t i = 0; i < routes.size(); ++i)
    if (routes[i].matchers[0].regex) set.add(*routes[i].matchers[0].regex, i);
  ASSERT_TRUE(set.compile());
  for (uint32_t i = 0; i < 3000; i += 101) {
    for (const std::string& path :
         {"/api/v1/item-" + std::to_string(i) + "/x", "/API/V22/ITEM-" + std::to_string(i) + "/",
          "/api/v/item-" + std::to_string(i) + "/x", "/api/v9/item-" + std::to_string(i)}) {
      for (const char* method : {"GET", "POST"}) {
        RequestView r = request(path, "", method);
        ASSERT_EQ(outcome(indexed, r), bruteForce(routes, r)) << path << " " << method;
      }
    }
  }
  EXPECT_EQ(outcome(indexed, request("/api/v1/item-2999/x", "", "POST")).cluster, 9000);
  EXPECT_EQ(outcome(indexed, request("/api/v1/item-3/x", "", "POST")).cluster, 9001);
  EXPECT_EQ(outcome(indexed, request("/api/v1/item-4/x", "", "POST")).cluster, 4);
}

TEST(RouteIndexRegex, EarlierUnconditionalPrefixWinsOverLaterRegex) {
  std::vector<RouteEntry> routes{route(1, {regex("/a/[0-9]+", true)}), route(2, {prefix("/a/")}),
                                 route(3, {regex("/a/.*")})};
  EXPECT_EQ(matchBoth(routes, request("/a/12")), 1);
  EXPECT_EQ(matchBoth(routes, request("/a/x")), 2);
  EXPECT_EQ(matchBoth(routes, request("/b")), -1);
}

TEST(RouteIndexRegex, SetTooLargeForRE2FallsBackToEachRegex) {
  // Each regex compiles alone within its small budget (".{100}": ~1,000 instructions, "." is
  // every UTF-8 sequence), but 100 of them exceed the set's (8 times one regex's): compile()
  // fails and match() runs the regexes one by one.
  RE2::Options small;
  small.set_max_mem(int64_t{256} << 10);
  small.set_log_errors(false);
  std::vector<RouteEntry> routes;
  for (uint32_t i = 0; i < 100; ++i) {
    PathMatcher m = regex("/r" + std::to_string(i) + "/.{100}");
    m.regex = std::make_shared<RE2>(m.value, small);
    ASSERT_TRUE(m.regex->ok()) << m.regex->error();
    routes.push_back(route(i, {m}));
  }
  RegexSet set;
  for (uint32_t i = 0; i < routes.size(); ++i) set.add(*routes[i].matchers[0].regex, i);
  EXPECT_FALSE(set.compile());
  EXPECT_FALSE(set.usable());
  VirtualHost indexed = indexedHost(routes);
  std::string tail(100, 'z');
  EXPECT_EQ(outcome(indexed, request("/r99/" + tail)).cluster, 99);
  EXPECT_EQ(outcome(indexed, request("/r19/" + tail)).cluster, 19);
  EXPECT_EQ(outcome(indexed, request("/r19/" + tail + "z")).cluster, -1);
}

TEST(RegexSet, ReportsEveryMatchAscending) {
  auto sensitive = compile("/a/.*");
  auto anything = compile(".*");
  auto noCase = compile("/A/B", false);
  auto broken = compile("(");
  auto alternation = compile("/a|/a/b");  // full match applies to the whole alternation
  RegexSet set;
  set.add(*sensitive, 10);
  set.add(*anything, 3);
  set.add(*noCase, 7);
  set.add(*broken, 1);
  set.add(*alternation, 20);
  ASSERT_TRUE(set.compile());
  EXPECT_EQ(set.size(), 4u);
  auto ids = [&](std::string_view path) {
    std::span<const uint32_t> out;
    EXPECT_TRUE(set.match(path, &out));
    return std::vector<uint32_t>(out.begin(), out.end());
  };
  EXPECT_EQ(ids("/a/b"), (std::vector<uint32_t>{3, 7, 10, 20}));
  EXPECT_EQ(ids("/a"), (std::vector<uint32_t>{3, 20}));
  EXPECT_EQ(ids("/A/b"), (std::vector<uint32_t>{3, 7}));
  EXPECT_EQ(ids("/a/bc"), (std::vector<uint32_t>{3, 10}));  // not a prefix match of /a/b
  EXPECT_EQ(ids(""), (std::vector<uint32_t>{3}));
}

TEST(RegexSet, PrefixOfAPathIsNoMatch) {
  // The anchored-at-both-ends set must not take a match of the path's start for a match (its
  // cheap "anything?" pass and its "which?" pass must agree, or match() would give up).
  auto re = compile("/a/b");
  RegexSet set;
  set.add(*re, 5);
  ASSERT_TRUE(set.compile());
  std::span<const uint32_t> out;
  for (std::string_view path : {"/a/bc", "/a/b/", "/a", "x/a/b"}) {
    ASSERT_TRUE(set.match(path, &out)) << path;
    EXPECT_TRUE(out.empty()) << path;
  }
  ASSERT_TRUE(set.match("/a/b", &out));
  EXPECT_EQ(std::vector<uint32_t>(out.begin(), out.end()), std::vector<uint32_t>{5});
}

TEST(RegexSet, EmptyAndUncompiled) {
  RegexSet set;
  EXPECT_FALSE(set.usable());
  EXPECT_TRUE(set.compile());
  std::span<const uint32_t> out;
  EXPECT_TRUE(set.match("/x", &out));
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace portico::router
