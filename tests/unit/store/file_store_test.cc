// FileStore: loading a directory tree, errors per file, duplicates, watch, put/remove.
#include "store/file_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "config/decode.h"

namespace portico::store {
namespace {

namespace fs = std::filesystem;

class TempDir {
public:
  TempDir() {
    char tmpl[] = "/tmp/portico-file-store-XXXXXX";
    char* p = ::mkdtemp(tmpl);
    EXPECT_NE(p, nullptr);
    path_ = p ? p : "/tmp";
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

private:
  std::string path_;
};

void writeFile(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string upstreamYaml(const std::string& name, const std::string& ns = "gloo-system",
                         int port = 80) {
  return "apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata: {name: " + name +
         ", namespace: " + ns +
         "}\nspec: {static: {hosts: [{addr: 127.0.0.1, port: " + std::to_string(port) + "}]}}\n";
}

std::vector<std::string> names(const Contents& c) {
  std::vector<std::string> out;
  for (const auto& o : c.objects)
    out.push_back(o.meta.name);
  return out;
}

std::unique_ptr<FileStore> makeStore(const TempDir& dir) {
  auto store = FileStore::create(dir.path());
  EXPECT_TRUE(store.ok()) << store.error();
  return store.ok() ? std::move(store.value()) : nullptr;
}

TEST(FileStoreTest, CreateRequiresADirectory) {
  auto missing = FileStore::create("/nonexistent/portico-config");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("/nonexistent/portico-config"), std::string::npos);
  TempDir dir;
  writeFile(dir / "f.yaml", "");
  EXPECT_FALSE(FileStore::create(dir / "f.yaml").ok());
}

TEST(FileStoreTest, ListReportsADirectoryThatDisappeared) {
  TempDir parent;
  fs::create_directories(parent / "config");
  auto store = FileStore::create(parent / "config");
  ASSERT_TRUE(store.ok());
  fs::remove(parent / "config");
  Contents c = (*store)->list();
  EXPECT_TRUE(c.objects.empty());
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_EQ(c.errors[0].source, parent / "config");
  EXPECT_EQ(c.errors[0].message, "No such file or directory");
}

TEST(FileStoreTest, ListsMultiDocumentFilesAndSubdirectoriesInPathOrder) {
  TempDir dir;
  writeFile(dir / "b.yaml", upstreamYaml("b1") + "---\n" + upstreamYaml("b2") + "---\n");
  writeFile(dir / "a.yml", upstreamYaml("a"));
  writeFile(dir / "sub/deeper/c.yaml", "# comment only\n---\n" + upstreamYaml("c"));
  writeFile(dir / ".hidden.yaml", upstreamYaml("hidden"));
  writeFile(dir / ".git/x.yaml", upstreamYaml("in-hidden-dir"));
  writeFile(dir / "b.yaml~", upstreamYaml("backup"));
  writeFile(dir / "notes.txt", upstreamYaml("text"));
  writeFile(dir / "empty.yaml", "");
  writeFile(dir / "unknown.yaml",
            "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n");

  auto store = makeStore(dir);
  Contents c = store->list();
  EXPECT_TRUE(c.errors.empty()) << c.errors.front().source << ": " << c.errors.front().message;
  EXPECT_EQ(names(c), (std::vector<std::string>{"a", "b1", "b2", "c", "w"}));
  ASSERT_EQ(c.objects.size(), 5u);
  EXPECT_EQ(c.objects[0].source, dir / "a.yml:1");
  EXPECT_EQ(c.objects[2].source, dir / "b.yaml:6");
  EXPECT_EQ(c.objects[3].source, dir / "sub/deeper/c.yaml:3");
  EXPECT_EQ(c.objects[4].kind, "Widget");  // unknown kinds are kept for the controller to reject
}

TEST(FileStoreTest, SyntaxErrorInOneFileDoesNotHideOthers) {
  TempDir dir;
  writeFile(dir / "a.yaml", upstreamYaml("a"));
  writeFile(dir / "b.yaml", "apiVersion: v1\nkind: [oops\n");
  writeFile(dir / "c.yaml", upstreamYaml("c"));
  writeFile(dir / "d.yaml",
            "apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata: {}\n---\n" + upstreamYaml("d"));
  Contents c = makeStore(dir)->list();
  EXPECT_EQ(names(c), (std::vector<std::string>{"a", "c", "d"}));
  ASSERT_EQ(c.errors.size(), 2u);
  EXPECT_EQ(c.errors[0].source.rfind(dir / "b.yaml:", 0), 0u) << c.errors[0].source;
  EXPECT_FALSE(c.errors[0].message.empty());
  EXPECT_EQ(c.errors[1].source, dir / "d.yaml:1");
  EXPECT_EQ(c.errors[1].message, "metadata.name: required");
}

TEST(FileStoreTest, DuplicateObjectsFirstWins) {
  TempDir dir;
  writeFile(dir / "a.yaml", "# x\n\n" + upstreamYaml("x", "gloo-system", 1));
  writeFile(dir / "b.yaml", upstreamYaml("y") + "---\n" + upstreamYaml("x", "gloo-system", 2));
  writeFile(dir / "c.yaml", upstreamYaml("x", "other"));  // another namespace: no clash
  Contents c = makeStore(dir)->list();
  EXPECT_EQ(names(c), (std::vector<std::string>{"x", "y", "x"}));
  EXPECT_EQ(c.objects[0].source, dir / "a.yaml:3");
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_EQ(c.errors[0].source, dir / "b.yaml:6");
  EXPECT_EQ(c.errors[0].message,
            "duplicate object upstream x.gloo-system: also defined at " + (dir / "a.yaml:3"));
}

TEST(FileStoreTest, LoadPathsTakesFilesAndDirectories) {
  TempDir dir;
  writeFile(dir / "one.conf", upstreamYaml("one"));  // explicit file: any extension
  writeFile(dir / "tree/b.yaml", upstreamYaml("b"));
  writeFile(dir / "tree/a.yaml", upstreamYaml("a"));
  writeFile(dir / "tree/skip.conf", upstreamYaml("skip"));
  Contents c = FileStore::loadPaths({dir / "one.conf", dir / "tree", dir / "missing.yaml"});
  EXPECT_EQ(names(c), (std::vector<std::string>{"one", "a", "b"}));
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_EQ(c.errors[0].source, dir / "missing.yaml");
}

TEST(FileStoreTest, PutCreatesReplacesAndRemoveDeletes) {
  TempDir dir;
  auto store = makeStore(dir);
  auto docs = config::parseYaml(upstreamYaml("echo", "team-a", 8080), "mem");
  ASSERT_TRUE(docs.ok());
  auto obj = config::toRawObject(docs->front());
  ASSERT_TRUE(obj.ok());
  obj->meta.labels = {{"app", "echo"}};

  ASSERT_TRUE(store->put(*obj).ok());
  std::string path = dir / "team-a/upstream-echo.yaml";
  ASSERT_TRUE(fs::exists(path));
  Contents c = store->list();
  ASSERT_EQ(c.objects.size(), 1u);
  EXPECT_EQ(c.objects[0].key(), obj->key());
  EXPECT_EQ(c.objects[0].meta.labels, obj->meta.labels);
  EXPECT_EQ(config::toJson(*c.objects[0].doc.find("spec")), config::toJson(*obj->doc.find("spec")));

  // Replace in place: same file, new spec, no stray temporary files.
  obj->doc.map.back().second =
      config::parseJson(R"({"static":{"hosts":[{"addr":"h","port":9}]}})").value();
  ASSERT_TRUE(store->put(*obj).ok());
  c = store->list();
  ASSERT_EQ(c.objects.size(), 1u);
  EXPECT_EQ(c.objects[0].source, path + ":1");
  EXPECT_NE(readFile(path).find("port: 9"), std::string::npos) << readFile(path);
  auto entries = std::distance(fs::directory_iterator(dir / "team-a"), fs::directory_iterator());
  EXPECT_EQ(entries, 1);

  ASSERT_TRUE(store->remove(obj->key()).ok());
  EXPECT_FALSE(fs::exists(path));
  Status missing = store->remove(obj->key());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.message(), "upstream echo.team-a not found");
}

TEST(FileStoreTest, PutAndRemoveInsideMultiDocumentFileKeepOtherDocuments) {
  TempDir dir;
  std::string original = "# header comment\n" + upstreamYaml("a") + "---\n# about b\n" +
                         upstreamYaml("b") + "---\n" + upstreamYaml("c");
  writeFile(dir / "all.yaml", original);
  auto store = makeStore(dir);
  Contents c = store->list();
  ASSERT_EQ(c.objects.size(), 3u);

  config::RawObject b = c.objects[1];
  b.doc = config::parseJson(R"({"apiVersion":"gloo.solo.io/v1","kind":"Upstream",
      "metadata":{"name":"b","namespace":"gloo-system"},"spec":{"kube":{"serviceName":"svc"}}})")
              .value();
  ASSERT_TRUE(store->put(b).ok());
  std::string text = readFile(dir / "all.yaml");
  EXPECT_EQ(text.rfind("# header comment\n" + upstreamYaml("a") + "---\n", 0), 0u) << text;
  EXPECT_NE(text.find("serviceName: svc"), std::string::npos) << text;
  EXPECT_NE(text.find(upstreamYaml("c")), std::string::npos) << text;
  c = store->list();
  ASSERT_EQ(c.objects.size(), 3u);
  EXPECT_TRUE(c.errors.empty());
  EXPECT_NE(c.objects[1].doc.find("spec")->find("kube"), nullptr);

  ASSERT_TRUE(store->remove(c.objects[0].key()).ok());
  c = store->list();
  EXPECT_EQ(names(c), (std::vector<std::string>{"b", "c"}));
  ASSERT_TRUE(store->remove(c.objects[1].key()).ok());
  ASSERT_TRUE(store->remove(c.objects[0].key()).ok());
  EXPECT_FALSE(fs::exists(dir / "all.yaml"));  // only comments left: the file goes
}

TEST(FileStoreTest, PutRejectsBadIdentityAndNeverClobbers) {
  TempDir dir;
  auto store = makeStore(dir);
  config::RawObject obj;
  obj.apiVersion = "gloo.solo.io/v1";
  obj.kind = "Upstream";
  obj.meta.name = "../escape";
  obj.meta.ns = "gloo-system";
  EXPECT_FALSE(store->put(obj).ok());
  obj.meta.name = "ok";
  obj.meta.ns = "../x";
  EXPECT_FALSE(store->put(obj).ok());
  obj.meta.ns = "gloo-system";
  writeFile(dir / "gloo-system/upstream-ok.yaml", "broken: [\n");
  Status st = store->put(obj);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("exists"), std::string::npos) << st.message();
  EXPECT_EQ(readFile(dir / "gloo-system/upstream-ok.yaml"), "broken: [\n");
}

TEST(FileStoreTest, StatusesAreKeptInMemory) {
  TempDir dir;
  auto store = makeStore(dir);
  config::ObjectKey key{"Upstream", "gloo-system", "x"};
  EXPECT_EQ(store->status(key).state, config::ObjectStatus::State::Pending);
  store->writeStatus(key, {config::ObjectStatus::State::Rejected, "upstream x.gloo-system: bad"});
  EXPECT_EQ(store->status(key).state, config::ObjectStatus::State::Rejected);
  EXPECT_EQ(store->status(key).reason, "upstream x.gloo-system: bad");
  store->forgetStatus(key);
  EXPECT_EQ(store->status(key).state, config::ObjectStatus::State::Pending);
  store->forgetStatus(key);  // an unknown key is not an error
}

// Counts onChange calls and lets a test wait for the next one.
class ChangeCounter {
public:
  std::function<void()> callback() {
    return [this] {
      std::lock_guard<std::mutex> lock(mu_);
      ++count_;
      cv_.notify_all();
    };
  }
  // Waits until the count exceeds `seen`; returns the new count (or `seen` on timeout).
  int waitBeyond(int seen, std::chrono::milliseconds timeout = std::chrono::milliseconds(1000)) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return count_ > seen; });
    return count_;
  }
  int count() {
    std::lock_guard<std::mutex> lock(mu_);
    return count_;
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  int count_ = 0;
};

TEST(FileStoreWatchTest, NotifiesOnWritesSubdirectoriesAndDeletes) {
  TempDir dir;
  auto store = makeStore(dir);
  ChangeCounter changes;
  ASSERT_TRUE(store->watch(changes.callback()).ok());
  EXPECT_FALSE(store->watch([] {}).ok());  // one watch at a time

  writeFile(dir / "a.yaml", upstreamYaml("a"));
  int n = changes.waitBeyond(0);
  ASSERT_GE(n, 1) << "no onChange within 1 s of a write";
  EXPECT_EQ(names(store->list()), std::vector<std::string>{"a"});

  // A new subdirectory is watched too, including files created right after it.
  fs::create_directories(dir / "sub/deep");
  writeFile(dir / "sub/deep/b.yaml", upstreamYaml("b"));
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  n = changes.count();
  writeFile(dir / "sub/deep/c.yaml", upstreamYaml("c"));
  n = changes.waitBeyond(n);
  EXPECT_EQ(names(store->list()), (std::vector<std::string>{"a", "b", "c"}));

  int before = changes.count();
  fs::remove(dir / "a.yaml");
  n = changes.waitBeyond(before);
  EXPECT_GT(n, before) << "no onChange after a delete";

  // Many quick writes are coalesced into few callbacks.
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  before = changes.count();
  for (int i = 0; i < 20; ++i)
    writeFile(dir / ("burst-" + std::to_string(i) + ".yaml"),
              upstreamYaml("u" + std::to_string(i)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int burst = changes.count() - before;
  EXPECT_GE(burst, 1);
  EXPECT_LE(burst, 3);

  store->stop();
  int stopped = changes.count();
  writeFile(dir / "after-stop.yaml", upstreamYaml("z"));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(changes.count(), stopped);
}

TEST(FileStoreWatchTest, IgnoresHiddenAndEditorFiles) {
  TempDir dir;
  auto store = makeStore(dir);
  ChangeCounter changes;
  ASSERT_TRUE(store->watch(changes.callback()).ok());
  writeFile(dir / ".a.yaml.swp", "x");
  writeFile(dir / "a.yaml~", "x");
  EXPECT_EQ(changes.waitBeyond(0, std::chrono::milliseconds(300)), 0);
}

TEST(FileStoreWatchTest, SeesTheDirectoryBeingReplaced) {
  TempDir parent;
  std::string config = parent / "config";
  fs::create_directories(config);
  writeFile(config + "/a.yaml", upstreamYaml("a"));
  auto created = FileStore::create(config);
  ASSERT_TRUE(created.ok());
  auto& store = created.value();
  ChangeCounter changes;
  ASSERT_TRUE(store->watch(changes.callback()).ok());

  // Build the new tree aside, then swap it in (what a deploy script does).
  writeFile(parent / "next/b.yaml", upstreamYaml("b"));
  fs::rename(config, parent / "old");
  fs::rename(parent / "next", config);
  int n = changes.waitBeyond(0);
  ASSERT_GE(n, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(names(store->list()), std::vector<std::string>{"b"});

  // The new directory is watched.
  n = changes.count();
  writeFile(config + "/c.yaml", upstreamYaml("c"));
  EXPECT_GT(changes.waitBeyond(n), n);

  // Removed and recreated.
  fs::remove_all(config);
  fs::create_directories(config);
  n = changes.waitBeyond(changes.count());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  n = changes.count();
  writeFile(config + "/d.yaml", upstreamYaml("d"));
  EXPECT_GT(changes.waitBeyond(n), n);
  EXPECT_EQ(names(store->list()), std::vector<std::string>{"d"});
}

TEST(FileStoreWatchTest, StopFromInsideOnChangeDoesNotDeadlock) {
  TempDir dir;
  auto store = makeStore(dir);
  std::atomic<int> calls{0};
  ASSERT_TRUE(store
                  ->watch([&] {
                    ++calls;
                    store->stop();
                  })
                  .ok());
  writeFile(dir / "a.yaml", upstreamYaml("a"));
  for (int i = 0; i < 100 && calls == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(calls, 1);
  writeFile(dir / "b.yaml", upstreamYaml("b"));
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace portico::store
