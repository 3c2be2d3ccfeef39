// MemoryStore: a ConfigStore over objects held in memory — what `portico validate` checks
// (files loaded once, never watched) and what unit tests drive the controller with.
#pragma once

#include <mutex>

#include "store/config_store.h"

namespace portico::store {

class MemoryStore final : public ConfigStore {
public:
  explicit MemoryStore(Contents contents = {}) : contents_(std::move(contents)) {}

  Contents list() override {
    std::lock_guard<std::mutex> lock(mutex_);
    return contents_;
  }
  Status watch(std::function<void()>) override { return {}; }
  void stop() override {}
  Status put(const config::RawObject& object) override;
  Status remove(const config::ObjectKey& key) override;
  void writeStatus(const config::ObjectKey&, const config::ObjectStatus&) override {}
  void forgetStatus(const config::ObjectKey&) override {}

private:
  std::mutex mutex_;
  Contents contents_;
};

}  // namespace portico::store
