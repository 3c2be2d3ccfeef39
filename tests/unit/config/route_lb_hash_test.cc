// Route option lbHash (RouteOptions.hashPolicies): what ringHash / maglev upstreams hash.
#include <gtest/gtest.h>

#include "config/decode.h"
#include "decode_test_util.h"

namespace portico::config {
namespace {

using testing::Strings;

std::string withLbHash(const std::string& lbHash) {
  return testing::vsWithRoute("      options:\n        lbHash: " + lbHash + "\n");
}

std::vector<HashPolicy> policiesOf(const std::string& lbHash) {
  VirtualService vs = testing::decodeVs(withLbHash(lbHash));
  return vs.routes.empty() ? std::vector<HashPolicy>{} : vs.routes[0].options.hashPolicies;
}

Strings lbHashErrors(const std::string& lbHash) { return testing::vsErrors(withLbHash(lbHash)); }

const std::string kLb = "spec.virtualHost.routes[0].options.lbHash";

TEST(DecodeRouteOptionsLbHashTest, GlooSessionAffinityExample) {
  VirtualService vs = testing::decodeVs(
      testing::vsWithRoute("      options:\n"
                           "        lbHash:\n"
                           "          hashPolicies:\n"
                           "          - header: X-User-Id\n"
                           "            terminal: true\n"
                           "          - cookie: {name: gloo, ttl: 1h, path: /abc}\n"
                           "          - sourceIp: true\n"
                           "            terminal: false\n"));
  ASSERT_EQ(vs.routes.size(), 1u);
  const auto& policies = vs.routes[0].options.hashPolicies;
  ASSERT_EQ(policies.size(), 3u);
  EXPECT_EQ(policies[0].type, HashPolicy::Type::Header);
  EXPECT_EQ(policies[0].name, "x-user-id");
  EXPECT_TRUE(policies[0].terminal);
  EXPECT_EQ(policies[1].type, HashPolicy::Type::Cookie);
  EXPECT_EQ(policies[1].name, "gloo");
  EXPECT_EQ(policies[1].cookieTtlMs, 3600000);
  EXPECT_EQ(policies[1].cookiePath, "/abc");
  EXPECT_FALSE(policies[1].terminal);
  EXPECT_EQ(policies[2].type, HashPolicy::Type::SourceIp);
  EXPECT_FALSE(policies[2].terminal);
}

TEST(DecodeRouteOptionsLbHashTest, Defaults) {
  EXPECT_TRUE(testing::decodeVs(testing::vsWithRoute("")).routes[0].options.hashPolicies.empty());
  EXPECT_TRUE(policiesOf("{}").empty());
  EXPECT_TRUE(policiesOf("{hashPolicies: []}").empty());
  auto cookie = policiesOf("{hashPolicies: [{cookie: {name: session}}]}");
  ASSERT_EQ(cookie.size(), 1u);
  EXPECT_EQ(cookie[0].type, HashPolicy::Type::Cookie);
  EXPECT_EQ(cookie[0].cookieTtlMs, 0);  // passive: read the cookie, never issue it
  EXPECT_EQ(cookie[0].cookiePath, "");
  EXPECT_FALSE(cookie[0].terminal);
}

TEST(DecodeRouteOptionsLbHashTest, RouteTableRoutesToo) {
  Errors errors;
  RouteTable rt = decodeRouteTable(
      testing::rawObject("apiVersion: gateway.solo.io/v1\nkind: RouteTable\n"
                         "metadata: {name: rt}\n"
                         "spec:\n"
                         "  routes:\n"
                         "  - routeAction: {single: {upstream: {name: a}}}\n"
                         "    options: {lbHash: {hashPolicies: [{header: x-session}]}}\n"),
      errors);
  ASSERT_TRUE(errors.empty()) << errors.toString();
  ASSERT_EQ(rt.routes.size(), 1u);
  ASSERT_EQ(rt.routes[0].options.hashPolicies.size(), 1u);
  EXPECT_EQ(rt.routes[0].options.hashPolicies[0].name, "x-session");
}

TEST(DecodeRouteOptionsLbHashTest, Errors) {
  const std::string p = kLb + ".hashPolicies[0]";
  EXPECT_EQ(lbHashErrors("{hashPolicies: [{}]}"),
            Strings{p + ": one of header, cookie, sourceIp is required"});
  EXPECT_EQ(lbHashErrors("{hashPolicies: [{terminal: true}]}"),
            Strings{p + ": one of header, cookie, sourceIp is required"});
  EXPECT_EQ(lbHashErrors("{hashPolicies: [{header: x, sourceIp: true}]}"),
            Strings{p + ": only one of header, cookie, sourceIp may be set"});
  EXPECT_EQ(lbHashErrors("{hashPolicies: [{header: ''}]}"), Strings{p + ".header: required"});
  EXPECT_EQ(lbHashErrors("{hashPolicies: [{header: 'x user'}]}"),
            Strings{p + ".header: invalid header name \"x user\": expected a token (letters, "
                        "digits and !#$%&'*+-.^_`|~)"});
  EXPECT_EQ(lbHashErrors("{hashPolicies: [{header: ':authority'}]}"),
            Strings{p + ".header: invalid header name \":authority\": expected a token "
                        "(letters, digits and !#$%&'*+-.^_`|~)"});
  EXPECT_EQ(lbHashErrors("{hashPolicies: [{header: 5}]}"),
            Strings{p + ".header: expected a string, got number"});
  EXPECT_EQ(lbHashErrors("{hashPolicies: [{cookie: {}}]}"), Strings{p + ".cookie.name: required"});
  EXPECT_EQ(lbHashErrors("{hashPolicies: [{cookie: session}]}"),
            Strings{p + ".cookie: expected a map, got string"});
  EXPECT_EQ(lbHashErrors("{hashPolicies: [{cookie: {name: 'a;b'}}]}"),
            Strings{p + ".cookie.name: invalid cookie name \"a;b\": expected a token (letters, "
                        "digits and !#$%&'*+-.^_`|~)"});
  EXPECT_EQ(lbHashErrors("{hashPolicies: [{cookie: {name: s, ttl: 0s}}]}"),
            Strings{p + ".cookie.ttl: must be greater than 0 (session cookies, ttl 0s, are not "
                        "supported by Portico yet)"});
  EXPECT_EQ(lbHashErrors("{hashPolicies: [{cookie: {name: s, ttl: 3600}}]}"),
            Strings{p + ".cookie.ttl: expected a duration string such as \"15s\", got number"});
  EXPECT_EQ(lbHashErrors("{hashPolicies: [{cookie: {name: s, path: abc}}]}"),
            Strings{p + ".cookie.path: invalid cookie path \"abc\": expected a path starting with "
                        "'/', without ';' or control characters"});
  EXPECT_EQ(lbHashErrors("{hashPolicies: [{cookie: {name: s, path: '/a; Secure'}}]}"),
            Strings{p + ".cookie.path: invalid cookie path \"/a; Secure\": expected a path "
                        "starting with '/', without ';' or control characters"});
  EXPECT_EQ(lbHashErrors("{hashPolicies: [{cookie: {name: s, domain: example.com}}]}"),
            Strings{p + ".cookie.domain: field not supported by Portico yet"});
  EXPECT_EQ(lbHashErrors("{hashPolicies: [{sourceIp: false}]}"),
            Strings{p + ".sourceIp: must be true: false hashes nothing (use header or cookie to "
                        "hash on something else)"});
  EXPECT_EQ(lbHashErrors("{hashPolicies: [{sourceIp: 'yes'}]}"),
            Strings{p + ".sourceIp: expected a boolean, got string"});
  EXPECT_EQ(lbHashErrors("{hashPolicies: [{header: x, terminal: 1}]}"),
            Strings{p + ".terminal: expected a boolean, got number"});
  EXPECT_EQ(lbHashErrors("{hashPolicies: [{header: x}, {queryParameter: {name: u}}]}"),
            (Strings{kLb + ".hashPolicies[1]: one of header, cookie, sourceIp is required",
                     kLb + ".hashPolicies[1].queryParameter: field not supported by Portico "
                           "yet"}));
  EXPECT_EQ(lbHashErrors("{hashPolicies: [x-user]}"),
            Strings{p + ": expected a map, got string"});
  EXPECT_EQ(lbHashErrors("{hashPolicies: {header: x}}"),
            Strings{kLb + ".hashPolicies: expected a list, got map"});
  EXPECT_EQ(lbHashErrors("[{header: x}]"), Strings{kLb + ": expected a map, got list"});
  EXPECT_EQ(lbHashErrors("{hashPolicies: [], policies: []}"),
            Strings{kLb + ".policies: field not supported by Portico yet"});
}

TEST(DecodeRouteOptionsLbHashTest, RouteOnlyAsInGloo) {
  EXPECT_EQ(testing::vsErrors("apiVersion: gateway.solo.io/v1\nkind: VirtualService\n"
                              "metadata: {name: d}\n"
                              "spec: {virtualHost: {options: {lbHash: {hashPolicies: "
                              "[{sourceIp: true}]}}}}\n"),
            Strings{"spec.virtualHost.options.lbHash: field not supported by Portico yet"});
}

}  // namespace
}  // namespace portico::config
