#include "discovery/discovery_settings.h"

#include "config/decode.h"
#include "config/field_reader.h"

namespace portico::discovery {

bool isSettingsObject(std::string_view apiVersion, std::string_view kind) {
  return apiVersion == kSettingsApiVersion && kind == kSettingsKind;
}

DiscoverySettings decodeDiscoverySettings(const config::RawObject& obj, config::Errors& errors) {
  DiscoverySettings out;
  config::MapReader root(obj.doc, "", errors);
  for (const char* key : {"apiVersion", "kind", "metadata", "status"}) root.ignore(key);
  const config::Value* spec = root.take("spec");
  if (!spec) return out;  // an empty Settings object changes nothing
  config::MapReader s(*spec, "spec", errors);
  const config::Value* discovery = s.take("discovery");
  if (!discovery) return out;
  config::MapReader d(*discovery, s.pathOf("discovery"), errors);
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
