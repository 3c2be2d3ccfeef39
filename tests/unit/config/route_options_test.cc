// Route options and virtual-host options.
#include <gtest/gtest.h>

#include "config/decode.h"
#include "decode_test_util.h"

namespace portico::config {
namespace {

using testing::Strings;

std::string withOptions(const std::string& options) {
  return testing::vsWithRoute("      options:\n" + options);
}

RouteOptions optionsOf(const std::string& options) {
  VirtualService vs = testing::decodeVs(withOptions(options));
  return vs.routes.empty() ? RouteOptions{} : vs.routes[0].options;
}

std::vector<std::string> optionErrors(const std::string& options) {
  return testing::vsErrors(withOptions(options));
}

const std::string kOpt = "spec.virtualHost.routes[0].options";

TEST(DecodeRouteOptionsTest, Everything) {
  RouteOptions o = optionsOf(
      "        timeout: 20s\n"
      "        prefixRewrite: /api/pets\n"
      "        hostRewrite: api.example.com\n"
      "        retries: {retryOn: 'connect-failure, 5xx,reset', numRetries: 3, perTryTimeout: 2s}\n"
      "        headerManipulation:\n"
      "          requestHeadersToAdd:\n"
      "          - header: {key: X-Gateway, value: portico}\n"
      "          - header: {key: x-tag, value: '100%%'}\n"
      "            append: false\n"
      "          requestHeadersToRemove: [Cookie]\n"
      "          responseHeadersToAdd:\n"
      "          - header: {key: Strict-Transport-Security, value: max-age=31536000}\n"
      "          responseHeadersToRemove: [server, X-Powered-By]\n"
      "        cors:\n"
      "          allowOrigin: ['https://example.com', '*']\n"
      "          allowOriginRegex: ['https://[a-z]+\\.example\\.com']\n"
      "          allowMethods: [GET, POST]\n"
      "          allowHeaders: [content-type, x-requested-with]\n"
      "          exposeHeaders: [x-request-id]\n"
      "          maxAge: '86400'\n"
      "          allowCredentials: true\n"
      "        faults:\n"
      "          abort: {percentage: 12.5, httpStatus: 503}\n"
      "          delay: {percentage: 50, fixedDelay: 250ms}\n"
      "        shadowing: {upstream: {name: shadow}, percentage: 10}\n");
  EXPECT_EQ(o.timeoutMs, 20000);
  EXPECT_EQ(o.prefixRewrite, "/api/pets");
  EXPECT_EQ(o.hostRewrite, "api.example.com");
  EXPECT_FALSE(o.autoHostRewrite.has_value());
  ASSERT_TRUE(o.retries.has_value());
  EXPECT_EQ(o.retries->retryOn, "connect-failure,5xx,reset");
  EXPECT_EQ(o.retries->numRetries, 3u);
  EXPECT_EQ(o.retries->perTryTimeoutMs, 2000);
  ASSERT_TRUE(o.headerManipulation.has_value());
  const HeaderManipulation& hm = *o.headerManipulation;
  ASSERT_EQ(hm.requestHeadersToAdd.size(), 2u);
  EXPECT_EQ(hm.requestHeadersToAdd[0].key, "x-gateway");
  EXPECT_EQ(hm.requestHeadersToAdd[0].value, "portico");
  EXPECT_TRUE(hm.requestHeadersToAdd[0].append);
  EXPECT_EQ(hm.requestHeadersToAdd[1].value, "100%");  // Envoy's "%%" escape
  EXPECT_FALSE(hm.requestHeadersToAdd[1].append);
  EXPECT_EQ(hm.requestHeadersToRemove, Strings{"cookie"});
  ASSERT_EQ(hm.responseHeadersToAdd.size(), 1u);
  EXPECT_EQ(hm.responseHeadersToAdd[0].key, "strict-transport-security");
  EXPECT_EQ(hm.responseHeadersToRemove, (Strings{"server", "x-powered-by"}));
  ASSERT_TRUE(o.cors.has_value());
  EXPECT_EQ(o.cors->allowOrigin, (Strings{"https://example.com", "*"}));
  EXPECT_EQ(o.cors->allowOriginRegex, Strings{"https://[a-z]+\\.example\\.com"});
  EXPECT_EQ(o.cors->allowMethods, (Strings{"GET", "POST"}));
  EXPECT_EQ(o.cors->allowHeaders, (Strings{"content-type", "x-requested-with"}));
  EXPECT_EQ(o.cors->exposeHeaders, Strings{"x-request-id"});
  EXPECT_EQ(o.cors->maxAge, "86400");
  EXPECT_TRUE(o.cors->allowCredentials);
  ASSERT_TRUE(o.faults.has_value());
  ASSERT_TRUE(o.faults->abort.has_value());
  EXPECT_DOUBLE_EQ(o.faults->abort->percentage, 12.5);
  EXPECT_EQ(o.faults->abort->httpStatus, 503u);
  ASSERT_TRUE(o.faults->delay.has_value());
  EXPECT_DOUBLE_EQ(o.faults->delay->percentage, 50);
  EXPECT_EQ(o.faults->delay->fixedDelayMs, 250);
  ASSERT_TRUE(o.shadowing.has_value());
  EXPECT_EQ(o.shadowing->upstream, (ResourceRef{"shadow", "gloo-system"}));
  EXPECT_DOUBLE_EQ(o.shadowing->percentage, 10);
  EXPECT_EQ(o.shadowing->fieldPath, kOpt + ".shadowing.upstream");
}

TEST(DecodeRouteOptionsTest, DefaultsAndAlternatives) {
  RouteOptions o = optionsOf("        autoHostRewrite: true\n"
                             "        regexRewrite: {pattern: {regex: '^/service/([^/]+)(/.*)$'},"
                             " substitution: '\\2/instance/\\1'}\n"
                             "        retries: {}\n"
                             "        faults: {abort: {httpStatus: 500}}\n"
                             "        shadowing: {upstream: {name: s, namespace: other}}\n"
                             "        cors: {maxAge: 600}\n");
  EXPECT_EQ(o.autoHostRewrite, true);
  ASSERT_TRUE(o.regexRewrite.has_value());
  EXPECT_EQ(o.regexRewrite->pattern, "^/service/([^/]+)(/.*)$");
  EXPECT_EQ(o.regexRewrite->substitution, "\\2/instance/\\1");
  ASSERT_TRUE(o.retries.has_value());
  EXPECT_EQ(o.retries->retryOn, "5xx");
  EXPECT_EQ(o.retries->numRetries, 1u);
  EXPECT_EQ(o.retries->perTryTimeoutMs, 0);
  EXPECT_DOUBLE_EQ(o.faults->abort->percentage, 0);
  EXPECT_FALSE(o.faults->delay.has_value());
  EXPECT_EQ(o.shadowing->upstream, (ResourceRef{"s", "other"}));
  EXPECT_DOUBLE_EQ(o.shadowing->percentage, 100);
  EXPECT_EQ(o.cors->maxAge, "600");
  EXPECT_FALSE(o.cors->allowCredentials);
  EXPECT_FALSE(o.timeoutMs.has_value());
  EXPECT_FALSE(o.headerManipulation.has_value());

  RouteOptions none = optionsOf("        {}\n");
  EXPECT_FALSE(none.retries || none.cors || none.faults || none.shadowing || none.regexRewrite);
}

TEST(DecodeRouteOptionsTest, RewriteAndTimeoutErrors) {
  EXPECT_EQ(optionErrors("        {timeout: 0s}\n"),
            Strings{kOpt + ".timeout: must be greater than 0"});
  EXPECT_EQ(optionErrors("        {timeout: soon}\n"),
            Strings{kOpt + ".timeout: invalid duration \"soon\": expected e.g. \"15s\", \"1.5s\", "
                           "\"250ms\" or \"1m30s\""});
  EXPECT_EQ(optionErrors("        {prefixRewrite: 5}\n"),
            Strings{kOpt + ".prefixRewrite: expected a string, got number"});
  EXPECT_EQ(optionErrors("        {prefixRewrite: /, regexRewrite: {pattern: {regex: a}}}\n"),
            Strings{kOpt + ": only one of prefixRewrite, regexRewrite may be set"});
  auto bad = optionErrors("        {regexRewrite: {pattern: {regex: 'a('}, substitution: b}}\n");
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0].rfind(kOpt + ".regexRewrite.pattern.regex: invalid regex: ", 0), 0u) << bad[0];
  auto group =
      optionErrors("        {regexRewrite: {pattern: {regex: '(a)'}, substitution: '\\2'}}\n");
  ASSERT_EQ(group.size(), 1u);
  EXPECT_EQ(group[0].rfind(kOpt + ".regexRewrite.substitution: ", 0), 0u) << group[0];
  EXPECT_EQ(optionErrors("        {regexRewrite: {substitution: x}}\n"),
            Strings{kOpt + ".regexRewrite.pattern: required"});
  EXPECT_EQ(optionErrors("        {regexRewrite: {pattern: {}}}\n"),
            Strings{kOpt + ".regexRewrite.pattern.regex: required"});
  EXPECT_EQ(optionErrors("        {hostRewrite: a.com, autoHostRewrite: false}\n"),
            Strings{kOpt + ": only one of hostRewrite, autoHostRewrite may be set"});
  EXPECT_EQ(optionErrors("        {hostRewrite: 'a com'}\n"),
            Strings{kOpt + ".hostRewrite: invalid host \"a com\": expected a host name or IP "
                           "address, optionally followed by \":port\""});
  EXPECT_EQ(optionErrors("        {autoHostRewrite: 1}\n"),
            Strings{kOpt + ".autoHostRewrite: expected a boolean, got number"});
}

TEST(DecodeRouteOptionsTest, RetryErrors) {
  EXPECT_EQ(optionErrors("        {retries: {retryOn: '5xx,refused-stream'}}\n"),
            Strings{kOpt + ".retries.retryOn: unsupported retry condition \"refused-stream\": "
                           "expected a comma-separated list of 5xx, gateway-error, "
                           "connect-failure, reset, retriable-4xx"});
  EXPECT_EQ(optionErrors("        {retries: {retryOn: '5xx,,reset'}}\n"),
            Strings{kOpt + ".retries.retryOn: unsupported retry condition \"\": expected a "
                           "comma-separated list of 5xx, gateway-error, connect-failure, reset, "
                           "retriable-4xx"});
  EXPECT_EQ(optionErrors("        {retries: {numRetries: 11}}\n"),
            Strings{kOpt + ".retries.numRetries: must be between 0 and 10, got 11"});
  EXPECT_EQ(optionErrors("        {retries: {perTryTimeout: 5}}\n"),
            Strings{kOpt + ".retries.perTryTimeout: expected a duration string such as \"15s\", "
                           "got number"});
}

TEST(DecodeRouteOptionsTest, HeaderManipulationErrors) {
  const std::string p = kOpt + ".headerManipulation";
  auto add = [](const std::string& key) {
    return optionErrors("        headerManipulation: {requestHeadersToAdd: [{header: {key: '" +
                        key + "', value: v}}]}\n");
  };
  const std::string k = p + ".requestHeadersToAdd[0].header.key: ";
  EXPECT_EQ(add("Host"), Strings{k + "\"host\" cannot be added or removed: use "
                                     "options.hostRewrite or options.autoHostRewrite"});
  EXPECT_EQ(add("Connection"),
            Strings{k + "\"connection\" is a hop-by-hop header that Portico manages; it cannot "
                        "be added or removed"});
  for (const char* h :
       {"transfer-encoding", "keep-alive", "upgrade", "te", "trailer", "proxy-connection"})
    EXPECT_EQ(add(h).size(), 1u) << h;
  EXPECT_EQ(add("content-length"),
            Strings{k + "\"content-length\" is set by Portico from the body; it cannot be added "
                        "or removed"});
  EXPECT_EQ(add(":path"), Strings{k + "pseudo-header \":path\" cannot be added or removed"});
  EXPECT_EQ(add("a b"), Strings{k + "invalid header name \"a b\": expected a token (letters, "
                                    "digits and !#$%&'*+-.^_`|~)"});
  EXPECT_EQ(add(""), Strings{k + "required"});
  // "host" is only special on requests.
  EXPECT_TRUE(optionErrors("        headerManipulation: {responseHeadersToAdd: [{header: {key: "
                           "host, value: v}}], responseHeadersToRemove: [host]}\n")
                  .empty());
  EXPECT_EQ(optionErrors("        headerManipulation: {requestHeadersToRemove: [x, Upgrade]}\n"),
            Strings{p + ".requestHeadersToRemove[1]: \"upgrade\" is a hop-by-hop header that "
                        "Portico manages; it cannot be added or removed"});
  EXPECT_EQ(
      optionErrors("        headerManipulation: {responseHeadersToRemove: [Transfer-Encoding]}\n"),
      Strings{p + ".responseHeadersToRemove[0]: \"transfer-encoding\" is a hop-by-hop "
                  "header that Portico manages; it cannot be added or removed"});
  EXPECT_EQ(optionErrors("        headerManipulation: {requestHeadersToAdd: [{header: {key: x-ip, "
                         "value: '%DOWNSTREAM_REMOTE_ADDRESS%'}}]}\n"),
            Strings{p + ".requestHeadersToAdd[0].header.value: header variables such as "
                        "%DOWNSTREAM_REMOTE_ADDRESS% are not supported by Portico yet (write %% "
                        "for a literal %)"});
  EXPECT_EQ(optionErrors("        headerManipulation: {requestHeadersToAdd: [{header: {key: x, "
                         "value: \"a\\r\\nb\"}}]}\n"),
            Strings{p + ".requestHeadersToAdd[0].header.value: must not contain CR, LF or NUL "
                        "characters"});
  EXPECT_EQ(optionErrors("        headerManipulation: {requestHeadersToAdd: [{append: true}]}\n"),
            Strings{p + ".requestHeadersToAdd[0].header: required"});
  EXPECT_EQ(optionErrors("        headerManipulation: {requestHeadersToAdd: [{header: {key: x}, "
                         "append: 'no'}]}\n"),
            Strings{p + ".requestHeadersToAdd[0].append: expected a boolean, got string"});
}

TEST(DecodeRouteOptionsTest, CorsFaultShadowingErrors) {
  auto regex = optionErrors("        cors: {allowOriginRegex: [ok, '(']}\n");
  ASSERT_EQ(regex.size(), 1u);
  EXPECT_EQ(regex[0].rfind(kOpt + ".cors.allowOriginRegex[1]: invalid regex: ", 0), 0u) << regex[0];
  EXPECT_EQ(optionErrors("        cors: {allowOrigin: ['']}\n"),
            Strings{kOpt + ".cors.allowOrigin[0]: must not be empty"});
  EXPECT_EQ(optionErrors("        cors: {allowMethods: ['GET, POST']}\n"),
            Strings{kOpt + ".cors.allowMethods[0]: invalid value \"GET, POST\": expected a token "
                           "(letters, digits and !#$%&'*+-.^_`|~)"});
  EXPECT_EQ(optionErrors("        cors: {maxAge: 1d}\n"),
            Strings{kOpt + ".cors.maxAge: expected a number of seconds such as \"86400\", got "
                           "\"1d\""});
  EXPECT_EQ(optionErrors("        faults: {abort: {percentage: 101, httpStatus: 503}}\n"),
            Strings{kOpt + ".faults.abort.percentage: must be between 0 and 100, got 101"});
  EXPECT_EQ(optionErrors("        faults: {abort: {percentage: '5'}}\n"),
            (Strings{kOpt + ".faults.abort.percentage: expected a number, got string",
                     kOpt + ".faults.abort.httpStatus: required"}));
  EXPECT_EQ(optionErrors("        faults: {abort: {httpStatus: 100}}\n"),
            Strings{kOpt + ".faults.abort.httpStatus: must be between 200 and 599, got 100"});
  EXPECT_EQ(optionErrors("        faults: {delay: {percentage: 1}}\n"),
            Strings{kOpt + ".faults.delay.fixedDelay: required"});
  EXPECT_EQ(optionErrors("        faults: {delay: {fixedDelay: 0s}}\n"),
            Strings{kOpt + ".faults.delay.fixedDelay: must be greater than 0"});
  EXPECT_EQ(optionErrors("        faults: {delay: {fixedDelay: 1s, percentage: -1}}\n"),
            Strings{kOpt + ".faults.delay.percentage: must be between 0 and 100, got -1"});
  EXPECT_EQ(optionErrors("        shadowing: {percentage: 5}\n"),
            Strings{kOpt + ".shadowing.upstream: required"});
  EXPECT_EQ(optionErrors("        shadowing: {upstream: {name: s}, percentage: .nan}\n"),
            Strings{kOpt + ".shadowing.percentage: must be between 0 and 100, got .nan"});
}

TEST(DecodeRouteOptionsTest, VirtualHostOptions) {
  VirtualService vs = testing::decodeVs(
      "apiVersion: gateway.solo.io/v1\n"
      "kind: VirtualService\n"
      "metadata: {name: default}\n"
      "spec:\n"
      "  virtualHost:\n"
      "    options:\n"
      "      sortRoutes: true\n"
      "      headerManipulation: {responseHeadersToAdd: [{header: {key: x-served-by, value: p}}]}\n"
      "      cors: {allowOrigin: ['*'], allowMethods: [GET]}\n"
      "      retries: {retryOn: gateway-error, numRetries: 2}\n");
  EXPECT_TRUE(vs.sortRoutes);
  ASSERT_TRUE(vs.options.headerManipulation.has_value());
  EXPECT_EQ(vs.options.headerManipulation->responseHeadersToAdd[0].key, "x-served-by");
  ASSERT_TRUE(vs.options.cors.has_value());
  EXPECT_EQ(vs.options.cors->allowOrigin, Strings{"*"});
  ASSERT_TRUE(vs.options.retries.has_value());
  EXPECT_EQ(vs.options.retries->retryOn, "gateway-error");
  EXPECT_EQ(vs.options.retries->numRetries, 2u);

  auto errs = testing::vsErrors(
      "apiVersion: gateway.solo.io/v1\nkind: VirtualService\nmetadata: {name: d}\n"
      "spec: {virtualHost: {options: {sortRoutes: 'yes', timeout: 5s, prefixRewrite: /,"
      " faults: {}, headerManipulation: {requestHeadersToAdd: [{header: {key: host}}]}}}}\n");
  EXPECT_EQ(errs,
            (Strings{"spec.virtualHost.options.headerManipulation.requestHeadersToAdd[0].header."
                     "key: \"host\" cannot be added or removed: use options.hostRewrite or "
                     "options.autoHostRewrite",
                     "spec.virtualHost.options.sortRoutes: expected a boolean, got string",
                     "spec.virtualHost.options.timeout: field not supported by Portico yet",
                     "spec.virtualHost.options.prefixRewrite: field not supported by Portico yet",
                     "spec.virtualHost.options.faults: field not supported by Portico yet"}));
}

}  // namespace
}  // namespace portico::config
