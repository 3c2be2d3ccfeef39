// The gloo.solo.io/v1 Settings object as discovery reads it: spec.discovery.fdsMode, which
// picks the upstreams function discovery probes (the --discovery-mode flag is the default).
#pragma once

#include <optional>
#include <string_view>

#include "config/errors.h"
#include "config/model.h"
#include "discovery/function_discovery.h"

namespace portico::discovery {

inline constexpr std::string_view kSettingsApiVersion = "gloo.solo.io/v1";
inline constexpr std::string_view kSettingsKind = "Settings";

/// True for a gloo.solo.io/v1 Settings document.
bool isSettingsObject(std::string_view apiVersion, std::string_view kind);

struct DiscoverySettings {
  /// spec.discovery.fdsMode; unset = the flag's mode.
  std::optional<DiscoveryMode> fdsMode;
};

/// Decodes a Settings object. Portico reads only spec.discovery.fdsMode (WHITELIST, BLACKLIST,
/// DISABLED); every other field Gloo defines (gloo, gateway, discoveryNamespace, udsOptions,
/// ...) is an error naming it, so a Settings object is never half applied in silence. On
/// error the result must not be used.
DiscoverySettings decodeDiscoverySettings(const config::RawObject& obj, config::Errors& errors);

/// The mode in effect: the Settings object's fdsMode when it sets one, else the flag's.
/// `settings` may be null (no accepted Settings object).
DiscoveryMode effectiveMode(DiscoveryMode flag, const DiscoverySettings* settings);

}  // namespace portico::discovery
