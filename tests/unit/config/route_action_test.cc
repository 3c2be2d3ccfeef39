// Route actions: routeAction (single / multi / upstreamGroup), redirectAction,
// directResponseAction, delegateAction.
#include <gtest/gtest.h>

#include "config/decode.h"
#include "decode_test_util.h"

namespace portico::config {
namespace {

using testing::Strings;

// A VS in namespace team-a with one route `- <route>` (a flow map's inside, e.g.
// "redirectAction: {hostRedirect: x.com}").
std::string withRoute(const std::string& route) {
  return "apiVersion: gateway.solo.io/v1\n"
         "kind: VirtualService\n"
         "metadata: {name: shop, namespace: team-a}\n"
         "spec: {virtualHost: {routes: [{" +
         route + "}]}}\n";
}

RouteAction actionOf(const std::string& route) {
  VirtualService vs = testing::decodeVs(withRoute(route));
  if (vs.routes.size() != 1) {
    ADD_FAILURE() << "no route decoded from " << route;
    return {};
  }
  return vs.routes[0].action;
}

std::vector<std::string> routeErrors(const std::string& route) {
  return testing::vsErrors(withRoute(route));
}

const std::string kRoute = "spec.virtualHost.routes[0]";

TEST(DecodeRouteActionTest, Single) {
  RouteAction a = actionOf("routeAction: {single: {upstream: {name: web}}}");
  EXPECT_EQ(a.type, RouteAction::Type::Single);
  EXPECT_EQ(a.upstream, (ResourceRef{"web", "team-a"}));
  EXPECT_EQ(a.fieldPath, kRoute + ".routeAction.single.upstream");
}

TEST(DecodeRouteActionTest, MultiFromGlooDocs) {
  // docs.solo.io/gloo-edge .../destination_types/multi_destination: 90% v1, 10% v2.
  VirtualService vs =
      testing::decodeVs(testing::vsWithRoutes("    - matchers:\n"
                                              "       - prefix: /myservice\n"
                                              "      routeAction:\n"
                                              "        multi:\n"
                                              "          destinations:\n"
                                              "          - weight: 9\n"
                                              "            destination:\n"
                                              "              upstream:\n"
                                              "                name: default-myservice-v1-8080\n"
                                              "                namespace: gloo-system\n"
                                              "          - weight: 1\n"
                                              "            destination:\n"
                                              "              upstream:\n"
                                              "                name: default-myservice-v2-8080\n"));
  ASSERT_EQ(vs.routes.size(), 1u);
  const RouteAction& a = vs.routes[0].action;
  EXPECT_EQ(a.type, RouteAction::Type::Multi);
  EXPECT_EQ(a.fieldPath, kRoute + ".routeAction.multi");
  ASSERT_EQ(a.multi.size(), 2u);
  EXPECT_EQ(a.multi[0].weight, 9u);
  EXPECT_EQ(a.multi[0].destination.upstream,
            (ResourceRef{"default-myservice-v1-8080", "gloo-system"}));
  EXPECT_EQ(a.multi[0].destination.fieldPath,
            kRoute + ".routeAction.multi.destinations[0].destination.upstream");
  EXPECT_EQ(a.multi[1].weight, 1u);
  EXPECT_EQ(a.multi[1].destination.upstream.ns, "gloo-system");  // the VS's namespace
  EXPECT_EQ(a.multi[1].destination.fieldPath,
            kRoute + ".routeAction.multi.destinations[1].destination.upstream");
}

TEST(DecodeRouteActionTest, UpstreamGroup) {
  RouteAction a = actionOf("routeAction: {upstreamGroup: {name: canary}}");
  EXPECT_EQ(a.type, RouteAction::Type::UpstreamGroup);
  EXPECT_EQ(a.upstreamGroup, (ResourceRef{"canary", "team-a"}));
  EXPECT_EQ(a.fieldPath, kRoute + ".routeAction.upstreamGroup");
  a = actionOf("routeAction: {upstreamGroup: {name: canary, namespace: shared}}");
  EXPECT_EQ(a.upstreamGroup, (ResourceRef{"canary", "shared"}));
}

TEST(DecodeRouteActionTest, RouteActionErrors) {
  const std::string p = kRoute + ".routeAction";
  EXPECT_EQ(routeErrors("routeAction: {single: {upstream: {name: a}}, upstreamGroup: {name: g}}"),
            Strings{p + ": only one of single, multi, upstreamGroup may be set"});
  EXPECT_EQ(routeErrors("routeAction: {multi: {}}"), Strings{p + ".multi.destinations: required"});
  EXPECT_EQ(routeErrors("routeAction: {multi: {destinations: []}}"),
            Strings{p + ".multi.destinations: at least one destination is required"});
  EXPECT_EQ(routeErrors("routeAction: {multi: {destinations: [{destination: {upstream: {name: a}},"
                        " weight: 1}, {destination: {upstream: {name: b}}, weight: 0}]}}"),
            Strings{p + ".multi.destinations[1].weight: must be greater than 0"});
  EXPECT_EQ(
      routeErrors("routeAction: {multi: {destinations: [{destination: {upstream: {name: a}}}]}}"),
      Strings{p + ".multi.destinations[0].weight: required"});
  EXPECT_EQ(routeErrors("routeAction: {multi: {destinations: [{weight: 1}]}}"),
            Strings{p + ".multi.destinations[0].destination: required"});
  EXPECT_EQ(routeErrors("routeAction: {multi: {destinations: [{destination: {upstream: {name: a}},"
                        " weight: -1}]}}"),
            Strings{p + ".multi.destinations[0].weight: must be between 0 and 4294967295, got -1"});
  EXPECT_EQ(routeErrors("routeAction: {multi: {destinations: [{destination: {upstream: {name: a}},"
                        " weight: 4294967295}, {destination: {upstream: {name: b}}, weight: 1}]}}"),
            Strings{p + ".multi.destinations: the weights add up to more than 4294967295"});
  EXPECT_EQ(routeErrors("routeAction: {upstreamGroup: {namespace: x}}"),
            Strings{p + ".upstreamGroup.name: required"});
  EXPECT_EQ(routeErrors("routeAction: {single: {upstream: {name: a, namespace: 'Bad_NS'}}}"),
            Strings{p + ".single.upstream.namespace: invalid namespace \"Bad_NS\""});
  EXPECT_EQ(routeErrors("routeAction: {single: {upstream: web}}"),
            Strings{p + ".single.upstream: expected a map, got string"});
  EXPECT_EQ(routeErrors("routeAction: {multi: {destinations: {a: 1}}}"),
            Strings{p + ".multi.destinations: expected a list, got map"});
  EXPECT_EQ(routeErrors("routeAction: {multi: {destinations: [x]}}"),
            Strings{p + ".multi.destinations[0]: expected a map, got string"});
  EXPECT_EQ(routeErrors("routeAction: {single: {kube: {ref: {name: svc}}}}"),
            Strings{p + ".single.kube: field not supported by Portico yet"});
}

TEST(DecodeRouteActionTest, Redirect) {
  RouteAction a =
      actionOf("redirectAction: {hostRedirect: www.example.com:8443, pathRedirect: /new,"
               " responseCode: PERMANENT_REDIRECT, httpsRedirect: true, stripQuery: true}");
  EXPECT_EQ(a.type, RouteAction::Type::Redirect);
  EXPECT_EQ(a.fieldPath, kRoute + ".redirectAction");
  EXPECT_EQ(a.redirect.hostRedirect, "www.example.com:8443");
  EXPECT_EQ(a.redirect.pathRedirect, "/new");
  EXPECT_FALSE(a.redirect.prefixRewrite.has_value());
  EXPECT_EQ(a.redirect.responseCode, 308u);
  EXPECT_TRUE(a.redirect.httpsRedirect);
  EXPECT_TRUE(a.redirect.stripQuery);

  a = actionOf("redirectAction: {httpsRedirect: true}");  // Gloo's HTTP → HTTPS example
  EXPECT_EQ(a.redirect.responseCode, 301u);
  EXPECT_TRUE(a.redirect.hostRedirect.empty());
  EXPECT_FALSE(a.redirect.pathRedirect.has_value());

  a = actionOf("redirectAction: {prefixRewrite: /v2/}");
  EXPECT_EQ(a.redirect.prefixRewrite, "/v2/");

  struct Code {
    const char* yaml;
    uint32_t code;
  };
  for (Code c :
       {Code{"MOVED_PERMANENTLY", 301}, Code{"FOUND", 302}, Code{"SEE_OTHER", 303},
        Code{"TEMPORARY_REDIRECT", 307}, Code{"PERMANENT_REDIRECT", 308}, Code{"301", 301},
        Code{"302", 302}, Code{"303", 303}, Code{"307", 307}, Code{"308", 308}, Code{"1", 302}}) {
    a = actionOf(std::string("redirectAction: {hostRedirect: a.com, responseCode: ") + c.yaml +
                 "}");
    EXPECT_EQ(a.redirect.responseCode, c.code) << c.yaml;
  }
}

TEST(DecodeRouteActionTest, RedirectErrors) {
  const std::string p = kRoute + ".redirectAction";
  const std::string codes = "expected MOVED_PERMANENTLY, FOUND, SEE_OTHER, TEMPORARY_REDIRECT or "
                            "PERMANENT_REDIRECT (or 301, 302, 303, 307, 308), got ";
  EXPECT_EQ(routeErrors("redirectAction: {hostRedirect: a.com, responseCode: 304}"),
            Strings{p + ".responseCode: " + codes + "\"304\""});
  EXPECT_EQ(routeErrors("redirectAction: {hostRedirect: a.com, responseCode: MOVED}"),
            Strings{p + ".responseCode: " + codes + "\"MOVED\""});
  EXPECT_EQ(routeErrors("redirectAction: {hostRedirect: a.com, responseCode: [301]}"),
            Strings{p + ".responseCode: " + codes + "list"});
  EXPECT_EQ(routeErrors("redirectAction: {pathRedirect: /a, prefixRewrite: /b}"),
            Strings{p + ": only one of pathRedirect, prefixRewrite may be set"});
  EXPECT_EQ(routeErrors("redirectAction: {pathRedirect: a}"),
            Strings{p + ".pathRedirect: must start with \"/\""});
  EXPECT_EQ(routeErrors("redirectAction: {prefixRewrite: '/a b'}"),
            Strings{p + ".prefixRewrite: must not contain spaces or control characters"});
  EXPECT_EQ(routeErrors("redirectAction: {hostRedirect: 'http://a.com'}"),
            Strings{p + ".hostRedirect: invalid host \"http://a.com\": expected a host name or IP "
                        "address, optionally followed by \":port\""});
  EXPECT_EQ(routeErrors("redirectAction: {responseCode: FOUND}"),
            Strings{p + ": redirects to the request's own URL: set hostRedirect, pathRedirect, "
                        "prefixRewrite, httpsRedirect or stripQuery"});
  EXPECT_EQ(routeErrors("redirectAction: {hostRedirect: a.com, portRedirect: 8443}"),
            Strings{p + ".portRedirect: field not supported by Portico yet"});
}

TEST(DecodeRouteActionTest, DirectResponse) {
  RouteAction a = actionOf("directResponseAction: {status: 404, body: 'not here'}");
  EXPECT_EQ(a.type, RouteAction::Type::DirectResponse);
  EXPECT_EQ(a.fieldPath, kRoute + ".directResponseAction");
  EXPECT_EQ(a.directResponse.status, 404u);
  EXPECT_EQ(a.directResponse.body, "not here");
  a = actionOf("directResponseAction: {status: 204}");
  EXPECT_EQ(a.directResponse.status, 204u);
  EXPECT_EQ(a.directResponse.body, "");

  const std::string p = kRoute + ".directResponseAction";
  EXPECT_EQ(routeErrors("directResponseAction: {body: x}"), Strings{p + ".status: required"});
  EXPECT_EQ(routeErrors("directResponseAction: {status: 99}"),
            Strings{p + ".status: must be between 100 and 599, got 99"});
  EXPECT_EQ(routeErrors("directResponseAction: {status: 600}"),
            Strings{p + ".status: must be between 100 and 599, got 600"});
  EXPECT_EQ(routeErrors("directResponseAction: {status: '200'}"),
            Strings{p + ".status: expected a number, got string"});
}

TEST(DecodeRouteActionTest, Delegate) {
  RouteAction a = actionOf("matchers: [{prefix: /api}], delegateAction: {ref: {name: api-routes}}");
  EXPECT_EQ(a.type, RouteAction::Type::Delegate);
  EXPECT_EQ(a.fieldPath, kRoute + ".delegateAction");
  EXPECT_EQ(a.delegate.fieldPath, kRoute + ".delegateAction");
  EXPECT_FALSE(a.delegate.bySelector);
  EXPECT_EQ(a.delegate.ref, (ResourceRef{"api-routes", "team-a"}));

  a = actionOf("delegateAction: {name: old-style, namespace: other}");  // deprecated form
  EXPECT_FALSE(a.delegate.bySelector);
  EXPECT_EQ(a.delegate.ref, (ResourceRef{"old-style", "other"}));

  a = actionOf("delegateAction: {selector: {labels: {team: a, tier: api}, namespaces: [x, '*']}}");
  EXPECT_TRUE(a.delegate.bySelector);
  EXPECT_EQ(a.delegate.selectorLabels,
            (std::vector<std::pair<std::string, std::string>>{{"team", "a"}, {"tier", "api"}}));
  EXPECT_EQ(a.delegate.selectorNamespaces, (Strings{"x", "*"}));

  a = actionOf("delegateAction: {selector: {}}");  // every table of the VS's namespace
  EXPECT_TRUE(a.delegate.bySelector);
  EXPECT_TRUE(a.delegate.selectorLabels.empty());
  EXPECT_TRUE(a.delegate.selectorNamespaces.empty());
}

TEST(DecodeRouteActionTest, DelegateErrors) {
  const std::string p = kRoute + ".delegateAction";
  EXPECT_EQ(routeErrors("delegateAction: {}"), Strings{p + ": one of ref, selector is required"});
  EXPECT_EQ(routeErrors("delegateAction: {ref: {name: a}, selector: {}}"),
            Strings{p + ": only one of ref, name, selector may be set"});
  EXPECT_EQ(routeErrors("delegateAction: {ref: {name: a}, name: b}"),
            Strings{p + ": only one of ref, name, selector may be set"});
  EXPECT_EQ(routeErrors("delegateAction: {namespace: x}"), Strings{p + ".name: required"});
  EXPECT_EQ(routeErrors("delegateAction: {ref: {}}"), Strings{p + ".ref.name: required"});
  EXPECT_EQ(routeErrors("delegateAction: {selector: {namespaces: [ok, Not_OK]}}"),
            Strings{p + ".selector.namespaces[1]: invalid namespace \"Not_OK\": expected a "
                        "namespace name or \"*\""});
  EXPECT_EQ(routeErrors("delegateAction: {selector: {labels: {a: 1}}}"),
            Strings{p + ".selector.labels.a: expected a string, got number"});
  EXPECT_EQ(routeErrors("matchers: [{prefix: /a}, {exact: /b}, {regex: /c.*}],"
                        " delegateAction: {ref: {name: t}}"),
            (Strings{kRoute + ".matchers[1]: a route with a delegateAction must use a prefix "
                              "matcher",
                     kRoute + ".matchers[2]: a route with a delegateAction must use a prefix "
                              "matcher"}));
}

}  // namespace
}  // namespace portico::config
