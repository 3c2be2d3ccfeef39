// Function discovery: modes and labels, the DiscoveredFunctions object, merging under the
// user's functions, probing a real (in-test) HTTP server and writing the result to a store.
#include "discovery/function_discovery.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "config/decode.h"
#include "discovery_test_util.h"
#include "discovery/discovered_functions.h"
#include "discovery/http_fetch.h"
#include "discovery/upstream_functions.h"
#include "store/memory_store.h"

namespace portico::discovery {
namespace {

using Mode = DiscoveryMode;

DiscoveryTarget target(std::string label = "", bool serviceSpec = false, std::string url = "",
                       bool inlineDoc = false) {
  DiscoveryTarget t;
  t.upstream = {"Upstream", "gloo-system", "petstore"};
  if (!label.empty()) t.labels = {{kFunctionDiscoveryLabel, label}};
  t.hasServiceSpec = serviceSpec;
  t.swaggerUrl = std::move(url);
  t.swaggerInline = inlineDoc;
  return t;
}

TEST(FunctionDiscoveryTest, ModesAndLabels) {
  EXPECT_FALSE(shouldDiscover(target(), Mode::Whitelist));
  EXPECT_TRUE(shouldDiscover(target("enabled"), Mode::Whitelist));
  EXPECT_TRUE(shouldDiscover(target(), Mode::Blacklist));
  EXPECT_FALSE(shouldDiscover(target("disabled"), Mode::Blacklist));
  EXPECT_FALSE(shouldDiscover(target("enabled"), Mode::Disabled));
  // a service spec of its own: not probed, unless it names a swaggerInfo.url
  EXPECT_FALSE(shouldDiscover(target("enabled", true), Mode::Whitelist));
  EXPECT_TRUE(shouldDiscover(target("", true, "http://x/s.json"), Mode::Whitelist));
  EXPECT_FALSE(shouldDiscover(target("disabled", true, "http://x/s.json"), Mode::Whitelist));
  // inline documents are converted by the controller, never fetched
  EXPECT_FALSE(shouldDiscover(target("enabled", true, "", true), Mode::Blacklist));

  DiscoveryMode m;
  EXPECT_TRUE(parseDiscoveryMode("blacklist", m));
  EXPECT_EQ(m, Mode::Blacklist);
  EXPECT_FALSE(parseDiscoveryMode("sometimes", m));
}

TEST(FunctionDiscoveryTest, UrlParsing) {
  auto u = parseHttpUrl("http://petstore:8080/swagger/v1/swagger.json?x=1#frag");
  ASSERT_TRUE(u.ok()) << u.error();
  EXPECT_EQ(u->host, "petstore");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->path, "/swagger/v1/swagger.json?x=1");
  EXPECT_EQ(u->authority, "petstore:8080");
  auto v6 = parseHttpUrl("http://[::1]");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 80);
  EXPECT_EQ(v6->path, "/");
  auto tls = parseHttpUrl("https://petstore/openapi.json");
  ASSERT_TRUE(tls.ok());
  EXPECT_TRUE(tls->https);
  EXPECT_EQ(tls->port, 443);
  EXPECT_EQ(tls->authority, "petstore");
  EXPECT_FALSE(parseHttpUrl("ftp://x/").ok());
  EXPECT_FALSE(parseHttpUrl("http://x:99999/").ok());
  EXPECT_FALSE(parseHttpUrl("http:///a").ok());
  EXPECT_FALSE(parseHttpUrl("http://u:p@x/").ok());
}

const char* kDoc = R"({"swagger": "2.0", "basePath": "/api", "paths": {
  "/pets/{id}": {"get": {"operationId": "findPetById",
                         "parameters": [{"name": "id", "in": "path", "type": "integer"}]}},
  "/pets": {"get": {"operationId": "findPets"}}}})";

TEST(FunctionDiscoveryTest, DiscoveredObjectRoundTripAndMerge) {
  auto fns = functionsFromOpenApi(kDoc);
  ASSERT_TRUE(fns.ok());
  config::ObjectKey up{"Upstream", "gloo-system", "petstore"};
  config::RawObject raw = makeDiscoveredFunctions(up, "http://h/swagger.json", functionsValue(fns->functions));
  // through YAML, as the file store writes and reads it
  auto docs = config::parseYaml(config::toYaml(raw.doc), "x.yaml");
  ASSERT_TRUE(docs.ok());
  auto back = config::toRawObject(docs->front());
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(isDiscoveredFunctionsObject(*back));
  config::Errors errors;
  DiscoveredFunctionsObject obj = decodeDiscoveredFunctions(*back, errors);
  ASSERT_TRUE(errors.empty()) << errors.toString();
  EXPECT_EQ(obj.upstream, up);
  EXPECT_EQ(obj.source, "http://h/swagger.json");
  ASSERT_EQ(obj.functions.size(), 2u);

  // the user's own findPets wins; findPetById is added
  config::Upstream u;
  u.type = "static";
  config::TransformationTemplate mine;
  mine.fieldPath = "mine";
  u.restFunctions.emplace_back("findPets", mine);
  InlineDocuments inlineDocs;
  MergedFunctions merged = mergeUpstreamFunctions(u, inlineDocs, &obj);
  ASSERT_EQ(u.restFunctions.size(), 2u);
  EXPECT_EQ(u.restFunctions[0].second.fieldPath, "mine");
  EXPECT_EQ(u.restFunctions[1].first, "findPetById");
  ASSERT_EQ(merged.added.map.size(), 1u);

  // /config_dump: the added function appears under the upstream's transformations
  auto udocs = config::parseYaml("spec: {static: {hosts: [{addr: h, port: 1}], serviceSpec: "
                                 "{rest: {transformations: {findPets: {}}}}}}", "u.yaml");
  ASSERT_TRUE(udocs.ok());
  config::Value doc = udocs->front().root;
  addFunctionsToDocument(doc, "static", merged.added);
  const config::Value* t =
      doc.find("spec")->find("static")->find("serviceSpec")->find("rest")->find("transformations");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->map.size(), 2u);
  EXPECT_TRUE(t->find("findPetById"));
}

TEST(FunctionDiscoveryTest, InlineDocumentsAndTheirFailures) {
  InlineDocuments docs;
  config::Upstream u;
  u.swaggerInfo = config::Upstream::SwaggerInfo{"", kDoc, "spec.static.serviceSpec.rest.swaggerInfo"};
  MergedFunctions ok = mergeUpstreamFunctions(u, docs, nullptr);
  EXPECT_EQ(u.restFunctions.size(), 2u);
  ASSERT_TRUE(ok.inlineState);
  EXPECT_EQ(ok.inlineState->phase, DiscoveryState::Phase::Discovered);
  EXPECT_TRUE(ok.warning.empty());

  config::Upstream bad;
  bad.swaggerInfo = config::Upstream::SwaggerInfo{"", "{\"info\": {}}", "spec.static.serviceSpec.rest.swaggerInfo"};
  MergedFunctions failed = mergeUpstreamFunctions(bad, docs, nullptr);
  EXPECT_TRUE(bad.restFunctions.empty());
  ASSERT_TRUE(failed.inlineState);
  EXPECT_EQ(failed.inlineState->phase, DiscoveryState::Phase::Failed);
  EXPECT_EQ(failed.warning.rfind("spec.static.serviceSpec.rest.swaggerInfo.inline: not a Swagger", 0), 0u)
      << failed.warning;
  docs.endBuild();
}

/// A one-thread HTTP server for the test: /swagger.json answers `kDoc` after `failFirst`
/// refused attempts (503), everything else 404.
class DocServer {
public:
  explicit DocServer(int failFirst) : failFirst_(failFirst) {
    fd_ = testing::listenLoopback(port_);
    thread_ = std::thread([this] { run(); });
  }
  ~DocServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  uint16_t port() const { return port_; }
  int docRequests() const { return docRequests_; }

private:
  void run() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      std::string req;
      while (req.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
      }
      std::string status = "404 Not Found", body = "no";
      if (req.rfind("GET /swagger.json ", 0) == 0) {
        if (++docRequests_ > failFirst_) {
          status = "200 OK";
          body = kDoc;
        } else {
          status = "503 Service Unavailable";
        }
      }
      std::string resp = "HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
      ::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  int failFirst_;
  std::atomic<int> docRequests_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

template <typename F> bool eventually(F f, int ms = 5000) {
  for (int i = 0; i < ms / 10; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return f();
}

TEST(FunctionDiscoveryTest, ProbesRetriesAndWritesTheStore) {
  DocServer server(/*failFirst=*/1);
  store::MemoryStore store;
  FunctionDiscoveryOptions options;
  options.mode = Mode::Whitelist;
  options.retryInitialMs = 50;
  FunctionDiscovery d(store, options);
  d.start();
  DiscoveryTarget t = target("enabled");
  auto address = net::Address::fromIp("127.0.0.1", server.port());
  ASSERT_TRUE(address.ok());
  t.hosts.emplace_back(*address, "127.0.0.1:" + std::to_string(server.port()));
  DiscoveryTarget unreachable = target("enabled");
  unreachable.upstream.name = "gone";
  auto closed = net::Address::fromIp("127.0.0.1", 1);
  unreachable.hosts.emplace_back(*closed, "127.0.0.1:1");
  d.update({t, unreachable}, {});

  ASSERT_TRUE(eventually([&] { return !store.list().objects.empty(); }));
  EXPECT_GE(server.docRequests(), 2);  // the 503 was retried
  auto objects = store.list().objects;
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_EQ(objects[0].kind, kDiscoveredKind);
  EXPECT_EQ(objects[0].meta.name, "petstore");
  ASSERT_TRUE(eventually([&] {
    auto s = d.state(t.upstream);
    return s && s->phase == DiscoveryState::Phase::Discovered;
  }));
  auto s = d.state(t.upstream);
  EXPECT_EQ(s->functions, 2u);
  EXPECT_EQ(s->source, "http://127.0.0.1:" + std::to_string(server.port()) + "/swagger.json");

  ASSERT_TRUE(eventually([&] {
    auto g = d.state(unreachable.upstream);
    return g && g->phase == DiscoveryState::Phase::Failed;
  }));
  EXPECT_EQ(d.state(unreachable.upstream)->reason.rfind("no functions discovered yet: ", 0), 0u);

  // not labelled any more: the stored functions are removed, the state forgotten
  config::Errors errors;
  auto obj = decodeDiscoveredFunctions(objects[0], errors);
  d.update({target()}, {{t.upstream, {obj.functionsText, obj.functions.size()}}});
  EXPECT_TRUE(store.list().objects.empty());
  EXPECT_FALSE(d.state(t.upstream));
  d.stop();
}

}  // namespace
}  // namespace portico::discovery
