// decodeVirtualService: Gloo examples decode; every unsupported or malformed field is named.
#include <gtest/gtest.h>

#include "config/decode.h"
#include "decode_test_util.h"

namespace portico::config {
namespace {

using testing::Strings;

RawObject raw(const std::string& yaml) { return testing::rawObject(yaml); }
std::string vsWithRoutes(const std::string& routes) { return testing::vsWithRoutes(routes); }
std::vector<std::string> errorsOf(const std::string& yaml) { return testing::vsErrors(yaml); }

TEST(DecodeVirtualServiceTest, PetstoreExampleFromGlooDocs) {
  // gloo-api.md §2.5.
  RawObject obj =
      raw("apiVersion: gateway.solo.io/v1\n"
          "kind: VirtualService\n"
          "metadata: {name: default, namespace: gloo-system}\n"
          "spec:\n"
          "  virtualHost:\n"
          "    domains: ['*']\n"
          "    routes:\n"
          "    - matchers: [{exact: /petstore/findPet}]\n"
          "      routeAction:\n"
          "        single:\n"
          "          upstream: {name: default-petstore-8080, namespace: gloo-system}\n");
  Errors errors;
  VirtualService vs = decodeVirtualService(obj, errors);
  ASSERT_TRUE(errors.empty()) << errors.toString();
  EXPECT_EQ(vs.meta.name, "default");
  EXPECT_EQ(vs.domains, std::vector<std::string>{"*"});
  ASSERT_EQ(vs.routes.size(), 1u);
  const Route& r = vs.routes[0];
  ASSERT_EQ(r.matchers.size(), 1u);
  EXPECT_EQ(r.matchers[0].type, Matcher::Type::Exact);
  EXPECT_EQ(r.matchers[0].value, "/petstore/findPet");
  EXPECT_TRUE(r.matchers[0].caseSensitive);
  EXPECT_EQ(r.action.upstream, (ResourceRef{"default-petstore-8080", "gloo-system"}));
  EXPECT_EQ(r.action.fieldPath, "spec.virtualHost.routes[0].routeAction.single.upstream");
}

TEST(DecodeVirtualServiceTest, FullSupportedSubset) {
  RawObject obj =
      raw("apiVersion: gateway.solo.io/v1\n"
          "kind: VirtualService\n"
          "metadata: {name: shop, namespace: team-a}\n"
          "status: {state: Accepted}\n"
          "spec:\n"
          "  displayName: The shop\n"
          "  virtualHost:\n"
          "    domains: [Shop.Example.com, '*.example.com', 'api.example.com:8080', "
          "'[::1]:80', 127.0.0.1]\n"
          "    routes:\n"
          "    - name: api\n"
          "      matchers:\n"
          "      - prefix: /api\n"
          "        caseSensitive: false\n"
          "      - regex: /v[0-9]+/.*\n"
          "      routeAction: {single: {upstream: {name: api}}}\n"
          "      options: {timeout: 1.5s, prefixRewrite: /}\n"
          "    - matchers: [{}]\n"
          "      routeAction: {single: {upstream: {name: web, namespace: other}}}\n"
          "    - routeAction: {single: {upstream: {name: web}}}\n");
  Errors errors;
  VirtualService vs = decodeVirtualService(obj, errors);
  ASSERT_TRUE(errors.empty()) << errors.toString();
  EXPECT_EQ(vs.domains,
            (std::vector<std::string>{"shop.example.com", "*.example.com", "api.example.com:8080",
                                      "[::1]:80", "127.0.0.1"}));
  ASSERT_EQ(vs.routes.size(), 3u);
  const Route& api = vs.routes[0];
  EXPECT_EQ(api.name, "api");
  ASSERT_EQ(api.matchers.size(), 2u);
  EXPECT_EQ(api.matchers[0].type, Matcher::Type::Prefix);
  EXPECT_EQ(api.matchers[0].value, "/api");
  EXPECT_FALSE(api.matchers[0].caseSensitive);
  EXPECT_EQ(api.matchers[1].type, Matcher::Type::Regex);
  EXPECT_EQ(api.matchers[1].value, "/v[0-9]+/.*");
  EXPECT_EQ(api.action.upstream, (ResourceRef{"api", "team-a"}));  // the VS's namespace
  EXPECT_EQ(api.options.timeoutMs, 1500);
  EXPECT_EQ(api.options.prefixRewrite, "/");
  ASSERT_EQ(vs.routes[1].matchers.size(), 1u);  // an empty matcher is prefix "/"
  EXPECT_EQ(vs.routes[1].matchers[0].type, Matcher::Type::Prefix);
  EXPECT_EQ(vs.routes[1].matchers[0].value, "/");
  EXPECT_EQ(vs.routes[1].action.upstream, (ResourceRef{"web", "other"}));
  EXPECT_FALSE(vs.routes[1].options.timeoutMs.has_value());
  EXPECT_TRUE(vs.routes[2].matchers.empty());
  EXPECT_EQ(vs.routes[2].action.fieldPath,
            "spec.virtualHost.routes[2].routeAction.single.upstream");
}

TEST(DecodeVirtualServiceTest, UnsupportedFieldsAtEveryDepth) {
  auto errs = errorsOf(
      "apiVersion: gateway.solo.io/v1\n"
      "kind: VirtualService\n"
      "metadata: {name: default}\n"
      "extra: 1\n"
      "spec:\n"
      "  sslConfig: {secretRef: {name: tls}, sds: {}}\n"
      "  virtualHost:\n"
      "    domains: ['*']\n"
      "    options:\n"
      "      cors: {allowOrigin: ['*'], disableForRoute: true}\n"
      "      transformations: {requestTransformation: {xsltTransformation: {}}}\n"
      "      extauth: {disable: true}\n"
      "    routes:\n"
      "    - matchers:\n"
      "      - prefix: /\n"
      "        headers: [{name: x, extra: 1}]\n"
      "        methods: [GET]\n"
      "      inheritableMatchers: true\n"
      "      routeAction:\n"
      "        single:\n"
      "          upstream: {name: u, extra: 1}\n"
      "          destinationSpec: {aws: {logicalName: f, extra: 1}}\n"
      "          subset: {values: {v: '1'}}\n"
      "      options:\n"
      "        autoHostRewrite: true\n"
      "        retries: {numRetries: 3, retryBackOff: {baseInterval: 1s}}\n"
      "        stagedTransformations: {postRouting: {}}\n"
      "        ratelimit: {}\n"
      "        waf: {}\n"
      "        jwt: {}\n"
      "        rbac: {}\n"
      "        regexRewrite: {pattern: {regex: a, googleRe2: {}}, substitution: b}\n"
      "    - routeAction:\n"
      "        multi: {destinations: [{destination: {kube: {ref: {name: k}}}, weight: 1, "
      "options: {headerManipulation: {}}}]}\n"
      "    - routeAction: {clusterHeader: x-cluster}\n"
      "    - delegateAction: {selector: {expressions: [{key: a}]}}\n"
      "      options:\n"
      "        headerManipulation: {requestHeadersToAdd: [{headerSecretRef: {name: s}}]}\n");
  std::vector<std::string> want = {
      "spec.virtualHost.routes[0].matchers[0].headers[0].extra: field not supported by Portico "
      "yet",
      "spec.virtualHost.routes[0].routeAction.single.upstream.extra: field not supported by "
      "Portico yet",
      "spec.virtualHost.routes[0].routeAction.single.destinationSpec.aws.extra: field not "
      "supported by Portico yet",
      "spec.virtualHost.routes[0].routeAction.single.subset: field not supported by Portico yet",
      "spec.virtualHost.routes[0].options.regexRewrite.pattern.googleRe2: field not supported by "
      "Portico yet",
      "spec.virtualHost.routes[0].options.retries.retryBackOff: field not supported by Portico "
      "yet",
      "spec.virtualHost.routes[0].options.stagedTransformations.postRouting: field not supported by Portico "
      "yet",
      "spec.virtualHost.routes[0].options.ratelimit: field not supported by Portico yet",
      "spec.virtualHost.routes[0].options.waf: field not supported by Portico yet",
      "spec.virtualHost.routes[0].options.jwt: field not supported by Portico yet",
      "spec.virtualHost.routes[0].options.rbac: field not supported by Portico yet",
      "spec.virtualHost.routes[0].inheritableMatchers: field not supported by Portico yet",
      "spec.virtualHost.routes[1].routeAction.multi.destinations[0].destination.kube: field not "
      "supported by Portico yet",
      "spec.virtualHost.routes[1].routeAction.multi.destinations[0].options.headerManipulation: "
      "field not supported by Portico yet",
      "spec.virtualHost.routes[2].routeAction.clusterHeader: field not supported by Portico yet",
      "spec.virtualHost.routes[3].delegateAction.selector.expressions: field not supported by "
      "Portico yet",
      "spec.virtualHost.routes[3].options.headerManipulation.requestHeadersToAdd[0]."
      "headerSecretRef: field not supported by Portico yet",
      "spec.virtualHost.options.cors.disableForRoute: field not supported by Portico yet",
      "spec.virtualHost.options.transformations.requestTransformation.xsltTransformation: field "
      "not supported by Portico yet",
      "spec.virtualHost.options.extauth: field not supported by Portico yet",
      "spec.sslConfig.sds: field not supported by Portico yet",
      "extra: field not supported by Portico yet",
  };
  EXPECT_EQ(errs, want);
}

TEST(DecodeVirtualServiceTest, RouteFieldPaths) {
  VirtualService vs =
      testing::decodeVs(vsWithRoutes("    - routeAction: {single: {upstream: {name: a}}}\n"
                                     "    - routeAction: {single: {upstream: {name: b}}}\n"));
  ASSERT_EQ(vs.routes.size(), 2u);
  EXPECT_EQ(vs.routes[0].fieldPath, "spec.virtualHost.routes[0]");
  EXPECT_EQ(vs.routes[1].fieldPath, "spec.virtualHost.routes[1]");
  EXPECT_EQ(vs.routes[1].action.type, RouteAction::Type::Single);
  EXPECT_FALSE(vs.sortRoutes);
}

TEST(DecodeVirtualServiceTest, ActionErrors) {
  EXPECT_EQ(errorsOf(vsWithRoutes("    - routeAction: {single: {upstream: {name: a}}}\n"
                                  "    - matchers: [{prefix: /x}]\n")),
            Strings{"spec.virtualHost.routes[1]: one of routeAction, redirectAction, "
                    "directResponseAction, delegateAction is required"});
  EXPECT_EQ(errorsOf(vsWithRoutes("    - directResponseAction: {status: 200}\n"
                                  "      routeAction: {single: {upstream: {name: a}}}\n")),
            Strings{"spec.virtualHost.routes[0]: only one of routeAction, redirectAction, "
                    "directResponseAction, delegateAction may be set"});
  EXPECT_EQ(errorsOf(vsWithRoutes("    - routeAction: {}\n")),
            Strings{"spec.virtualHost.routes[0].routeAction: one of single, multi, upstreamGroup "
                    "is required"});
  EXPECT_EQ(errorsOf(vsWithRoutes("    - routeAction: {single: {upstream: {namespace: x}}}\n")),
            Strings{"spec.virtualHost.routes[0].routeAction.single.upstream.name: required"});
  EXPECT_EQ(errorsOf(vsWithRoutes("    - routeAction: {single: {}}\n")),
            Strings{"spec.virtualHost.routes[0].routeAction.single.upstream: required"});
}

TEST(DecodeVirtualServiceTest, OptionErrors) {
  auto withOptions = [](const std::string& options) {
    return vsWithRoutes(
        "    - routeAction: {single: {upstream: {name: a}}}\n      options: " + options + "\n");
  };
  EXPECT_EQ(errorsOf(withOptions("{timeout: 0s}")),
            std::vector<std::string>{"spec.virtualHost.routes[0].options.timeout: must be greater "
                                     "than 0"});
  EXPECT_EQ(errorsOf(withOptions("{timeout: soon}")),
            std::vector<std::string>{"spec.virtualHost.routes[0].options.timeout: invalid duration "
                                     "\"soon\": expected e.g. \"15s\", \"1.5s\", \"250ms\" or "
                                     "\"1m30s\""});
  EXPECT_EQ(errorsOf(withOptions("{prefixRewrite: 5}")),
            std::vector<std::string>{"spec.virtualHost.routes[0].options.prefixRewrite: expected a "
                                     "string, got number"});
}

TEST(DecodeVirtualServiceTest, DomainErrors) {
  auto withDomains = [](const std::string& domains) {
    return "apiVersion: gateway.solo.io/v1\nkind: VirtualService\nmetadata: {name: d}\n"
           "spec: {virtualHost: {domains: " +
           domains + "}}\n";
  };
  EXPECT_EQ(errorsOf(withDomains("[a.com, A.com]")),
            std::vector<std::string>{"spec.virtualHost.domains[1]: duplicate domain \"a.com\""});
  EXPECT_EQ(errorsOf(withDomains("['']")),
            std::vector<std::string>{"spec.virtualHost.domains[0]: must not be empty"});
  for (const char* bad : {"'a b'", "'a.com:0'", "'a.com:99999'", "'*:80'", "'a*.com'", "'a..b'",
                          "'http://a.com'", "'*.'"}) {
    auto errs = errorsOf(withDomains(std::string("[") + bad + "]"));
    ASSERT_EQ(errs.size(), 1u) << bad;
    EXPECT_EQ(errs[0].rfind("spec.virtualHost.domains[0]: invalid domain ", 0), 0u) << errs[0];
  }
  EXPECT_EQ(errorsOf(withDomains("a.com")),
            std::vector<std::string>{"spec.virtualHost.domains: expected a list, got string"});
}

TEST(DecodeVirtualServiceTest, StructureErrors) {
  EXPECT_EQ(errorsOf("apiVersion: gateway.solo.io/v1\nkind: VirtualService\nmetadata: {name: d}\n"),
            std::vector<std::string>{"spec: required"});
  EXPECT_EQ(errorsOf("apiVersion: gateway.solo.io/v1\nkind: VirtualService\nmetadata: {name: d}\n"
                     "spec: {displayName: x}\n"),
            std::vector<std::string>{"spec.virtualHost: required"});
  EXPECT_EQ(errorsOf("apiVersion: gateway.solo.io/v1\nkind: VirtualService\nmetadata: {name: d}\n"
                     "spec: {virtualHost: {routes: {a: 1}}}\n"),
            std::vector<std::string>{"spec.virtualHost.routes: expected a list, got map"});
  EXPECT_EQ(errorsOf("apiVersion: gateway.solo.io/v1\nkind: VirtualService\nmetadata: {name: d}\n"
                     "spec: {virtualHost: {routes: [x]}}\n"),
            std::vector<std::string>{"spec.virtualHost.routes[0]: expected a map, got string"});
}

}  // namespace
}  // namespace portico::config
