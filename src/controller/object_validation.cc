// Controller::validateChange: what the admin API runs before it writes an object, so that a
// write that would be Rejected is refused with the controller's own reasons.
#include <set>

#include "controller/controller.h"
#include "controller/host_resolvers.h"
#include "store/memory_store.h"

namespace portico::controller {

namespace {

using config::ObjectKey;
using config::ObjectStatus;

/// Statuses of a one-off build of `contents` (no sockets, no publishing, blocking DNS).
std::vector<StatusEntry> buildStatuses(store::Contents contents, const PluginRegistry& plugins) {
  store::MemoryStore memory(std::move(contents));
  BlockingHostResolver resolver;
  Controller scratch(memory, plugins, nullptr, ControllerOptions{1, false}, resolver);
  scratch.rebuild();
  return scratch.statuses();
}

}  // namespace

std::vector<StatusEntry> Controller::validateChange(const std::vector<config::RawObject>& puts,
                                                    const std::vector<ObjectKey>& removes) const {
  store::Contents current = store_.list();
  std::set<ObjectKey> rejectedBefore;
  for (const StatusEntry& e : buildStatuses(current, plugins_))
    if (e.status.state == ObjectStatus::State::Rejected) rejectedBefore.insert({e.kind, e.ns, e.name});

  store::Contents changed = std::move(current);
  std::set<ObjectKey> touched;
  for (const ObjectKey& key : removes) touched.insert(key);
  for (const config::RawObject& obj : puts) touched.insert(obj.key());
  std::erase_if(changed.objects, [&](const config::RawObject& o) { return touched.count(o.key()) > 0; });
  std::set<ObjectKey> written;
  for (const config::RawObject& obj : puts) {
    changed.objects.push_back(obj);
    written.insert(obj.key());
  }

  std::vector<StatusEntry> out;
  for (StatusEntry& e : buildStatuses(std::move(changed), plugins_)) {
    if (e.kind == "File" || e.status.state != ObjectStatus::State::Rejected) continue;
    ObjectKey key{e.kind, e.ns, e.name};
    if (written.count(key) || !rejectedBefore.count(key)) out.push_back(std::move(e));
  }
  return out;
}

}  // namespace portico::controller
