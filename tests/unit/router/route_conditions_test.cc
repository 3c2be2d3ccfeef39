// Route conditions: headers (presence, exact, regex, invert, several values), query parameters
// (presence, exact, regex, percent-decoding, first occurrence) and methods.
#include <gtest/gtest.h>

#include <string>

#include "router/query.h"
#include "router/route_conditions.h"
#include "router_test_util.h"

namespace portico::router {
namespace {

using namespace routertest;  // NOLINT(google-build-using-namespace): test builders

http::HeaderMap headers(std::initializer_list<std::pair<const char*, const char*>> list) {
  http::HeaderMap h;
  for (const auto& [name, value] : list) h.add(name, value);
  return h;
}

// ---- headers ----

TEST(RouteConditions, HeaderPresence) {
  http::HeaderMap h = headers({{"X-Env", "dev"}, {"empty", ""}});
  EXPECT_TRUE(headerConditionHolds(header("x-env"), &h));
  EXPECT_TRUE(headerConditionHolds(header("empty"), &h));  // present with an empty value
  EXPECT_FALSE(headerConditionHolds(header("x-other"), &h));
  EXPECT_FALSE(headerConditionHolds(header("x-env"), nullptr));
}

TEST(RouteConditions, HeaderExactValue) {
  http::HeaderMap h = headers({{"x-env", "dev"}});
  EXPECT_TRUE(headerConditionHolds(header("x-env", "dev"), &h));
  EXPECT_FALSE(headerConditionHolds(header("x-env", "Dev"), &h));  // values keep their case
  EXPECT_FALSE(headerConditionHolds(header("x-env", "de"), &h));
  EXPECT_FALSE(headerConditionHolds(header("x-env", "dev2"), &h));
  EXPECT_FALSE(headerConditionHolds(header("x-missing", "dev"), &h));
}

TEST(RouteConditions, HeaderRegexIsAFullMatch) {
  http::HeaderMap h = headers({{"x-id", "user-42"}});
  EXPECT_TRUE(headerConditionHolds(header("x-id", "user-[0-9]+", true), &h));
  EXPECT_FALSE(headerConditionHolds(header("x-id", "[0-9]+", true), &h));
  EXPECT_FALSE(headerConditionHolds(header("x-missing", ".*", true), &h));
}

TEST(RouteConditions, HeaderInvertNegatesTheWholeCondition) {
  http::HeaderMap h = headers({{"x-env", "dev"}});
  EXPECT_FALSE(headerConditionHolds(header("x-env", "", false, true), &h));
  EXPECT_TRUE(headerConditionHolds(header("x-other", "", false, true), &h));  // = absent
  EXPECT_TRUE(headerConditionHolds(header("x-other", "", false, true), nullptr));
  EXPECT_FALSE(headerConditionHolds(header("x-env", "dev", false, true), &h));
  EXPECT_TRUE(headerConditionHolds(header("x-env", "prod", false, true), &h));
  EXPECT_TRUE(headerConditionHolds(header("x-other", "dev", false, true), &h));
  EXPECT_FALSE(headerConditionHolds(header("x-env", "d.v", true, true), &h));
  EXPECT_TRUE(headerConditionHolds(header("x-env", "p.*", true, true), &h));
}

TEST(RouteConditions, SeveralValuesAreJoinedWithComma) {
  http::HeaderMap h = headers({{"x-tag", "a"}, {"other", "z"}, {"X-Tag", "b"}, {"x-tag", ""}});
  EXPECT_TRUE(headerConditionHolds(header("x-tag"), &h));
  EXPECT_TRUE(headerConditionHolds(header("x-tag", "a,b,"), &h));
  EXPECT_FALSE(headerConditionHolds(header("x-tag", "a"), &h));
  EXPECT_FALSE(headerConditionHolds(header("x-tag", "a,b"), &h));
  EXPECT_FALSE(headerConditionHolds(header("x-tag", "a;b,"), &h));
  EXPECT_TRUE(headerConditionHolds(header("x-tag", "a,b,.*", true), &h));
  EXPECT_FALSE(headerConditionHolds(header("x-tag", "a", true), &h));
  EXPECT_TRUE(headerConditionHolds(header("x-tag", "a", false, true), &h));
}

TEST(RouteConditions, LongJoinedHeaderValues) {
  // Longer than the stack buffer used for the regex join.
  std::string a(400, 'a'), b(400, 'b');
  http::HeaderMap h;
  h.add("x-long", a);
  h.add("x-long", b);
  EXPECT_TRUE(headerConditionHolds(header("x-long", a + "," + b), &h));
  EXPECT_TRUE(headerConditionHolds(header("x-long", "a+,b+", true), &h));
  EXPECT_FALSE(headerConditionHolds(header("x-long", "a+", true), &h));
}

TEST(RouteConditions, AllHeaderConditionsMustHold) {
  PathMatcher m = prefix("/");
  m.headers = {header("x-a", "1"), header("x-b"), header("x-c", "", false, true)};
  http::HeaderMap ok = headers({{"x-a", "1"}, {"x-b", "anything"}});
  http::HeaderMap withC = headers({{"x-a", "1"}, {"x-b", "y"}, {"x-c", "z"}});
  http::HeaderMap noB = headers({{"x-a", "1"}});
  EXPECT_TRUE(conditionsHold(m, request("/", "", "GET", &ok)));
  EXPECT_FALSE(conditionsHold(m, request("/", "", "GET", &withC)));
  EXPECT_FALSE(conditionsHold(m, request("/", "", "GET", &noB)));
  EXPECT_FALSE(conditionsHold(m, request("/")));
}

TEST(RouteConditions, PseudoHeaders) {
  // Envoy's header matchers see :authority, :method, :path (query included) and :scheme.
  RequestView r = request("/api/x", "a=1", "POST");
  r.authority = "api.example.com:8080";
  r.scheme = "https";
  auto holds = [&](HeaderMatch h) {
    PathMatcher m = prefix("/");
    m.headers = {std::move(h)};
    return conditionsHold(m, r);
  };
  EXPECT_TRUE(holds(header(":authority", "api.example.com:8080")));
  EXPECT_TRUE(holds(header(":authority", "api\\.example\\.com(:[0-9]+)?", true)));
  EXPECT_FALSE(holds(header(":authority", "other.example.com")));
  EXPECT_TRUE(holds(header(":method", "POST")));
  EXPECT_FALSE(holds(header(":method", "GET")));
  EXPECT_TRUE(holds(header(":method", "GET", false, true)));  // inverted
  EXPECT_TRUE(holds(header(":path", "/api/x?a=1")));
  EXPECT_TRUE(holds(header(":path", "/api/.*", true)));
  EXPECT_TRUE(holds(header(":scheme", "https")));
  EXPECT_TRUE(holds(header(":scheme")));  // present
}

// ---- query parameters ----

TEST(RouteQuery, DecodeBuffer) {
  DecodeBuffer b;
  EXPECT_EQ(b.decode("plain"), "plain");
  EXPECT_EQ(b.decode("x%20y"), "x y");
  EXPECT_EQ(b.decode("a+b"), "a+b");  // '+' is not a space here
  EXPECT_EQ(b.decode("%2f%2F"), "//");
  EXPECT_EQ(b.decode("%zz%4"), "%zz%4");  // malformed escapes stay as written
  EXPECT_EQ(b.decode("%"), "%");
  EXPECT_EQ(b.decode("100%"), "100%");
  EXPECT_EQ(b.decode("%41%4"), "A%4");
  EXPECT_EQ(b.decode("%00"), std::string_view("\0", 1));
  std::string longRaw;
  for (int i = 0; i < 300; ++i) longRaw += "%41";
  EXPECT_EQ(b.decode(longRaw), std::string(300, 'A'));  // beyond the inline buffer
}

TEST(RouteQuery, DecodedEquals) {
  EXPECT_TRUE(decodedEquals("na%6De", "name"));
  EXPECT_TRUE(decodedEquals("name", "name"));
  EXPECT_FALSE(decodedEquals("name", "nam"));
  EXPECT_FALSE(decodedEquals("nam", "name"));
  EXPECT_FALSE(decodedEquals("na%6D", "name"));
  EXPECT_TRUE(decodedEquals("%", "%"));
  EXPECT_TRUE(decodedEquals("", ""));
}

TEST(RouteQuery, FindParameter) {
  DecodeBuffer b;
  std::string_view v;
  EXPECT_TRUE(findQueryParameter("a=1&b=x%20y", "b", b, &v));
  EXPECT_EQ(v, "x y");
  EXPECT_TRUE(findQueryParameter("a=1&a=2", "a", b, &v));
  EXPECT_EQ(v, "1");  // the first occurrence
  EXPECT_TRUE(findQueryParameter("&&flag&x=1", "flag", b, &v));
  EXPECT_EQ(v, "");
  EXPECT_TRUE(findQueryParameter("e=", "e", b, &v));
  EXPECT_EQ(v, "");
  EXPECT_TRUE(findQueryParameter("k=a=b", "k", b, &v));
  EXPECT_EQ(v, "a=b");
  EXPECT_TRUE(findQueryParameter("my%20key=v", "my key", b, &v));
  EXPECT_FALSE(findQueryParameter("", "a", b, &v));
  EXPECT_FALSE(findQueryParameter("ab=1", "a", b, &v));
  EXPECT_FALSE(findQueryParameter("a%3D1", "a", b, &v));  // an encoded '=' is part of the name
}

TEST(RouteQuery, Conditions) {
  EXPECT_TRUE(queryConditionHolds(query("debug"), "debug"));
  EXPECT_TRUE(queryConditionHolds(query("debug"), "x=1&debug=0"));
  EXPECT_FALSE(queryConditionHolds(query("debug"), "x=1&debugging=0"));
  EXPECT_TRUE(queryConditionHolds(query("q", "a b"), "q=a%20b"));
  EXPECT_FALSE(queryConditionHolds(query("q", "a b"), "q=a+b"));
  EXPECT_TRUE(queryConditionHolds(query("q", "a+b"), "q=a+b"));
  EXPECT_FALSE(queryConditionHolds(query("q", "a"), "q"));
  EXPECT_FALSE(queryConditionHolds(query("q", "2"), "q=1&q=2"));
  EXPECT_TRUE(queryConditionHolds(query("id", "[0-9]+", true), "id=123"));
  EXPECT_FALSE(queryConditionHolds(query("id", "[0-9]+", true), "id=12a"));
  EXPECT_FALSE(queryConditionHolds(query("id", "[0-9]", true), "id=123"));  // full match
  EXPECT_TRUE(queryConditionHolds(query("id", "a/b", true), "id=a%2Fb"));
  EXPECT_FALSE(queryConditionHolds(query("id", ".*", true), "other=1"));
  std::string longValue(1000, 'v');
  EXPECT_TRUE(queryConditionHolds(query("long", longValue), "long=" + longValue));
  std::string encoded;
  for (int i = 0; i < 300; ++i) encoded += "%76";
  EXPECT_TRUE(queryConditionHolds(query("long", std::string(300, 'v')), "long=" + encoded));
}

TEST(RouteQuery, AllQueryConditionsMustHold) {
  PathMatcher m = prefix("/");
  m.queryParameters = {query("a", "1"), query("b")};
  EXPECT_TRUE(conditionsHold(m, request("/", "b&a=1")));
  EXPECT_FALSE(conditionsHold(m, request("/", "a=1")));
  EXPECT_FALSE(conditionsHold(m, request("/", "b=1&a=2")));
}

// ---- methods and the whole matcher ----

TEST(RouteConditions, Methods) {
  PathMatcher m = prefix("/");
  EXPECT_TRUE(conditionsHold(m, request("/", "", "PATCH")));  // none listed: any method
  m.methods = {"GET", "HEAD"};
  EXPECT_TRUE(conditionsHold(m, request("/", "", "GET")));
  EXPECT_TRUE(conditionsHold(m, request("/", "", "HEAD")));
  EXPECT_FALSE(conditionsHold(m, request("/", "", "POST")));
  EXPECT_FALSE(conditionsHold(m, request("/", "", "")));
}

TEST(RouteConditions, EveryKindTogetherThroughMatchRoute) {
  PathMatcher m = exact("/orders");
  m.methods = {"POST"};
  m.headers = {header("content-type", "application/json")};
  m.queryParameters = {query("dry-run", "true")};
  std::vector<RouteEntry> routes{route(1, {m}), route(2, {prefix("/")})};
  http::HeaderMap json = headers({{"Content-Type", "application/json"}});
  http::HeaderMap text = headers({{"content-type", "text/plain"}});
  EXPECT_EQ(matchBoth(routes, request("/orders", "dry-run=true", "POST", &json)), 1);
  EXPECT_EQ(matchBoth(routes, request("/orders", "dry-run=true", "POST", &text)), 2);
  EXPECT_EQ(matchBoth(routes, request("/orders", "dry-run=false", "POST", &json)), 2);
  EXPECT_EQ(matchBoth(routes, request("/orders", "dry-run=true", "GET", &json)), 2);
  EXPECT_EQ(matchBoth(routes, request("/orders/", "dry-run=true", "POST", &json)), 2);
}

TEST(RouteConditions, PathTests) {
  EXPECT_TRUE(pathMatches(prefix("/a"), "/a/b"));
  EXPECT_TRUE(pathMatches(prefix(""), ""));
  EXPECT_FALSE(pathMatches(prefix("/a/"), "/a"));
  EXPECT_TRUE(pathMatches(exact("/a"), "/a"));
  EXPECT_FALSE(pathMatches(exact("/a"), "/a/"));
  EXPECT_TRUE(pathMatches(exact("/a", false), "/A"));
  EXPECT_TRUE(pathMatches(prefix("/a/", false), "/A/b"));
  EXPECT_TRUE(pathMatches(regex("/a/[0-9]+"), "/a/12"));
  EXPECT_FALSE(pathMatches(regex("/a/[0-9]+"), "/a/12/"));
  EXPECT_TRUE(pathMatches(regex("/a/[a-z]+", false), "/A/XY"));
}

}  // namespace
}  // namespace portico::router
