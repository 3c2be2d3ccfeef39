// ConfigStore: where the declarative config lives (a directory of YAML files, later etcd).
// Everything above this interface is store-agnostic; the controller is its only reader.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/model.h"
#include "config/object_status.h"

namespace portico::store {

/// A problem that prevented objects from being read at all (a YAML syntax error in one file,
/// a document without kind/metadata). `source` names the file (and line).
struct LoadError {
  std::string source;
  std::string message;
};

struct Contents {
  std::vector<config::RawObject> objects;
  std::vector<LoadError> errors;
};

class ConfigStore {
public:
  virtual ~ConfigStore() = default;

  /// Reads everything now. Two objects with the same key: the first one (by source order)
  /// wins and the second is reported as a LoadError naming both sources.
  virtual Contents list() = 0;
  /// Starts watching: `onChange` is called (from the store's own thread) after contents may
  /// have changed; the caller then calls list(). Changes within a short window are coalesced.
  virtual Status watch(std::function<void()> onChange) = 0;
  /// Stops the watch thread; onChange is not called after this returns.
  virtual void stop() = 0;
  /// Creates or replaces one object (serialized as YAML).
  virtual Status put(const config::RawObject& object) = 0;
  /// Deletes one object; an error when it does not exist.
  virtual Status remove(const config::ObjectKey& key) = 0;
  /// Records the object's status (the file store keeps it in memory; etcd will write it back).
  virtual void writeStatus(const config::ObjectKey& key, const config::ObjectStatus& status) = 0;
  /// Drops the status of an object that left the store (its status goes with it: the file
  /// store's memory must not grow with every name ever used).
  virtual void forgetStatus(const config::ObjectKey& key) = 0;
};

using ConfigStorePtr = std::unique_ptr<ConfigStore>;

}  // namespace portico::store
