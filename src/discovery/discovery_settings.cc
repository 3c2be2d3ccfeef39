#include "discovery/discovery_settings.h"

#include <span>

#include "config/decode.h"
#include "config/field_reader.h"

namespace portico::discovery {

namespace {

/// What Portico does with a Settings field Gloo defines. Fields in no table are errors
/// ("field not supported by Portico yet"): the data-plane features Portico lacks.
enum class Treatment {
  /// Configures only Gloo's control plane (where it reads config, which namespaces it
  /// watches, its xDS/validation servers): accepted, listed as ignored.
  Ignored,
  /// A switch (a boolean, or a map of them) that is accepted while off — Gloo's default,
  /// and what Portico does — and an error when it turns on a feature Portico lacks.
  IgnoredWhileOff,
  /// A boolean accepted only when true (it turns off a feature Portico lacks).
  IgnoredWhileTrue,
};

struct FieldRule {
  std::string_view name;
  Treatment treatment;
  /// IgnoredWhileOff on a map: its booleans that must not be true.
  std::string_view switches[2] = {};
};

constexpr FieldRule kSpecRules[] = {
    {"discoveryNamespace", Treatment::Ignored},
    {"watchNamespaces", Treatment::Ignored},
    {"watchNamespaceSelectors", Treatment::Ignored},
    {"kubernetesConfigSource", Treatment::Ignored},
    {"directoryConfigSource", Treatment::Ignored},
    {"consulKvSource", Treatment::Ignored},
    {"kubernetesSecretSource", Treatment::Ignored},
    {"vaultSecretSource", Treatment::Ignored},
    {"directorySecretSource", Treatment::Ignored},
    {"secretOptions", Treatment::Ignored},
    {"kubernetesArtifactSource", Treatment::Ignored},
    {"directoryArtifactSource", Treatment::Ignored},
    {"consulKvArtifactSource", Treatment::Ignored},
    {"refreshRate", Treatment::Ignored},
    {"devMode", Treatment::Ignored},
    {"kubernetes", Treatment::Ignored},
    // Kubernetes / Consul upstream discovery and Knative ingress: upstream kinds Portico
    // rejects anyway.
    {"consul", Treatment::Ignored},
    {"consulDiscovery", Treatment::Ignored},
    {"knative", Treatment::Ignored},
    {"linkerd", Treatment::Ignored},
    {"observabilityOptions", Treatment::Ignored},  // Grafana dashboards of the control plane
    {"consoleOptions", Treatment::Ignored},        // the Gloo UI
};

constexpr FieldRule kDiscoveryRules[] = {
    {"udsOptions", Treatment::Ignored},  // Kubernetes service discovery
    {"fdsOptions", Treatment::Ignored},
};

constexpr FieldRule kGlooRules[] = {
    {"xdsBindAddr", Treatment::Ignored},
    {"validationBindAddr", Treatment::Ignored},
    {"restXdsBindAddr", Treatment::Ignored},
    {"enableRestEds", Treatment::Ignored},
    {"proxyDebugBindAddr", Treatment::Ignored},
    {"disableKubernetesDestinations", Treatment::Ignored},
    {"disableProxyGarbageCollection", Treatment::Ignored},
    {"endpointsWarmingTimeout", Treatment::Ignored},
    {"failoverUpstreamDnsPollingInterval", Treatment::Ignored},
    {"removeUnusedFilters", Treatment::Ignored},
    {"regexMaxProgramSize", Treatment::Ignored},  // Envoy's limit; RE2 here has its own
    // Off: a rejected route is not replaced, its last accepted version keeps serving.
    {"invalidConfigPolicy", Treatment::IgnoredWhileOff, {"replaceInvalidRoutes"}},
    {"istioOptions", Treatment::IgnoredWhileOff, {"enableIntegration", "enableAutoMtls"}},
    {"logTransformationRequestResponseInfo", Treatment::IgnoredWhileOff},
    {"disableGrpcWeb", Treatment::IgnoredWhileTrue},
};

constexpr FieldRule kGatewayRules[] = {
    {"validation", Treatment::Ignored},  // Gloo's admission webhook
    {"validationServerAddr", Treatment::Ignored},
    {"readGatewaysFromAllNamespaces", Treatment::Ignored},
    {"enableGatewayController", Treatment::Ignored},
    {"compressedProxySpec", Treatment::Ignored},
    {"persistProxySpec", Treatment::Ignored},
    {"isolateVirtualHostsBySslConfig", Treatment::IgnoredWhileOff},
    {"alwaysSortRouteTableRoutes", Treatment::IgnoredWhileOff},
    {"virtualServiceOptions", Treatment::IgnoredWhileOff, {"oneWayTls"}},
};

/// True when `v` (at `path`) is the boolean true; a non-boolean is reported.
bool isTrue(const config::Value& v, const std::string& path, config::Errors& errors) {
  bool b = false;
  return config::readBoolValue(v, path, errors, b) && b;
}

/// Takes the fields of `rules` out of `r`: the ignored ones into `out.ignored`, the ones
/// that ask for something Portico lacks into `errors`.
void applyRules(config::MapReader& r, std::span<const FieldRule> rules, DiscoverySettings& out,
                config::Errors& errors) {
  for (const FieldRule& rule : rules) {
    const config::Value* v = r.take(rule.name);
    if (!v) continue;
    std::string path = r.pathOf(rule.name);
    size_t before = errors.size();
    switch (rule.treatment) {
    case Treatment::Ignored: break;
    case Treatment::IgnoredWhileTrue:
      if (!isTrue(*v, path, errors) && errors.size() == before)
        errors.add(path, "only true is supported by Portico (it has no such feature to enable)");
      break;
    case Treatment::IgnoredWhileOff:
      if (rule.switches[0].empty()) {
        if (isTrue(*v, path, errors)) errors.add(path, "true is not supported by Portico");
        break;
      }
      if (!v->isMap()) {
        errors.add(path, std::string("expected a map, got ") + config::typeName(v->type));
        break;
      }
      for (std::string_view name : rule.switches) {
        const config::Value* s = name.empty() ? nullptr : v->find(name);
        std::string switchPath = config::joinPath(path, name);
        if (s && isTrue(*s, switchPath, errors))
          errors.add(switchPath, "true is not supported by Portico");
      }
      break;
    }
    if (errors.size() == before) out.ignored.push_back(std::move(path));
  }
}

}  // namespace

bool isSettingsObject(std::string_view apiVersion, std::string_view kind) {
  return apiVersion == kSettingsApiVersion && kind == kSettingsKind;
}

DiscoverySettings decodeDiscoverySettings(const config::RawObject& obj, config::Errors& errors) {
  DiscoverySettings out;
  config::MapReader root(obj.doc, "", errors);
  for (const char* key : {"apiVersion", "kind", "metadata", "status", "namespacedStatuses"})
    root.ignore(key);
  const config::Value* spec = root.take("spec");
  if (!spec) return out;  // an empty Settings object changes nothing
  config::MapReader s(*spec, "spec", errors);
  applyRules(s, kSpecRules, out, errors);
  for (auto [key, rules] : {std::pair{"gloo", std::span<const FieldRule>(kGlooRules)},
                            std::pair{"gateway", std::span<const FieldRule>(kGatewayRules)}}) {
    if (const config::Value* v = s.take(key)) {
      config::MapReader sub(*v, s.pathOf(key), errors);
      applyRules(sub, rules, out, errors);
    }
  }
  const config::Value* discovery = s.take("discovery");
  if (!discovery) return out;
  config::MapReader d(*discovery, s.pathOf("discovery"), errors);
  applyRules(d, kDiscoveryRules, out, errors);
  std::string mode;
  if (d.readString("fdsMode", mode)) {
    // Any case, as on the --discovery-mode flag.
    DiscoveryMode m;
    if (parseDiscoveryMode(mode, m))
      out.fdsMode = m;
    else
      errors.add(d.pathOf("fdsMode"), "unknown value " + config::jsonQuote(mode) +
                                          ": expected WHITELIST, BLACKLIST or DISABLED");
  }
  return out;  // the readers' destructors report every field left unread
}

DiscoveryMode effectiveMode(DiscoveryMode flag, const DiscoverySettings* settings) {
  return settings && settings->fdsMode ? *settings->fdsMode : flag;
}

}  // namespace portico::discovery
