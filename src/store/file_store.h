// FileStore: the embedded config store — a directory tree of YAML files, watched with inotify.
// Also loads explicit files for `portico validate FILE...` (FileStore::loadPaths).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/config_store.h"

namespace portico::store {

class FileStore : public ConfigStore {
public:
  /// A store over `dir`, which must exist and be a directory. Nothing is read until list().
  static Result<std::unique_ptr<FileStore>> create(std::string dir);
  /// Loads explicit paths: a file is read whatever its extension; a directory is read like a
  /// store directory (recursive, *.yaml / *.yml, hidden and editor temp files skipped).
  /// A missing path is a LoadError. Duplicate objects across all paths are reported.
  static Contents loadPaths(const std::vector<std::string>& paths);

  ~FileStore() override;
  FileStore(const FileStore&) = delete;
  FileStore& operator=(const FileStore&) = delete;

  // ConfigStore
  /// Every *.yaml / *.yml under the directory, recursively, in path order. Sources read
  /// "<dir>/<relative path>:<line>". A file with a YAML error is one LoadError; others load.
  Contents list() override;
  /// Watches the directory, its subdirectories and the directory's own entry in its parent
  /// (so that replacing the whole directory or a symlink to it is seen). Events are coalesced
  /// for ~50 ms, then `onChange` runs on the watch thread. Fails if already watching.
  Status watch(std::function<void()> onChange) override;
  void stop() override;
  /// Replaces the object's document where it is defined (other documents of a multi-document
  /// file keep their text), or creates <dir>/<namespace>/<kind lowercased>-<name>.yaml.
  /// Files are replaced atomically (temporary file + rename in the same directory).
  Status put(const config::RawObject& object) override;
  /// Removes the object's document, or its file when it was the file's only document.
  Status remove(const config::ObjectKey& key) override;
  void writeStatus(const config::ObjectKey& key, const config::ObjectStatus& status) override;
  void forgetStatus(const config::ObjectKey& key) override;

  /// The last status written for `key`; Pending when none. Thread-safe.
  config::ObjectStatus status(const config::ObjectKey& key) const;
  const std::string& dir() const { return dir_; }

private:
  class Watcher;

  explicit FileStore(std::string dir);
  /// put/remove: rewrites (or deletes) the file holding `key`, replacing its document with
  /// `replacement` (nullptr = delete). Returns false in `found` when no file defines `key`.
  Status rewriteDocument(const config::ObjectKey& key, const std::string* replacement, bool& found);

  std::string dir_;
  std::mutex writeMutex_;  ///< serializes put/remove (each is a read-modify-write of a file)
  mutable std::mutex statusMutex_;
  std::map<config::ObjectKey, config::ObjectStatus> statuses_;
  std::mutex watchMutex_;
  std::shared_ptr<Watcher> watcher_;  ///< shared with its own thread (see Watcher::start)
};

}  // namespace portico::store
