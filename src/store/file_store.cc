#include "store/file_store.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <thread>
#include <unordered_map>

#include "common/log.h"
#include "config/decode.h"

namespace portico::store {

namespace fs = std::filesystem;
using config::ObjectKey;

namespace {

constexpr size_t kMaxFileBytes = 16 << 20;  // a config file larger than this is a mistake
constexpr int kMaxDepth = 32;
constexpr auto kCoalesce = std::chrono::milliseconds(50);
constexpr int kRetryRootMs = 500;  // while the directory is missing

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Hidden entries and editor droppings are never config. "..data"-style names (Kubernetes
// ConfigMap mounts swap a "..data" symlink) are hidden too: the visible names point into them.
bool isIgnoredName(std::string_view name) {
  return name.empty() || name[0] == '.' || endsWith(name, "~") || endsWith(name, ".swp") ||
         endsWith(name, ".swx");
}

bool isYamlName(std::string_view name) { return endsWith(name, ".yaml") || endsWith(name, ".yml"); }

std::string errnoText(int err) { return std::strerror(err); }

// Collects config files under `dir` (not following directory symlinks, so no cycles).
void collectFiles(const fs::path& dir, int depth, std::vector<std::string>& files,
                  std::vector<LoadError>& errors) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  if (ec) {
    errors.push_back({dir.string(), ec.message()});
    return;
  }
  for (; it != end; it.increment(ec)) {
    if (ec) {
      errors.push_back({dir.string(), ec.message()});
      return;
    }
    std::string name = it->path().filename().string();
    if (isIgnoredName(name)) continue;
    std::error_code sec;
    fs::file_status st = it->status(sec);  // follows file symlinks
    if (sec) continue;                     // dangling symlink: nothing to read
    if (fs::is_directory(st)) {
      if (!it->is_symlink(sec) && depth < kMaxDepth)
        collectFiles(it->path(), depth + 1, files, errors);
    } else if (fs::is_regular_file(st) && isYamlName(name)) {
      files.push_back(it->path().string());
    }
  }
}

// Reads a whole file. A file caught mid-write may be partial: the write's own inotify event
// triggers another read.
bool readFile(const std::string& path, std::string& out, std::string& error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = errnoText(errno);
    return false;
  }
  out.clear();
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = errnoText(errno);
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxFileBytes) {
      error = "file larger than " + std::to_string(kMaxFileBytes) + " bytes";
      ::close(fd);
      return false;
    }
  }
  ::close(fd);
  return true;
}

// Parses one file into `contents`; `seen` maps keys already loaded to their source.
void loadFile(const std::string& path, Contents& contents, std::map<ObjectKey, std::string>& seen) {
  std::string text, error;
  if (!readFile(path, text, error)) {
    contents.errors.push_back({path, error});
    return;
  }
  auto docs = config::parseYaml(text, path);
  if (!docs.ok()) {
    // "<path>:<line>:<col>: <message>" → source "<path>:<line>:<col>", message.
    const std::string& e = docs.error();
    size_t sep = e.find(": ", path.size());
    if (e.compare(0, path.size(), path) == 0 && sep != std::string::npos)
      contents.errors.push_back({e.substr(0, sep), e.substr(sep + 2)});
    else
      contents.errors.push_back({path, e});
    return;
  }
  for (config::Document& doc : *docs) {
    std::string source = doc.source;
    auto obj = config::toRawObject(std::move(doc));  // the tree moves: no copy per object
    if (!obj.ok()) {
      contents.errors.push_back({std::move(source), obj.error()});
      continue;
    }
    ObjectKey key = obj->key();
    auto [it, inserted] = seen.emplace(key, obj->source);
    if (!inserted) {
      contents.errors.push_back(
          {obj->source, "duplicate object " + key.display() + ": also defined at " + it->second});
      continue;
    }
    contents.objects.push_back(std::move(obj.value()));
  }
}

Contents loadFiles(const std::vector<std::string>& files, std::vector<LoadError> errors) {
  Contents contents;
  contents.errors = std::move(errors);
  std::map<ObjectKey, std::string> seen;
  for (const std::string& f : files)
    loadFile(f, contents, seen);
  return contents;
}

// The file part of a source "path/file.yaml:LINE".
std::string sourceFile(const std::string& source) {
  size_t colon = source.rfind(':');
  return colon == std::string::npos ? source : source.substr(0, colon);
}

// Writes `content` to `path` through a hidden temporary file in the same directory and a
// rename, so that readers (and the watcher) only ever see the old or the new file.
Status writeFileAtomic(const std::string& path, const std::string& content) {
  fs::path target(path);
  std::string tmpl =
      (target.parent_path() / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());
  if (fd < 0)
    return Status::error("cannot create a temporary file for " + path + ": " + errnoText(errno));
  struct stat st;
  mode_t mode = ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0644;
  ::fchmod(fd, mode);
  size_t off = 0;
  int err = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = errno;
      break;
    }
    off += static_cast<size_t>(n);
  }
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  ::close(fd);
  if (err == 0 && ::rename(name.data(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(name.data());
    return Status::error("cannot write " + path + ": " + errnoText(err));
  }
  return Status();
}

// The document put() writes: the object's own document with apiVersion, kind and metadata
// (name, namespace, labels) taken from the typed fields, which are authoritative.
config::Value buildDocument(const config::RawObject& object) {
  using config::Value;
  Value out = Value::makeMap();
  out.set("apiVersion", Value::makeString(object.apiVersion));
  out.set("kind", Value::makeString(object.kind));
  const Value* oldMeta = object.doc.find("metadata");
  Value meta = oldMeta && oldMeta->isMap() ? *oldMeta : Value::makeMap();
  meta.set("name", Value::makeString(object.meta.name));
  meta.set("namespace", Value::makeString(object.meta.ns));
  std::erase_if(meta.map, [](const auto& entry) { return entry.first == "labels"; });
  if (!object.meta.labels.empty()) {
    Value labels = Value::makeMap();
    for (const auto& [k, v] : object.meta.labels)
      labels.set(k, Value::makeString(v));
    meta.set("labels", std::move(labels));
  }
  out.set("metadata", std::move(meta));
  for (const auto& [k, v] : object.doc.map)
    if (k != "apiVersion" && k != "kind" && k != "metadata") out.set(k, v);
  return out;
}

bool isSimpleKind(std::string_view kind) {
  if (kind.empty()) return false;
  for (char c : kind)
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  return true;
}

std::string lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

// ---- loading ---------------------------------------------------------------------------------

FileStore::FileStore(std::string dir) : dir_(std::move(dir)) {}

FileStore::~FileStore() { stop(); }

Result<std::unique_ptr<FileStore>> FileStore::create(std::string dir) {
  std::error_code ec;
  fs::file_status st = fs::status(dir, ec);
  if (ec || !fs::exists(st))
    return Status::error("config directory " + dir + ": " + (ec ? ec.message() : "does not exist"));
  if (!fs::is_directory(st)) return Status::error("config directory " + dir + ": not a directory");
  return std::unique_ptr<FileStore>(new FileStore(std::move(dir)));
}

Contents FileStore::loadPaths(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  std::vector<LoadError> errors;
  for (const std::string& p : paths) {
    std::error_code ec;
    fs::file_status st = fs::status(p, ec);
    if (ec || !fs::exists(st)) {
      errors.push_back({p, ec ? ec.message() : "No such file or directory"});
    } else if (fs::is_directory(st)) {
      std::vector<std::string> found;
      collectFiles(p, 0, found, errors);
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(p);
    }
  }
  return loadFiles(files, std::move(errors));
}

Contents FileStore::list() {
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) {
    Contents c;
    bool exists = fs::exists(dir_, ec);
    c.errors.push_back({dir_, exists ? "not a directory" : "No such file or directory"});
    return c;
  }
  std::vector<std::string> files;
  std::vector<LoadError> errors;
  collectFiles(dir_, 0, files, errors);
  std::sort(files.begin(), files.end());
  return loadFiles(files, std::move(errors));
}

// ---- writing ---------------------------------------------------------------------------------

Status FileStore::rewriteDocument(const ObjectKey& key, const std::string* replacement,
                                  bool& found) {
  found = false;
  Contents contents = list();
  auto it = std::find_if(contents.objects.begin(), contents.objects.end(),
                         [&](const config::RawObject& o) { return o.key() == key; });
  if (it == contents.objects.end()) return Status();
  found = true;
  std::string path = sourceFile(it->source);
  std::string text, error;
  if (!readFile(path, text, error)) return Status::error("cannot read " + path + ": " + error);

  // Find the chunk holding the object; the other chunks are kept byte for byte.
  std::vector<config::TextSpan> spans = config::splitYamlDocuments(text);
  std::string out;
  bool replaced = false, othersHaveDocuments = false;
  for (const config::TextSpan& span : spans) {
    std::string_view chunk = std::string_view(text).substr(span.begin, span.end - span.begin);
    auto docs = config::parseYaml(chunk, path);
    bool isTarget = false;
    if (!replaced && docs.ok() && docs->size() == 1) {
      auto obj = config::toRawObject(docs->front());
      isTarget = obj.ok() && obj->key() == key;
    }
    if (!isTarget) {
      if (!docs.ok() || !docs->empty()) othersHaveDocuments = true;
      out.append(chunk);
      continue;
    }
    replaced = true;
    if (replacement) {
      if (chunk.substr(0, 3) == "---") out.append("---\n");
      out.append(*replacement);
    }
  }
  if (!replaced)
    return Status::error("cannot edit " + path + ": could not locate the document of " +
                         key.display());
  if (!replacement && !othersHaveDocuments) {
    if (::unlink(path.c_str()) != 0)
      return Status::error("cannot remove " + path + ": " + errnoText(errno));
    return Status();
  }
  return writeFileAtomic(path, out);
}

Status FileStore::put(const config::RawObject& object) {
  ObjectKey key = object.key();
  if (object.apiVersion.empty()) return Status::error(key.display() + ": apiVersion is required");
  if (!isSimpleKind(object.kind))
    return Status::error("invalid kind \"" + object.kind + "\": expected letters and digits");
  if (!config::isValidObjectName(object.meta.name))
    return Status::error(key.display() + ": invalid metadata.name");
  if (!config::isValidNamespace(object.meta.ns))
    return Status::error(key.display() + ": invalid metadata.namespace");
  std::string yaml = config::toYaml(buildDocument(object));

  std::lock_guard<std::mutex> lock(writeMutex_);
  bool found = false;
  Status st = rewriteDocument(key, &yaml, found);
  if (found || !st.ok()) return st;

  fs::path nsDir = fs::path(dir_) / object.meta.ns;
  std::error_code ec;
  fs::create_directories(nsDir, ec);
  if (ec) return Status::error("cannot create " + nsDir.string() + ": " + ec.message());
  std::string path = (nsDir / (lower(object.kind) + "-" + object.meta.name + ".yaml")).string();
  // Never clobber a file that exists without defining the object (say, one with a YAML error).
  if (fs::exists(path, ec))
    return Status::error("cannot create " + path + " for " + key.display() +
                         ": the file exists and does not define it");
  return writeFileAtomic(path, yaml);
}

Status FileStore::remove(const ObjectKey& key) {
  std::lock_guard<std::mutex> lock(writeMutex_);
  bool found = false;
  Status st = rewriteDocument(key, nullptr, found);
  if (!st.ok()) return st;
  if (!found) return Status::error(key.display() + " not found");
  return Status();
}

void FileStore::writeStatus(const ObjectKey& key, const config::ObjectStatus& status) {
  std::lock_guard<std::mutex> lock(statusMutex_);
  statuses_[key] = status;
}

void FileStore::forgetStatus(const ObjectKey& key) {
  std::lock_guard<std::mutex> lock(statusMutex_);
  statuses_.erase(key);
}

config::ObjectStatus FileStore::status(const ObjectKey& key) const {
  std::lock_guard<std::mutex> lock(statusMutex_);
  auto it = statuses_.find(key);
  return it == statuses_.end() ? config::ObjectStatus{} : it->second;
}

// ---- watching --------------------------------------------------------------------------------

// The watch thread: one inotify instance with a watch per directory of the tree plus one on
// the parent directory (to see the config directory itself being replaced), and an eventfd
// that stop() signals. Events only mark the contents dirty; onChange runs once per window.
class FileStore::Watcher : public std::enable_shared_from_this<FileStore::Watcher> {
public:
  Watcher(std::string dir, std::function<void()> onChange)
      : dir_(std::move(dir)), onChange_(std::move(onChange)) {}

  ~Watcher() {
    stop();
    if (inotifyFd_ >= 0) ::close(inotifyFd_);
    if (wakeFd_ >= 0) ::close(wakeFd_);
  }

  Status start() {
    inotifyFd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (inotifyFd_ < 0) return Status::error("inotify_init1: " + errnoText(errno));
    wakeFd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wakeFd_ < 0) return Status::error("eventfd: " + errnoText(errno));
    fs::path parent = fs::path(dir_).parent_path();
    baseName_ = fs::path(dir_).filename().string();
    if (baseName_.empty()) {  // "dir/" form
      parent = fs::path(dir_).parent_path().parent_path();
      baseName_ = fs::path(dir_).parent_path().filename().string();
    }
    if (parent.empty()) parent = ".";
    parentWd_ =
        ::inotify_add_watch(inotifyFd_, parent.c_str(),
                            IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_ONLYDIR);
    resetWatches();
    if (rootWd_ < 0) return Status::error("cannot watch " + dir_ + ": " + errnoText(rootErrno_));
    // The thread co-owns the watcher so that a stop() from inside onChange (which cannot join
    // its own thread) does not free the watcher under the running loop.
    thread_ = std::thread([self = shared_from_this()] { self->run(); });
    return Status();
  }

  void stop() {
    stopping_ = true;
    if (wakeFd_ >= 0) {
      uint64_t one = 1;
      [[maybe_unused]] ssize_t n = ::write(wakeFd_, &one, sizeof one);
    }
    if (!thread_.joinable()) return;
    // Called from onChange itself: the loop sees stopping_ when the callback returns.
    if (thread_.get_id() == std::this_thread::get_id())
      thread_.detach();
    else
      thread_.join();
  }

private:
  static constexpr uint32_t kDirMask = IN_CREATE | IN_DELETE | IN_CLOSE_WRITE | IN_MOVED_TO |
                                       IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

  void addTree(const std::string& path, int depth) {
    int wd = ::inotify_add_watch(inotifyFd_, path.c_str(), kDirMask);
    if (wd < 0) {
      if (depth == 0) rootErrno_ = errno;
      if (errno != ENOENT && errno != ENOTDIR)
        LOG_WARN("file store: cannot watch %s: %s", path.c_str(), std::strerror(errno));
      return;
    }
    if (depth == 0) rootWd_ = wd;
    paths_[wd] = path;
    std::error_code ec;
    fs::directory_iterator it(path, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      std::error_code sec;
      std::string name = it->path().filename().string();
      if (!isIgnoredName(name) && depth < kMaxDepth && it->is_directory(sec) &&
          !it->is_symlink(sec))
        addTree(it->path().string(), depth + 1);
    }
  }

  // Drops every directory watch and watches the tree again from the root: the directory was
  // replaced, or the queue overflowed and events were lost.
  void resetWatches() {
    for (const auto& entry : paths_)
      ::inotify_rm_watch(inotifyFd_, entry.first);
    paths_.clear();
    rootWd_ = -1;
    addTree(dir_, 0);
  }

  void forgetTree(const std::string& path) {
    for (const auto& [wd, p] : paths_)
      if (p == path ||
          (p.size() > path.size() && p.compare(0, path.size(), path) == 0 && p[path.size()] == '/'))
        ::inotify_rm_watch(inotifyFd_, wd);  // IN_IGNORED follows and erases the entry
  }

  // Returns true when something that may change the contents happened.
  bool handle(const struct inotify_event& ev) {
    std::string_view name = ev.len ? std::string_view(ev.name) : std::string_view();
    if (ev.mask & IN_Q_OVERFLOW) {
      resetWatches();
      return true;
    }
    if (ev.wd == parentWd_) {
      if (name != baseName_) return false;
      resetWatches();
      return true;
    }
    if (ev.mask & IN_IGNORED) {
      paths_.erase(ev.wd);
      if (ev.wd == rootWd_) rootWd_ = -1;
      return true;
    }
    if ((ev.mask & (IN_DELETE_SELF | IN_MOVE_SELF)) && ev.wd == rootWd_) {
      resetWatches();
      return true;
    }
    auto it = paths_.find(ev.wd);
    if (it == paths_.end()) return false;
    // Hidden files and editor swap files change constantly while someone edits; "..data"
    // (a ConfigMap mount's atomic swap) is the exception that matters.
    if (isIgnoredName(name) && name.substr(0, 2) != "..") return false;
    std::string path = it->second + "/" + std::string(name);
    if (ev.mask & IN_ISDIR) {
      if (ev.mask & (IN_CREATE | IN_MOVED_TO)) addTree(path, 1);
      if (ev.mask & (IN_DELETE | IN_MOVED_FROM)) forgetTree(path);
    }
    return true;
  }

  void run() {
    using Clock = std::chrono::steady_clock;
    std::optional<Clock::time_point> deadline;
    alignas(struct inotify_event) char buf[64 * 1024];
    while (!stopping_) {
      int timeout = -1;
      if (deadline) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now());
        timeout = static_cast<int>(std::max<int64_t>(0, left.count()));
      } else if (rootWd_ < 0) {
        timeout = kRetryRootMs;
      }
      struct pollfd fds[2] = {{inotifyFd_, POLLIN, 0}, {wakeFd_, POLLIN, 0}};
      int n = ::poll(fds, 2, timeout);
      if (n < 0 && errno != EINTR) {
        LOG_ERROR("file store: poll: %s", std::strerror(errno));
        return;
      }
      if (stopping_) return;
      bool changed = false;
      if (n > 0 && (fds[0].revents & POLLIN)) {
        while (true) {
          ssize_t len = ::read(inotifyFd_, buf, sizeof buf);
          if (len <= 0) break;
          for (char* p = buf; p < buf + len;) {
            auto* ev = reinterpret_cast<struct inotify_event*>(p);
            changed |= handle(*ev);
            p += sizeof(struct inotify_event) + ev->len;
          }
        }
      }
      if (rootWd_ < 0 && !deadline && n == 0) {
        resetWatches();  // the directory may be back
        changed |= rootWd_ >= 0;
      }
      if (changed && !deadline) deadline = Clock::now() + kCoalesce;
      if (deadline && Clock::now() >= *deadline) {
        deadline.reset();
        onChange_();
      }
    }
  }

  std::string dir_;
  std::string baseName_;
  std::function<void()> onChange_;
  int inotifyFd_ = -1;
  int wakeFd_ = -1;
  int parentWd_ = -1;
  int rootWd_ = -1;
  int rootErrno_ = 0;  ///< why the last attempt to watch the root failed
  std::unordered_map<int, std::string> paths_;  ///< watch descriptor → directory path
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

Status FileStore::watch(std::function<void()> onChange) {
  std::lock_guard<std::mutex> lock(watchMutex_);
  if (watcher_) return Status::error("file store " + dir_ + ": already watching");
  auto watcher = std::make_shared<Watcher>(dir_, std::move(onChange));
  Status st = watcher->start();
  if (!st.ok()) return st;
  watcher_ = std::move(watcher);
  return Status();
}

void FileStore::stop() {
  std::shared_ptr<Watcher> watcher;
  {
    std::lock_guard<std::mutex> lock(watchMutex_);
    watcher = std::move(watcher_);
  }
  if (watcher) watcher->stop();
}

}  // namespace portico::store
