#include "store/memory_store.h"

namespace portico::store {

Status MemoryStore::put(const config::RawObject& object) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& o : contents_.objects) {
    if (o.key() == object.key()) {
      o = object;
      return {};
    }
  }
  contents_.objects.push_back(object);
  return {};
}

Status MemoryStore::remove(const config::ObjectKey& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = contents_.objects.begin(); it != contents_.objects.end(); ++it) {
    if (it->key() == key) {
      contents_.objects.erase(it);
      return {};
    }
  }
  return Status::error(key.display() + " not found");
}

}  // namespace portico::store
