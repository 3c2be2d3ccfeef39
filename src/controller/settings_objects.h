// SettingsObjects: the gloo.solo.io/v1 Settings objects of each build — which one is in
// effect (the one named "default"), a status for each, and the last accepted version.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/model.h"
#include "config/object_status.h"
#include "discovery/discovery_settings.h"

namespace portico::controller {

class SettingsObjects {
public:
  struct InEffect {
    config::RawObject raw;
    discovery::DiscoverySettings value;
  };
  /// (key, reason, whether the last accepted version keeps serving): the controller's Rejected.
  using Reject = std::function<void(const config::ObjectKey&, const std::string&, bool)>;

  /// One build: decodes the Settings named "default" (the one in kDefaultNamespace when
  /// several namespaces have one), gives every other a Warning saying it is ignored, writes
  /// each status into `statuses` (rejections through `reject`). Returns the settings in
  /// effect — the default one, its last accepted version when this one is rejected or its
  /// file is unreadable (`carried`) — or null: the flags decide. Valid until the next build.
  const InEffect* build(const std::vector<const config::RawObject*>& raws,
                        const std::set<config::ObjectKey>& carried,
                        std::map<config::ObjectKey, config::ObjectStatus>& statuses,
                        const Reject& reject);

private:
  std::optional<InEffect> last_;
};

}  // namespace portico::controller
