// Controller: statuses, references, last-accepted fallback and snapshot publication; Settings
// objects; Gloo 0.x routes to Lambda functions.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "config/decode.h"
#include "controller/controller.h"
#include "controller/host_resolvers.h"
#include "store/file_store.h"
#include "store/memory_store.h"

namespace portico::controller {
namespace {

store::Contents load(const std::string& yaml) {
  store::Contents c;
  auto docs = config::parseYaml(yaml, "test.yaml");
  EXPECT_TRUE(docs.ok()) << docs.error();
  for (const auto& d : *docs) {
    auto raw = config::toRawObject(d);
    EXPECT_TRUE(raw.ok()) << raw.error();
    c.objects.push_back(*raw);
  }
  return c;
}

const char* kUpstream = R"(
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: petstore, namespace: gloo-system}
spec: {static: {hosts: [{addr: 127.0.0.1, port: 9000}, {addr: 127.0.0.2, port: 9000}]}}
)";

std::string virtualService(const std::string& upstream, const std::string& domains = "['*']") {
  return R"(
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: default, namespace: gloo-system}
spec:
  virtualHost:
    domains: )" + domains + R"(
    routes:
    - matchers: [{exact: /petstore/list}]
      routeAction: {single: {upstream: {name: )" + upstream + R"(, namespace: gloo-system}}}
      options: {prefixRewrite: /api/pets, timeout: 2s}
    - matchers: [{regex: '/users/[0-9]+'}, {prefix: /}]
      routeAction: {single: {upstream: {name: )" + upstream + R"(}}}
)";
}

const StatusEntry* find(const std::vector<StatusEntry>&& s, const std::string& kind, const std::string& name) = delete;
const StatusEntry* find(const std::vector<StatusEntry>& s, const std::string& kind,
                        const std::string& name) {
  for (const auto& e : s)
    if (e.kind == kind && e.name == name) return &e;
  return nullptr;
}

class ControllerTest : public ::testing::Test {
protected:
  PluginRegistry plugins;
  gateway::SnapshotHolder holder;
  BlockingHostResolver resolver;
  void SetUp() override { registerBuiltinPlugins(plugins); }
};

TEST_F(ControllerTest, AcceptsAndTranslates) {
  store::MemoryStore store(load(std::string(kUpstream) + "---" + virtualService("petstore")));
  Controller c(store, plugins, &holder, {1, false}, resolver);
  EXPECT_FALSE(c.ready());
  c.rebuild();
  EXPECT_TRUE(c.ready());
  auto statuses = c.statuses();
  ASSERT_EQ(statuses.size(), 2u);
  for (const auto& s : statuses) EXPECT_EQ(s.status.state, config::ObjectStatus::State::Accepted) << s.status.reason;

  auto snap = holder.load();
  ASSERT_TRUE(snap);
  ASSERT_EQ(snap->clusters.size(), 1u);
  EXPECT_EQ(snap->clusters[0]->name, "petstore.gloo-system");
  EXPECT_EQ(snap->clusters[0]->hosts.size(), 2u);
  EXPECT_EQ(snap->clusters[0]->hosts[1].key, "127.0.0.2:9000");
  ASSERT_EQ(snap->listeners.size(), 1u);  // the default gateway
  EXPECT_EQ(snap->listeners[0].address.toString(), "[::]:8080");
  const auto* vh = snap->listeners[0].routes.findVirtualHost("anything");
  ASSERT_NE(vh, nullptr);
  ASSERT_EQ(vh->routes.size(), 2u);
  EXPECT_EQ(vh->routes[0].timeoutMs, 2000);
  EXPECT_EQ(vh->routes[0].prefixRewrite, "/api/pets");
  EXPECT_EQ(vh->routes[1].timeoutMs, 15000);  // Gloo's default route timeout
  EXPECT_EQ(router::RouteTable::matchRoute(*vh, router::RequestView{"/users/7", "", "GET", nullptr}).route, &vh->routes[1]);
}

TEST_F(ControllerTest, MissingUpstreamIsRejectedWithFieldPath) {
  store::MemoryStore store(load(virtualService("nope")));
  Controller c(store, plugins, &holder, {1, false}, resolver);
  c.rebuild();
  auto statuses = c.statuses();
  const auto* vs = find(statuses, "VirtualService", "default");
  ASSERT_NE(vs, nullptr);
  EXPECT_EQ(vs->status.state, config::ObjectStatus::State::Rejected);
  EXPECT_NE(vs->status.reason.find("virtualservice default.gloo-system: "
                                   "spec.virtualHost.routes[0].routeAction.single.upstream: "
                                   "upstream \"nope\" not found"),
            std::string::npos)
      << "reason: " << vs->status.reason;
}

TEST_F(ControllerTest, RejectedEditKeepsLastAcceptedVersion) {
  store::MemoryStore store(load(std::string(kUpstream) + "---" + virtualService("petstore")));
  Controller c(store, plugins, &holder, {1, false}, resolver);
  c.rebuild();
  auto bad = load(virtualService("missing"));
  ASSERT_TRUE(store.put(bad.objects[0]).ok());
  c.rebuild();
  auto statuses = c.statuses();
  const auto* vs = find(statuses, "VirtualService", "default");
  ASSERT_NE(vs, nullptr);
  EXPECT_EQ(vs->status.state, config::ObjectStatus::State::Rejected);
  EXPECT_NE(vs->status.reason.find("keeps serving"), std::string::npos);
  auto snap = holder.load();
  const auto* vh = snap->listeners[0].routes.findVirtualHost("x");
  ASSERT_NE(vh, nullptr);
  EXPECT_EQ(vh->routes.size(), 2u);  // still the old version's routes
  EXPECT_EQ(snap->version, 2u);
}

// The last accepted RouteTable and VirtualService are kept as documents and decoded again
// when an edit is rejected: the old routes keep serving and /config_dump shows that version.
TEST_F(ControllerTest, RejectedRouteTableEditKeepsLastVersionInSnapshotAndDump) {
  auto table = [](const std::string& upstream) {
    return R"(
apiVersion: gateway.solo.io/v1
kind: RouteTable
metadata: {name: rt, namespace: gloo-system}
spec:
  routes:
  - matchers: [{prefix: /a/one}]
    routeAction: {single: {upstream: {name: )" + upstream + R"(}}}
  - matchers: [{prefix: /a/two}]
    routeAction: {single: {upstream: {name: )" + upstream + R"(}}}
)";
  };
  const std::string delegating = R"(
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: default, namespace: gloo-system}
spec:
  virtualHost:
    routes:
    - matchers: [{prefix: /a}]
      delegateAction: {ref: {name: rt, namespace: gloo-system}}
)";
  store::MemoryStore store(load(std::string(kUpstream) + "---" + delegating + "---" + table("petstore")));
  Controller c(store, plugins, &holder, {1, false}, resolver);
  c.rebuild();
  ASSERT_TRUE(store.put(load(table("missing")).objects[0]).ok());
  for (int build = 0; build < 2; ++build) {  // the fallback holds in every later build too
    c.rebuild();
    auto statuses = c.statuses();
    const auto* rt = find(statuses, "RouteTable", "rt");
    ASSERT_NE(rt, nullptr);
    EXPECT_EQ(rt->status.state, config::ObjectStatus::State::Rejected);
    EXPECT_NE(rt->status.reason.find("keeps serving"), std::string::npos) << rt->status.reason;
    const auto* vh = holder.load()->listeners[0].routes.findVirtualHost("x");
    ASSERT_NE(vh, nullptr);
    ASSERT_EQ(vh->routes.size(), 2u);
    EXPECT_EQ(router::RouteTable::matchRoute(*vh, router::RequestView{"/a/two", "", "GET", nullptr}).route,
              &vh->routes[1]);
    std::string dump = c.configDumpJson();
    EXPECT_NE(dump.find("\"petstore\""), std::string::npos) << dump;
    EXPECT_EQ(dump.find("\"missing\""), std::string::npos) << dump;
  }
}

TEST_F(ControllerTest, UnknownKindAndUnsupportedFieldsNameTheField) {
  store::MemoryStore store(load(std::string(kUpstream) + R"(---
apiVersion: enterprise.gloo.solo.io/v1
kind: AuthConfig
metadata: {name: rt, namespace: gloo-system}
spec: {configs: []}
---
apiVersion: gloo.solo.io/v1
kind: Upstream
metadata: {name: breaker, namespace: gloo-system}
spec:
  static: {hosts: [{addr: 127.0.0.1, port: 1}]}
  circuitBreakers: {trackRemaining: true}
)"));
  Controller c(store, plugins, &holder, {1, false}, resolver);
  c.rebuild();
  auto statuses = c.statuses();
  const auto* rt = find(statuses, "AuthConfig", "rt");
  ASSERT_NE(rt, nullptr);
  EXPECT_EQ(rt->status.state, config::ObjectStatus::State::Rejected);
  EXPECT_NE(rt->status.reason.find("kind \"AuthConfig\""), std::string::npos);
  const auto* up = find(statuses, "Upstream", "breaker");
  ASSERT_NE(up, nullptr);
  EXPECT_NE(up->status.reason.find("spec.circuitBreakers"), std::string::npos) << up->status.reason;
}

TEST_F(ControllerTest, DomainClashRejectsTheSecondVirtualService) {
  std::string second = virtualService("petstore", "['a.com']");
  second.replace(second.find("name: default"), 13, "name: other");
  store::MemoryStore store(load(std::string(kUpstream) + "---" + virtualService("petstore", "['a.com', 'b.com']") + "---" + second));
  Controller c(store, plugins, &holder, {1, false}, resolver);
  c.rebuild();
  auto statuses = c.statuses();
  const auto* other = find(statuses, "VirtualService", "other");
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->status.state, config::ObjectStatus::State::Rejected);
  EXPECT_NE(other->status.reason.find("domain \"a.com\" is already served by virtualservice default.gloo-system"),
            std::string::npos)
      << other->status.reason;
  EXPECT_EQ(find(statuses, "VirtualService", "default")->status.state,
            config::ObjectStatus::State::Accepted);
}

std::string settings(const std::string& name, const std::string& spec) {
  return "apiVersion: gloo.solo.io/v1\nkind: Settings\nmetadata: {name: " + name +
         ", namespace: gloo-system}\nspec: " + spec + "\n";
}

bool discovers(const Controller& c, const std::string& upstream) {
  auto statuses = c.statuses();
  const StatusEntry* e = find(statuses, "Upstream", upstream);
  return e && e->details.find("\"discovery\":") != std::string::npos;
}

TEST_F(ControllerTest, SettingsNamedDefaultIsReadOthersAreIgnored) {
  store::MemoryStore store(load(
      std::string(kUpstream) + "---\n" +
      settings("default", "{discovery: {fdsMode: BLACKLIST}, refreshRate: 60s, gloo: {xdsBindAddr: '0.0.0.0:9977'}}") +
      "---\n" + settings("other", "{discovery: {fdsMode: DISABLED}}")));
  Controller c(store, plugins, &holder, {1, false}, resolver);
  c.rebuild();
  auto statuses = c.statuses();
  const auto* def = find(statuses, "Settings", "default");
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->status.state, config::ObjectStatus::State::Warning);
  EXPECT_EQ(def->status.reason,
            "settings default.gloo-system: accepted; ignored (Gloo control-plane settings with no "
            "meaning for Portico): spec.refreshRate, spec.gloo.xdsBindAddr");
  const auto* other = find(statuses, "Settings", "other");
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->status.state, config::ObjectStatus::State::Warning);
  EXPECT_EQ(other->status.reason,
            "settings other.gloo-system: ignored: Portico reads only the Settings named "
            "\"default\" (in effect: settings default.gloo-system)");
  EXPECT_NE(c.configDumpJson().find("\"kind\":\"Settings\""), std::string::npos);
}

// The flag says DISABLED; a Settings object turns discovery on, a bad edit keeps the last
// accepted version, and removing it gives the flag back.
TEST_F(ControllerTest, SettingsFdsModeDrivesDiscovery) {
  store::MemoryStore store(load(std::string(kUpstream) + "---\n" +
                                settings("default", "{discovery: {fdsMode: BLACKLIST}}")));
  ControllerOptions options{1, false};
  options.discovery = discovery::FunctionDiscoveryOptions{};
  options.discovery->mode = discovery::DiscoveryMode::Disabled;
  options.discovery->retryInitialMs = 60000;  // one probe of 127.0.0.1:9000 is enough here
  Controller c(store, plugins, &holder, options, resolver);
  c.rebuild();
  c.start();
  c.rebuild();
  auto statuses = c.statuses();
  EXPECT_EQ(find(statuses, "Settings", "default")->status.state,
            config::ObjectStatus::State::Accepted);
  EXPECT_TRUE(discovers(c, "petstore"));  // unlabelled: BLACKLIST probes it

  ASSERT_TRUE(store.put(load(settings("default", "{discovery: {fdsMode: sometimes}}")).objects[0]).ok());
  c.rebuild();
  statuses = c.statuses();
  const StatusEntry* def = find(statuses, "Settings", "default");
  EXPECT_EQ(def->status.state, config::ObjectStatus::State::Rejected);
  EXPECT_EQ(def->status.reason,
            "settings default.gloo-system: spec.discovery.fdsMode: unknown value \"sometimes\": "
            "expected WHITELIST, BLACKLIST or DISABLED (the last accepted version keeps serving)");
  EXPECT_TRUE(discovers(c, "petstore"));

  ASSERT_TRUE(store.remove({"Settings", "gloo-system", "default"}).ok());
  c.rebuild();
  EXPECT_FALSE(discovers(c, "petstore"));  // the flag again
  c.stop();
}

// The build before start() is handed to discovery as it starts: no second build of the whole
// config (with 10,000 routes that doubled the start-up work).
TEST_F(ControllerTest, StartHandsTheFirstBuildToDiscoveryWithoutRebuilding) {
  store::MemoryStore store(load(std::string(kUpstream) + "---\n" +
                                settings("default", "{discovery: {fdsMode: BLACKLIST}}")));
  ControllerOptions options{1, false};
  options.discovery = discovery::FunctionDiscoveryOptions{};
  options.discovery->retryInitialMs = 60000;
  Controller c(store, plugins, &holder, options, resolver);
  c.rebuild();
  auto before = holder.load();
  c.start();
  EXPECT_TRUE(discovers(c, "petstore"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(holder.load(), before);  // no build was requested
  c.stop();
}

/// Answers every name with 127.0.0.1 (a stand-in for DNS: the Lambda endpoint is only named
/// here, never called; test_aws_lambda.py calls it).
class LoopbackResolver final : public HostnameResolver {
public:
  Result<std::vector<net::Address>> resolve(const std::string&, uint16_t port) override {
    auto a = net::Address::fromIp("127.0.0.1", port);
    return std::vector<net::Address>{*a};
  }
};

// Gloo 0.x files loaded as they are (not through `portico convert`): a function destination
// on a 0.x aws upstream is its Lambda; a modern REST destination on it stays an error.
TEST_F(ControllerTest, Gloo0xFunctionOnAwsUpstreamIsItsLambda) {
  store::MemoryStore store(load(R"(
name: lambdas
type: aws
spec: {region: us-east-1, secret_ref: creds}
functions: [{name: hello, spec: {function_name: echo}}]
---
apiVersion: gloo.solo.io/v1
kind: Secret
metadata: {name: creds, namespace: gloo-system}
spec: {aws: {accessKey: AKID, secretKey: c2VjcmV0}}
---
name: legacy
domains: [legacy.test]
routes:
- request_matcher: {path_prefix: /hello}
  single_destination: {function: {upstream_name: lambdas, function_name: hello}}
- request_matcher: {path_prefix: /multi}
  multiple_destinations:
  - {destination: {function: {upstream_name: lambdas, function_name: hello}}, weight: 1}
---
name: legacy-typo
domains: [typo.test]
routes:
- request_matcher: {path_prefix: /}
  single_destination: {function: {upstream_name: lambdas, function_name: helo}}
---
apiVersion: gateway.solo.io/v1
kind: VirtualService
metadata: {name: modern, namespace: gloo-system}
spec:
  virtualHost:
    domains: [modern.test]
    routes:
    - routeAction: {single: {upstream: {name: lambdas}, destinationSpec: {rest: {functionName: hello}}}}
)"));
  LoopbackResolver loopback;
  Controller c(store, plugins, &holder, {1, false}, loopback);
  c.rebuild();
  auto statuses = c.statuses();
  const auto* legacy = find(statuses, "VirtualService", "legacy");
  ASSERT_NE(legacy, nullptr);
  EXPECT_EQ(legacy->status.state, config::ObjectStatus::State::Accepted) << legacy->status.reason;
  const auto* vh = holder.load()->listeners[0].routes.findVirtualHost("legacy.test");
  ASSERT_NE(vh, nullptr);
  ASSERT_EQ(vh->routes.size(), 2u);
  EXPECT_NE(vh->routes[0].transformations, nullptr);  // the Lambda call
  ASSERT_EQ(vh->routes[1].weightedClusters.size(), 1u);
  EXPECT_NE(vh->routes[1].weightedClusters[0].transformations, nullptr);

  const auto* typo = find(statuses, "VirtualService", "legacy-typo");
  ASSERT_NE(typo, nullptr);
  EXPECT_EQ(typo->status.state, config::ObjectStatus::State::Rejected);
  EXPECT_NE(typo->status.reason.find("destinationSpec.rest.functionName: function \"helo\" not "
                                     "found on upstream \"lambdas\" (it has: hello)"),
            std::string::npos)
      << typo->status.reason;
  const auto* modern = find(statuses, "VirtualService", "modern");
  ASSERT_NE(modern, nullptr);
  EXPECT_EQ(modern->status.state, config::ObjectStatus::State::Rejected);
  EXPECT_NE(modern->status.reason.find("(it has no REST functions)"), std::string::npos)
      << modern->status.reason;
}

// Issue 10: the soak adds and removes virtual services with ever-new names; each left its
// status behind in the file store (one map entry, ~170 bytes, per name ever used).
TEST_F(ControllerTest, RemovedObjectTakesItsStatusOutOfTheStore) {
  char tmpl[] = "/tmp/portico-controller-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  auto created = store::FileStore::create(tmpl);
  ASSERT_TRUE(created.ok()) << created.error();
  store::FileStore& store = **created;
  ASSERT_TRUE(store.put(load(kUpstream).objects[0]).ok());
  Controller c(store, plugins, &holder, {1, false}, resolver);
  const config::ObjectKey upstreamKey{"Upstream", "gloo-system", "petstore"};
  for (int n = 0; n < 3; ++n) {
    std::string vs = virtualService("petstore");
    vs.replace(vs.find("name: default"), 13, "name: extra-" + std::to_string(n));
    config::RawObject obj = load(vs).objects[0];
    ASSERT_TRUE(store.put(obj).ok());
    c.rebuild();
    EXPECT_EQ(store.status(obj.key()).state, config::ObjectStatus::State::Accepted);
    ASSERT_TRUE(store.remove(obj.key()).ok());
    c.rebuild();
    EXPECT_EQ(store.status(obj.key()).state, config::ObjectStatus::State::Pending)
        << obj.key().display() << " was removed but its status stayed";
    EXPECT_EQ(store.status(upstreamKey).state, config::ObjectStatus::State::Accepted);
  }
  std::filesystem::remove_all(tmpl);
}

TEST_F(ControllerTest, StatusesJsonEscapes) {
  std::vector<StatusEntry> e = {{"File", "", "a\"b.yaml", {config::ObjectStatus::State::Rejected, "line\n2"}}};
  EXPECT_EQ(statusesJson(e),
            R"([{"kind":"File","namespace":"","name":"a\"b.yaml","state":"Rejected","reason":"line\n2"}])");
}

}  // namespace
}  // namespace portico::controller
