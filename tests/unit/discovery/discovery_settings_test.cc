// Settings.discovery.fdsMode: decoding (control-plane fields ignored, data-plane ones named), the
// mode in effect, and FunctionDiscovery switching modes (DISABLED keeps stored functions).
#include "discovery/discovery_settings.h"

#include <gtest/gtest.h>

#include "../config/decode_test_util.h"
#include "discovery/discovered_functions.h"
#include "store/memory_store.h"

namespace portico::discovery {
namespace {

using config::testing::rawObject;

std::vector<std::string> settingsErrors(const std::string& spec, DiscoverySettings* out = nullptr) {
  config::Errors errors;
  DiscoverySettings s = decodeDiscoverySettings(
      rawObject("apiVersion: gloo.solo.io/v1\nkind: Settings\n"
                "metadata: {name: default, namespace: gloo-system}\n" + spec),
      errors);
  if (out) *out = s;
  return errors.items();
}

TEST(DiscoverySettingsTest, ReadsFdsMode) {
  EXPECT_TRUE(isSettingsObject("gloo.solo.io/v1", "Settings"));
  EXPECT_FALSE(isSettingsObject("gateway.solo.io/v1", "Settings"));
  DiscoverySettings s;
  EXPECT_TRUE(settingsErrors("spec: {discovery: {fdsMode: BLACKLIST}}\n", &s).empty());
  ASSERT_TRUE(s.fdsMode);
  EXPECT_EQ(*s.fdsMode, DiscoveryMode::Blacklist);
  EXPECT_TRUE(settingsErrors("spec: {discovery: {fdsMode: disabled}}\n", &s).empty());
  EXPECT_EQ(*s.fdsMode, DiscoveryMode::Disabled);
  // no spec, or no fdsMode: the flag decides
  EXPECT_TRUE(settingsErrors("", &s).empty());
  EXPECT_FALSE(s.fdsMode);
  EXPECT_TRUE(settingsErrors("spec: {discovery: {}}\n", &s).empty());
  EXPECT_FALSE(s.fdsMode);
  EXPECT_EQ(effectiveMode(DiscoveryMode::Whitelist, &s), DiscoveryMode::Whitelist);
  EXPECT_EQ(effectiveMode(DiscoveryMode::Blacklist, nullptr), DiscoveryMode::Blacklist);
  s.fdsMode = DiscoveryMode::Disabled;
  EXPECT_EQ(effectiveMode(DiscoveryMode::Blacklist, &s), DiscoveryMode::Disabled);
}

TEST(DiscoverySettingsTest, DataPlaneFieldsAreNamed) {
  EXPECT_EQ(settingsErrors("spec:\n"
                           "  discovery: {fdsMode: sometimes, udsOptions: {enabled: false}}\n"
                           "  ratelimit: {descriptors: []}\n"
                           "  gloo: {xdsBindAddr: '0.0.0.0:9977', circuitBreakers: {maxConnections: 1}}\n"),
            (std::vector<std::string>{
                "spec.gloo.circuitBreakers: field not supported by Portico yet",
                "spec.discovery.fdsMode: unknown value \"sometimes\": expected WHITELIST, "
                "BLACKLIST or DISABLED",
                "spec.ratelimit: field not supported by Portico yet"}));
  EXPECT_EQ(settingsErrors("spec: {discovery: {fdsMode: [WHITELIST]}}\n"),
            (std::vector<std::string>{"spec.discovery.fdsMode: expected a string, got list"}));
  EXPECT_EQ(settingsErrors("spec: {discovery: true}\n"),
            (std::vector<std::string>{"spec.discovery: expected a map, got boolean"}));
  // Switches: accepted while off (Gloo's defaults), named when they turn a feature on.
  EXPECT_EQ(settingsErrors("spec:\n"
                           "  gloo:\n"
                           "    invalidConfigPolicy: {replaceInvalidRoutes: true, invalidRouteResponseCode: 404}\n"
                           "    istioOptions: {enableIntegration: false, enableAutoMtls: true}\n"
                           "    disableGrpcWeb: false\n"
                           "  gateway: {alwaysSortRouteTableRoutes: true, isolateVirtualHostsBySslConfig: 1}\n"),
            (std::vector<std::string>{
                "spec.gloo.invalidConfigPolicy.replaceInvalidRoutes: true is not supported by Portico",
                "spec.gloo.istioOptions.enableAutoMtls: true is not supported by Portico",
                "spec.gloo.disableGrpcWeb: only true is supported by Portico (it has no such "
                "feature to enable)",
                "spec.gateway.isolateVirtualHostsBySslConfig: expected a boolean, got number",
                "spec.gateway.alwaysSortRouteTableRoutes: true is not supported by Portico"}));
}

// The Settings object Gloo's Helm chart installs (1.x), unchanged: only fdsMode has an effect.
TEST(DiscoverySettingsTest, GlooHelmSettingsLoadWithTheirControlPlaneFieldsIgnored) {
  DiscoverySettings s;
  EXPECT_EQ(settingsErrors("spec:\n"
                           "  consoleOptions: {apiExplorerEnabled: true, readOnly: false}\n"
                           "  discovery: {fdsMode: BLACKLIST, udsOptions: {enabled: true}}\n"
                           "  discoveryNamespace: gloo-system\n"
                           "  gateway:\n"
                           "    enableGatewayController: true\n"
                           "    isolateVirtualHostsBySslConfig: false\n"
                           "    readGatewaysFromAllNamespaces: false\n"
                           "    validation: {alwaysAccept: true, proxyValidationServerAddr: 'gloo:9988'}\n"
                           "  gloo:\n"
                           "    disableKubernetesDestinations: false\n"
                           "    enableRestEds: false\n"
                           "    invalidConfigPolicy: {invalidRouteResponseCode: 404, replaceInvalidRoutes: false}\n"
                           "    istioOptions: {appendXForwardedHost: true, enableAutoMtls: false, enableIntegration: false}\n"
                           "    proxyDebugBindAddr: 0.0.0.0:9966\n"
                           "    regexMaxProgramSize: 1024\n"
                           "    restXdsBindAddr: 0.0.0.0:9976\n"
                           "    xdsBindAddr: 0.0.0.0:9977\n"
                           "  kubernetesArtifactSource: {}\n"
                           "  kubernetesConfigSource: {}\n"
                           "  kubernetesSecretSource: {}\n"
                           "  refreshRate: 60s\n"
                           "status: {state: 1}\n",
                           &s),
            std::vector<std::string>{});
  ASSERT_TRUE(s.fdsMode);
  EXPECT_EQ(*s.fdsMode, DiscoveryMode::Blacklist);
  EXPECT_EQ(s.ignored,
            (std::vector<std::string>{
                "spec.discoveryNamespace", "spec.kubernetesConfigSource",
                "spec.kubernetesSecretSource", "spec.kubernetesArtifactSource", "spec.refreshRate",
                "spec.consoleOptions", "spec.gloo.xdsBindAddr", "spec.gloo.restXdsBindAddr",
                "spec.gloo.enableRestEds", "spec.gloo.proxyDebugBindAddr",
                "spec.gloo.disableKubernetesDestinations", "spec.gloo.regexMaxProgramSize",
                "spec.gloo.invalidConfigPolicy", "spec.gloo.istioOptions",
                "spec.gateway.validation", "spec.gateway.readGatewaysFromAllNamespaces",
                "spec.gateway.enableGatewayController",
                "spec.gateway.isolateVirtualHostsBySslConfig", "spec.discovery.udsOptions"}));
}

TEST(DiscoverySettingsTest, DisabledKeepsStoredFunctionsAndModesSwitch) {
  store::MemoryStore store;
  config::ObjectKey up{"Upstream", "gloo-system", "petstore"};
  config::Value fns = config::Value::makeMap();
  ASSERT_TRUE(store.put(makeDiscoveredFunctions(up, "http://x/swagger.json", fns)).ok());
  std::map<config::ObjectKey, std::pair<std::string, size_t>> stored{{up, {"{}", 0}}};

  DiscoveryTarget t;  // no label, no service spec, no host: never fetched successfully
  t.upstream = up;
  FunctionDiscoveryOptions options;
  options.mode = DiscoveryMode::Disabled;
  FunctionDiscovery d(store, options);  // not started: only the bookkeeping is tested

  d.update({t}, stored);
  EXPECT_FALSE(d.state(up));                       // not looked at
  EXPECT_EQ(store.list().objects.size(), 1u);      // and its functions kept

  d.setMode(DiscoveryMode::Blacklist);
  EXPECT_EQ(d.mode(), DiscoveryMode::Blacklist);
  d.update({t}, stored);
  ASSERT_TRUE(d.state(up));                        // unlabelled: BLACKLIST probes it
  EXPECT_EQ(d.state(up)->phase, DiscoveryState::Phase::Pending);
  EXPECT_EQ(store.list().objects.size(), 1u);

  d.setMode(DiscoveryMode::Whitelist);
  d.update({t}, stored);
  EXPECT_FALSE(d.state(up));                       // not labelled enabled
  EXPECT_TRUE(store.list().objects.empty());       // no longer discovered: removed
}

}  // namespace
}  // namespace portico::discovery
