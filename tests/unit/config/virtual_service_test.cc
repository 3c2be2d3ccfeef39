// decodeVirtualService: Gloo examples decode; every unsupported or malformed field is named.
#include <gtest/gtest.h>

#include "config/decode.h"

namespace portico::config {
namespace {

RawObject raw(const std::string& yaml) {
  auto docs = parseYaml(yaml, "vs.yaml");
  EXPECT_TRUE(docs.ok()) << docs.error();
  if (!docs.ok() || docs->empty()) return {};
  auto obj = toRawObject(docs->front());
  EXPECT_TRUE(obj.ok()) << obj.error();
  return obj.ok() ? obj.value() : RawObject{};
}

// A VirtualService around `routes` (YAML lines indented for spec.virtualHost.routes).
std::string vsWithRoutes(const std::string& routes) {
  return "apiVersion: gateway.solo.io/v1\n"
         "kind: VirtualService\n"
         "metadata: {name: default, namespace: gloo-system}\n"
         "spec:\n"
         "  virtualHost:\n"
         "    domains: ['*']\n"
         "    routes:\n" +
         routes;
}

std::vector<std::string> errorsOf(const std::string& yaml) {
  Errors errors;
  decodeVirtualService(raw(yaml), errors);
  return errors.items();
}

TEST(DecodeVirtualServiceTest, PetstoreExampleFromGlooDocs) {
  // gloo-api.md §2.5, minus destinationSpec (function routing is a later milestone).
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
      "  sslConfig: {secretRef: {name: tls}}\n"
      "  virtualHost:\n"
      "    domains: ['*']\n"
      "    options:\n"
      "      cors: {allowOrigin: ['*']}\n"
      "    routes:\n"
      "    - matchers:\n"
      "      - prefix: /\n"
      "        headers: [{name: x}]\n"
      "        methods: [GET]\n"
      "      routeAction:\n"
      "        single:\n"
      "          upstream: {name: u, extra: 1}\n"
      "          destinationSpec: {rest: {functionName: f}}\n"
      "      options: {autoHostRewrite: true, retries: {numRetries: 3}}\n");
  std::vector<std::string> want = {
      "spec.virtualHost.routes[0].matchers[0].headers: field not supported by Portico yet",
      "spec.virtualHost.routes[0].matchers[0].methods: field not supported by Portico yet",
      "spec.virtualHost.routes[0].routeAction.single.upstream.extra: field not supported by "
      "Portico yet",
      "spec.virtualHost.routes[0].routeAction.single.destinationSpec: field not supported by "
      "Portico yet",
      "spec.virtualHost.routes[0].options.autoHostRewrite: field not supported by Portico yet",
      "spec.virtualHost.routes[0].options.retries: field not supported by Portico yet",
      "spec.virtualHost.options.cors: field not supported by Portico yet",
      "spec.sslConfig: field not supported by Portico yet",
      "extra: field not supported by Portico yet",
  };
  EXPECT_EQ(errs, want);
}

TEST(DecodeVirtualServiceTest, ActionErrors) {
  EXPECT_EQ(errorsOf(vsWithRoutes("    - routeAction: {single: {upstream: {name: a}}}\n"
                                  "    - matchers: [{prefix: /x}]\n")),
            std::vector<std::string>{"spec.virtualHost.routes[1]: one of routeAction, "
                                     "redirectAction, directResponseAction, delegateAction is "
                                     "required"});
  EXPECT_EQ(errorsOf(vsWithRoutes("    - redirectAction: {hostRedirect: x.com}\n")),
            std::vector<std::string>{
                "spec.virtualHost.routes[0].redirectAction: field not supported by Portico yet"});
  EXPECT_EQ(errorsOf(vsWithRoutes("    - directResponseAction: {status: 200}\n"
                                  "      routeAction: {single: {upstream: {name: a}}}\n")),
            (std::vector<std::string>{
                "spec.virtualHost.routes[0]: only one of routeAction, redirectAction, "
                "directResponseAction, delegateAction may be set",
                "spec.virtualHost.routes[0].directResponseAction: field not supported by Portico "
                "yet"}));
  EXPECT_EQ(
      errorsOf(vsWithRoutes("    - routeAction: {multi: {destinations: []}}\n")),
      std::vector<std::string>{
          "spec.virtualHost.routes[0].routeAction.multi: field not supported by Portico yet"});
  EXPECT_EQ(errorsOf(vsWithRoutes("    - routeAction: {}\n")),
            std::vector<std::string>{"spec.virtualHost.routes[0].routeAction.single: required"});
  EXPECT_EQ(errorsOf(vsWithRoutes("    - routeAction: {single: {upstream: {namespace: x}}}\n")),
            std::vector<std::string>{
                "spec.virtualHost.routes[0].routeAction.single.upstream.name: required"});
  EXPECT_EQ(
      errorsOf(vsWithRoutes("    - routeAction: {single: {}}\n")),
      std::vector<std::string>{"spec.virtualHost.routes[0].routeAction.single.upstream: required"});
}

TEST(DecodeVirtualServiceTest, MatcherErrors) {
  auto route = [](const std::string& matcher) {
    return vsWithRoutes("    - matchers: [" + matcher +
                        "]\n      routeAction: {single: {upstream: {name: a}}}\n");
  };
  EXPECT_EQ(errorsOf(route("{prefix: api}")),
            std::vector<std::string>{
                "spec.virtualHost.routes[0].matchers[0].prefix: must start with \"/\""});
  EXPECT_EQ(errorsOf(route("{exact: ''}")),
            std::vector<std::string>{
                "spec.virtualHost.routes[0].matchers[0].exact: must start with \"/\""});
  EXPECT_EQ(errorsOf(route("{prefix: /a, exact: /b}")),
            std::vector<std::string>{
                "spec.virtualHost.routes[0].matchers[0]: only one of prefix, exact, regex may be "
                "set"});
  auto regex = errorsOf(route("{regex: '/a(b'}"));
  ASSERT_EQ(regex.size(), 1u);
  EXPECT_EQ(regex[0].rfind("spec.virtualHost.routes[0].matchers[0].regex: invalid regex: ", 0), 0u)
      << regex[0];
  EXPECT_NE(regex[0].find("missing )"), std::string::npos) << regex[0];
  EXPECT_EQ(errorsOf(route("{caseSensitive: 'no'}")),
            std::vector<std::string>{"spec.virtualHost.routes[0].matchers[0].caseSensitive: "
                                     "expected a boolean, got string"});
  EXPECT_EQ(errorsOf(route("{queryParameters: [{name: q}]}")),
            std::vector<std::string>{"spec.virtualHost.routes[0].matchers[0].queryParameters: "
                                     "field not supported by Portico yet"});
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
