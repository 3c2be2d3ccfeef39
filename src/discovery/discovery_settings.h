// The gloo.solo.io/v1 Settings object as Portico reads it: spec.discovery.fdsMode, which picks
// the upstreams function discovery probes (the --discovery-mode flag is the default).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/errors.h"
#include "config/model.h"
#include "discovery/function_discovery.h"

namespace portico::discovery {

inline constexpr std::string_view kSettingsApiVersion = "gloo.solo.io/v1";
inline constexpr std::string_view kSettingsKind = "Settings";
/// Gloo reads the Settings object of this name (in its own namespace); others are ignored.
inline constexpr std::string_view kSettingsName = "default";

/// True for a gloo.solo.io/v1 Settings document.
bool isSettingsObject(std::string_view apiVersion, std::string_view kind);

struct DiscoverySettings {
  /// spec.discovery.fdsMode; unset = the flag's mode.
  std::optional<DiscoveryMode> fdsMode;
  /// Paths of fields accepted without effect ("spec.refreshRate"): Gloo control-plane
  /// settings (config sources, namespaces to watch, xDS bind addresses...).
  std::vector<std::string> ignored;
};

/// Decodes a Settings object. Portico reads spec.discovery.fdsMode (WHITELIST, BLACKLIST,
/// DISABLED). Fields that only configure Gloo's control plane are accepted and listed in
/// `ignored`, so that a Gloo Settings file loads unchanged; fields asking for data-plane
/// behaviour Portico does not implement (ratelimit, extauth, gloo.circuitBreakers, a
/// replaceInvalidRoutes: true...) are errors naming them. On error the result must not be used.
DiscoverySettings decodeDiscoverySettings(const config::RawObject& obj, config::Errors& errors);

/// The mode in effect: the Settings object's fdsMode when it sets one, else the flag's.
/// `settings` may be null (no accepted Settings object).
DiscoveryMode effectiveMode(DiscoveryMode flag, const DiscoverySettings* settings);

}  // namespace portico::discovery
