// Route matchers: path (prefix/exact/regex), headers, query parameters, methods.
#include <gtest/gtest.h>

#include "config/decode.h"
#include "decode_test_util.h"

namespace portico::config {
namespace {

using testing::Strings;

std::string withMatcher(const std::string& matcher) {
  return testing::vsWithRoutes("    - matchers: [" + matcher +
                               "]\n      routeAction: {single: {upstream: {name: a}}}\n");
}

Matcher decodeMatcher(const std::string& matcher) {
  VirtualService vs = testing::decodeVs(withMatcher(matcher));
  if (vs.routes.size() != 1 || vs.routes[0].matchers.size() != 1) {
    ADD_FAILURE() << "no matcher decoded from " << matcher;
    return {};
  }
  return vs.routes[0].matchers[0];
}

std::vector<std::string> matcherErrors(const std::string& matcher) {
  return testing::vsErrors(withMatcher(matcher));
}

TEST(DecodeRouteMatcherTest, HeadersQueryParametersMethods) {
  VirtualService vs = testing::decodeVs(
      testing::vsWithRoutes("    - matchers:\n"
                            "      - prefix: /api\n"
                            "        headers:\n"
                            "        - {name: X-Version, value: v2}\n"
                            "        - {name: x-canary}\n"
                            "        - {name: User-Agent, value: '.*Mobile.*', regex: true}\n"
                            "        - {name: x-debug, value: '1', invertMatch: true}\n"
                            "        queryParameters:\n"
                            "        - {name: Flag}\n"
                            "        - {name: version, value: '2'}\n"
                            "        - {name: id, value: '[0-9]+', regex: true}\n"
                            "        methods: [get, POST, Patch]\n"
                            "      - exact: /exact\n"
                            "        caseSensitive: false\n"
                            "      routeAction: {single: {upstream: {name: a}}}\n"));
  ASSERT_EQ(vs.routes.size(), 1u);
  ASSERT_EQ(vs.routes[0].matchers.size(), 2u);
  const Matcher& m = vs.routes[0].matchers[0];
  EXPECT_EQ(m.type, Matcher::Type::Prefix);
  EXPECT_EQ(m.value, "/api");
  ASSERT_EQ(m.headers.size(), 4u);
  EXPECT_EQ(m.headers[0].name, "x-version");
  EXPECT_EQ(m.headers[0].value, "v2");
  EXPECT_FALSE(m.headers[0].regex);
  EXPECT_FALSE(m.headers[0].invertMatch);
  EXPECT_EQ(m.headers[1].name, "x-canary");
  EXPECT_EQ(m.headers[1].value, "");
  EXPECT_EQ(m.headers[2].name, "user-agent");
  EXPECT_EQ(m.headers[2].value, ".*Mobile.*");
  EXPECT_TRUE(m.headers[2].regex);
  EXPECT_TRUE(m.headers[3].invertMatch);
  ASSERT_EQ(m.queryParameters.size(), 3u);
  EXPECT_EQ(m.queryParameters[0].name, "Flag");  // query names are case-sensitive: kept
  EXPECT_EQ(m.queryParameters[0].value, "");
  EXPECT_EQ(m.queryParameters[1].value, "2");
  EXPECT_FALSE(m.queryParameters[1].regex);
  EXPECT_TRUE(m.queryParameters[2].regex);
  EXPECT_EQ(m.methods, (Strings{"GET", "POST", "PATCH"}));
  const Matcher& exact = vs.routes[0].matchers[1];
  EXPECT_EQ(exact.type, Matcher::Type::Exact);
  EXPECT_FALSE(exact.caseSensitive);
  EXPECT_TRUE(exact.headers.empty() && exact.queryParameters.empty() && exact.methods.empty());
}

TEST(DecodeRouteMatcherTest, PathDefaultsAndRegex) {
  Matcher empty = decodeMatcher("{}");
  EXPECT_EQ(empty.type, Matcher::Type::Prefix);
  EXPECT_EQ(empty.value, "/");
  Matcher regex = decodeMatcher("{regex: '/v[0-9]+/.*', caseSensitive: false}");
  EXPECT_EQ(regex.type, Matcher::Type::Regex);
  EXPECT_EQ(regex.value, "/v[0-9]+/.*");
  EXPECT_FALSE(regex.caseSensitive);
  Matcher headersOnly = decodeMatcher("{headers: [{name: x}]}");
  EXPECT_EQ(headersOnly.type, Matcher::Type::Prefix);
  EXPECT_EQ(headersOnly.value, "/");
}

TEST(DecodeRouteMatcherTest, PathErrors) {
  const std::string p = "spec.virtualHost.routes[0].matchers[0]";
  EXPECT_EQ(matcherErrors("{prefix: api}"), Strings{p + ".prefix: must start with \"/\""});
  EXPECT_EQ(matcherErrors("{exact: ''}"), Strings{p + ".exact: must start with \"/\""});
  EXPECT_EQ(matcherErrors("{prefix: /a, exact: /b}"),
            Strings{p + ": only one of prefix, exact, regex may be set"});
  auto regex = matcherErrors("{regex: '/a(b'}");
  ASSERT_EQ(regex.size(), 1u);
  EXPECT_EQ(regex[0].rfind(p + ".regex: invalid regex: ", 0), 0u) << regex[0];
  EXPECT_NE(regex[0].find("missing )"), std::string::npos) << regex[0];
  EXPECT_EQ(matcherErrors("{caseSensitive: 'no'}"),
            Strings{p + ".caseSensitive: expected a boolean, got string"});
  EXPECT_EQ(matcherErrors("{prefix: /, extra: 1}"),
            Strings{p + ".extra: field not supported by Portico yet"});
}

TEST(DecodeRouteMatcherTest, HeaderErrors) {
  const std::string p = "spec.virtualHost.routes[0].matchers[0].headers";
  EXPECT_EQ(matcherErrors("{headers: [{value: x}]}"), Strings{p + "[0].name: required"});
  EXPECT_EQ(matcherErrors("{headers: [{name: ''}]}"), Strings{p + "[0].name: required"});
  EXPECT_EQ(matcherErrors("{headers: [{name: ok}, {name: 'x y'}]}"),
            Strings{p + "[1].name: invalid header name \"x y\": expected a token (letters, "
                        "digits and !#$%&'*+-.^_`|~)"});
  // Envoy's pseudo-headers are matchable; ":status" (a response's) and unknown ones are not.
  EXPECT_EQ(matcherErrors("{headers: [{name: ':authority', value: a}, {name: ':method'}, "
                          "{name: ':path'}, {name: ':scheme'}]}"),
            Strings{});
  EXPECT_EQ(matcherErrors("{headers: [{name: ':status', value: a}]}"),
            Strings{p + "[0].name: invalid header name \":status\": expected a token "
                        "(letters, digits and !#$%&'*+-.^_`|~)"});
  auto regex = matcherErrors("{headers: [{name: a, value: '[', regex: true}]}");
  ASSERT_EQ(regex.size(), 1u);
  EXPECT_EQ(regex[0].rfind(p + "[0].value: invalid regex: ", 0), 0u) << regex[0];
  EXPECT_NE(regex[0].find("missing ]"), std::string::npos) << regex[0];
  // Not a regex: "[" is an exact value.
  EXPECT_TRUE(matcherErrors("{headers: [{name: a, value: '['}]}").empty());
  EXPECT_EQ(matcherErrors("{headers: [{name: a, regex: 'yes'}]}"),
            Strings{p + "[0].regex: expected a boolean, got string"});
  EXPECT_EQ(matcherErrors("{headers: {name: a}}"), Strings{p + ": expected a list, got map"});
  EXPECT_EQ(matcherErrors("{headers: [a]}"), Strings{p + "[0]: expected a map, got string"});
}

TEST(DecodeRouteMatcherTest, QueryParameterAndMethodErrors) {
  const std::string p = "spec.virtualHost.routes[0].matchers[0]";
  EXPECT_EQ(matcherErrors("{queryParameters: [{value: x}]}"),
            Strings{p + ".queryParameters[0].name: required"});
  EXPECT_EQ(matcherErrors("{queryParameters: [{name: 'a=b'}]}"),
            Strings{p + ".queryParameters[0].name: invalid query parameter name \"a=b\": must "
                        "not contain '&', '=' or '#'"});
  auto regex = matcherErrors("{queryParameters: [{name: q, value: '(', regex: true}]}");
  ASSERT_EQ(regex.size(), 1u);
  EXPECT_EQ(regex[0].rfind(p + ".queryParameters[0].value: invalid regex: ", 0), 0u) << regex[0];
  EXPECT_EQ(matcherErrors("{queryParameters: [{name: q, invertMatch: true}]}"),
            Strings{p + ".queryParameters[0].invertMatch: field not supported by Portico yet"});
  EXPECT_EQ(matcherErrors("{methods: [GET, 'PO ST', '']}"),
            (Strings{p + ".methods[1]: invalid method \"PO ST\": expected a token such as GET",
                     p + ".methods[2]: invalid method \"\": expected a token such as GET"}));
  EXPECT_EQ(matcherErrors("{methods: GET}"), Strings{p + ".methods: expected a list, got string"});
  EXPECT_EQ(matcherErrors("{methods: [1]}"),
            Strings{p + ".methods[0]: expected a string, got number"});
}

}  // namespace
}  // namespace portico::config
