#include "controller/settings_objects.h"

namespace portico::controller {

using config::ObjectKey;
using config::ObjectStatus;
using config::RawObject;

const SettingsObjects::InEffect* SettingsObjects::build(
    const std::vector<const RawObject*>& raws, const std::set<ObjectKey>& carried,
    std::map<ObjectKey, ObjectStatus>& statuses, const Reject& reject) {
  // Gloo reads the Settings named "default" in its own namespace; Portico has none of its
  // own, so the default namespace wins over the others.
  const RawObject* chosen = nullptr;
  for (const RawObject* raw : raws) {
    if (raw->meta.name != discovery::kSettingsName) continue;
    if (!chosen || (raw->meta.ns == config::kDefaultNamespace &&
                    chosen->meta.ns != config::kDefaultNamespace))
      chosen = raw;
  }
  for (const RawObject* raw : raws) {
    if (raw == chosen) continue;
    ObjectKey key = raw->key();
    std::string reason = key.display() + ": ignored: Portico reads only the Settings named \"" +
                         std::string(discovery::kSettingsName) + "\"";
    if (chosen) reason += " (in effect: " + chosen->key().display() + ")";
    statuses[key] = {ObjectStatus::State::Warning, std::move(reason)};
  }

  if (!chosen) {
    // Deleted (the flags decide again), unless its file is only unreadable for now.
    if (last_ && !carried.count(last_->raw.key())) last_.reset();
    return last_ ? &*last_ : nullptr;
  }
  ObjectKey key = chosen->key();
  if (last_ && last_->raw.key() != key) last_.reset();  // another one took over
  config::Errors errors;
  discovery::DiscoverySettings value = discovery::decodeDiscoverySettings(*chosen, errors);
  if (!errors.empty()) {
    reject(key, errors.toString(), last_.has_value());
    return last_ ? &*last_ : nullptr;
  }
  if (value.ignored.empty()) {
    statuses[key] = {ObjectStatus::State::Accepted, ""};
  } else {
    std::string list;
    for (const std::string& path : value.ignored) list += (list.empty() ? "" : ", ") + path;
    statuses[key] = {ObjectStatus::State::Warning,
                     key.display() + ": accepted; ignored (Gloo control-plane settings with no "
                                     "meaning for Portico): " + list};
  }
  last_ = InEffect{*chosen, std::move(value)};
  return &*last_;
}

}  // namespace portico::controller
