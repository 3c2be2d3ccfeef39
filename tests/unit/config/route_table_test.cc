// decodeRouteTable (gateway.solo.io/v1 RouteTable) and decodeUpstreamGroup
// (gloo.solo.io/v1 UpstreamGroup).
#include <gtest/gtest.h>

#include "config/decode.h"
#include "decode_test_util.h"

namespace portico::config {
namespace {

using testing::Strings;

std::vector<std::string> routeTableErrors(const std::string& spec) {
  Errors errors;
  decodeRouteTable(testing::rawObject("apiVersion: gateway.solo.io/v1\nkind: RouteTable\n"
                                      "metadata: {name: rt, namespace: team-a}\n" +
                                      spec),
                   errors);
  return errors.items();
}

std::vector<std::string> groupErrors(const std::string& spec) {
  Errors errors;
  decodeUpstreamGroup(testing::rawObject("apiVersion: gloo.solo.io/v1\nkind: UpstreamGroup\n"
                                         "metadata: {name: g}\n" +
                                         spec),
                      errors);
  return errors.items();
}

TEST(DecodeRouteTableTest, GlooDelegationExample) {
  // docs.solo.io/gloo-edge .../delegation: a table of routes under the delegating prefix.
  RawObject obj = testing::rawObject(
      "apiVersion: gateway.solo.io/v1\n"
      "kind: RouteTable\n"
      "metadata:\n"
      "  name: a-routes\n"
      "  namespace: a\n"
      "  labels: {domain: example.com}\n"
      "spec:\n"
      "  weight: 20\n"
      "  routes:\n"
      "    - matchers:\n"
      "        - prefix: /a/1\n"
      "      routeAction:\n"
      "        single:\n"
      "          upstream: {name: default-petstore-8080, namespace: gloo-system}\n"
      "    - matchers: [{exact: /a/2}]\n"
      "      options: {prefixRewrite: /}\n"
      "      routeAction: {single: {upstream: {name: local}}}\n"
      "    - matchers: [{prefix: /a/nested}]\n"
      "      delegateAction: {selector: {labels: {nested: 'true'}}}\n");
  Errors errors;
  RouteTable rt = decodeRouteTable(obj, errors);
  ASSERT_TRUE(errors.empty()) << errors.toString();
  EXPECT_EQ(rt.meta.name, "a-routes");
  EXPECT_EQ(rt.meta.ns, "a");
  EXPECT_EQ(rt.weight, 20);
  ASSERT_EQ(rt.routes.size(), 3u);
  EXPECT_EQ(rt.routes[0].fieldPath, "spec.routes[0]");
  EXPECT_EQ(rt.routes[0].matchers[0].value, "/a/1");
  EXPECT_EQ(rt.routes[0].action.upstream, (ResourceRef{"default-petstore-8080", "gloo-system"}));
  EXPECT_EQ(rt.routes[0].action.fieldPath, "spec.routes[0].routeAction.single.upstream");
  EXPECT_EQ(rt.routes[1].action.upstream, (ResourceRef{"local", "a"}));  // the table's namespace
  EXPECT_EQ(rt.routes[1].options.prefixRewrite, "/");
  EXPECT_EQ(rt.routes[2].action.type, RouteAction::Type::Delegate);
  EXPECT_EQ(rt.routes[2].action.delegate.fieldPath, "spec.routes[2].delegateAction");
}

TEST(DecodeRouteTableTest, DefaultsAndErrors) {
  Errors errors;
  RouteTable rt = decodeRouteTable(
      testing::rawObject("apiVersion: gateway.solo.io/v1\nkind: RouteTable\nmetadata: {name: e}\n"
                         "spec: {}\n"),
      errors);
  EXPECT_TRUE(errors.empty()) << errors.toString();
  EXPECT_EQ(rt.weight, 0);
  EXPECT_TRUE(rt.routes.empty());

  EXPECT_EQ(routeTableErrors(""), Strings{"spec: required"});
  EXPECT_EQ(routeTableErrors("spec: {weight: 2147483648}\n"),
            Strings{"spec.weight: must be between -2147483648 and 2147483647, got 2147483648"});
  EXPECT_EQ(routeTableErrors("spec: {routes: {a: 1}}\n"),
            Strings{"spec.routes: expected a list, got map"});
  EXPECT_EQ(routeTableErrors("spec: {routes: [{matchers: [{prefix: x}]}], virtualHost: {}}\n"),
            (Strings{"spec.routes[0].matchers[0].prefix: must start with \"/\"",
                     "spec.routes[0]: one of routeAction, redirectAction, directResponseAction, "
                     "delegateAction is required",
                     "spec.virtualHost: field not supported by Portico yet"}));
  EXPECT_EQ(routeTableErrors("spec: {routes: [{routeAction: {multi: {destinations: [{destination: "
                             "{upstream: {name: a}}, weight: 0}]}}}]}\n"),
            Strings{"spec.routes[0].routeAction.multi.destinations[0].weight: must be greater "
                    "than 0"});
}

TEST(ConfigUpstreamGroupTest, GlooCanaryExample) {
  // docs.solo.io/gloo-edge .../destination_types/upstream_groups.
  Errors errors;
  UpstreamGroup g =
      decodeUpstreamGroup(testing::rawObject("apiVersion: gloo.solo.io/v1\n"
                                             "kind: UpstreamGroup\n"
                                             "metadata:\n"
                                             "  name: my-service-group\n"
                                             "  namespace: gloo-system\n"
                                             "spec:\n"
                                             "  destinations:\n"
                                             "  - destination:\n"
                                             "      upstream:\n"
                                             "        name: default-my-service-v1-8080\n"
                                             "        namespace: gloo-system\n"
                                             "    weight: 9\n"
                                             "  - destination:\n"
                                             "      upstream:\n"
                                             "        name: default-my-service-v2-8080\n"
                                             "        namespace: other\n"
                                             "    weight: 1\n"),
                          errors);
  ASSERT_TRUE(errors.empty()) << errors.toString();
  EXPECT_EQ(g.meta.name, "my-service-group");
  ASSERT_EQ(g.destinations.size(), 2u);
  EXPECT_EQ(g.destinations[0].destination.upstream,
            (ResourceRef{"default-my-service-v1-8080", "gloo-system"}));
  EXPECT_EQ(g.destinations[0].weight, 9u);
  EXPECT_EQ(g.destinations[0].destination.fieldPath, "spec.destinations[0].destination.upstream");
  EXPECT_EQ(g.destinations[1].destination.upstream.ns, "other");
  EXPECT_EQ(g.destinations[1].weight, 1u);
}

TEST(ConfigUpstreamGroupTest, Errors) {
  EXPECT_EQ(groupErrors(""), Strings{"spec: required"});
  EXPECT_EQ(groupErrors("spec: {}\n"), Strings{"spec.destinations: required"});
  EXPECT_EQ(groupErrors("spec: {destinations: []}\n"),
            Strings{"spec.destinations: at least one destination is required"});
  EXPECT_EQ(groupErrors("spec: {destinations: [{destination: {upstream: {name: a}}, weight: 1},"
                        " {destination: {upstream: {name: b}}, weight: 0}]}\n"),
            Strings{"spec.destinations[1].weight: must be greater than 0"});
  EXPECT_EQ(groupErrors("spec: {destinations: [{destination: {upstream: {}}, weight: 1,"
                        " options: {headerManipulation: {}}}]}\n"),
            (Strings{"spec.destinations[0].destination.upstream.name: required",
                     "spec.destinations[0].options.headerManipulation: field not supported by Portico "
                     "yet"}));
}

TEST(ConfigKnownKindTest, RouteTableAndUpstreamGroup) {
  EXPECT_TRUE(isKnownKind("gateway.solo.io/v1", "RouteTable"));
  EXPECT_TRUE(isKnownKind("gloo.solo.io/v1", "UpstreamGroup"));
  EXPECT_FALSE(isKnownKind("gloo.solo.io/v1", "RouteTable"));
  EXPECT_FALSE(isKnownKind("gateway.solo.io/v1", "UpstreamGroup"));
}

}  // namespace
}  // namespace portico::config
