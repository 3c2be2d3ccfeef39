// The HTTP/2 sessions against real peers over loopback TCP: H2ServerSession behind a tiny
// blocking socket loop, driven by curl --http2-prior-knowledge and h2load (nghttp2-client);
// H2ClientSession fetching files from nghttpd --no-tls (nghttp2-server).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "h2_test_util.h"

extern char** environ;

namespace portico::http {
namespace {

using namespace h2test;

bool haveTool(const char* path) { return access(path, X_OK) == 0; }

bool writeAll(int fd, const Buffer& b) {
  size_t off = 0;
  while (off < b.size()) {
    ssize_t n = ::write(fd, b.data() + off, b.size() - off);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

// Answers GET with a fixed body and POST with the request body echoed back.
struct EchoApp : ServerApp {
  void onRequestEnd(int32_t id) override {
    Req& r = reqs[id];
    r.ended = true;
    if (r.method == "POST") responseBody = r.body;
    else responseBody = "hello from portico h2\n";
    respond(id);
  }
  void onStreamClosed(int32_t id, uint32_t code) override {
    ServerApp::onStreamClosed(id, code);
    reqs.erase(id);  // keep memory flat under h2load
  }
};

// One thread per accepted connection: read -> receive -> produceOutput -> write.
class LoopServer {
public:
  LoopServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd_, 64);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { acceptLoop(); });
  }
  ~LoopServer() {
    stop_ = true;
    acceptor_.join();
    for (auto& t : conns_) t.join();
    close(fd_);
  }
  int port() const { return port_; }
  int streamsServed() const { return served_; }

private:
  void acceptLoop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int c = accept(fd_, nullptr, nullptr);
      if (c >= 0) conns_.emplace_back([this, c] { serve(c); });
    }
  }
  void serve(int c) {
    EchoApp app;
    H2ServerSession session(app);
    app.session = &session;
    Buffer out;
    session.produceOutput(out);
    writeAll(c, out);
    char buf[16384];
    while (!stop_) {
      pollfd p{c, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0) break;
      bool ok = session.receive(buf, static_cast<size_t>(n));
      out.clear();
      session.produceOutput(out);
      if (!writeAll(c, out) || !ok || session.wantsClose()) break;
    }
    served_ += app.closedCount;
    close(c);
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> served_{0};
  std::thread acceptor_;
  std::vector<std::thread> conns_;
};

TEST(H2RealPeer, CurlPriorKnowledge) {
  if (!haveTool("/usr/bin/curl")) GTEST_SKIP() << "curl missing (scripts/install-deps.sh)";
  LoopServer server;
  std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/hello";
  std::string out = run("curl -sS --http2-prior-knowledge -w '|%{http_version} %{http_code}' " +
                        url + " 2>&1");
  EXPECT_EQ(out, "hello from portico h2\n|2 200");

  std::string path = testing::TempDir() + "h2_curl_body.bin";
  std::string body(300 * 1024, '\0');  // larger than one stream window of curl's default
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 7 % 251);
  std::ofstream(path, std::ios::binary) << body;
  std::string echoed = run("curl -sS --http2-prior-knowledge --data-binary @" + path + " " + url);
  EXPECT_EQ(echoed.size(), body.size());
  EXPECT_TRUE(echoed == body);
  std::filesystem::remove(path);
}

TEST(H2RealPeer, H2loadThousandRequests) {
  if (!haveTool("/usr/bin/h2load")) GTEST_SKIP() << "h2load missing (nghttp2-client)";
  LoopServer server;
  std::string out = run("h2load -n 1000 -c 4 -m 10 http://127.0.0.1:" +
                        std::to_string(server.port()) + "/ 2>&1");
  EXPECT_NE(out.find("requests: 1000 total, 1000 started, 1000 done, 1000 succeeded, 0 failed"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("status codes: 1000 2xx"), std::string::npos) << out;
  size_t at = out.find("finished in");
  if (at != std::string::npos)
    printf("h2load: %s\n", out.substr(at, out.find('\n', at) - at).c_str());
}

// nghttpd on a port we picked (it cannot report an ephemeral one).
class Nghttpd {
public:
  explicit Nghttpd(const std::string& dir) {
    for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) {
      port_ = freePort();
      std::string p = std::to_string(port_);
      std::vector<const char*> argv = {"/usr/sbin/nghttpd", "--no-tls", "-d", dir.c_str(),
                                       "-a", "127.0.0.1", p.c_str(), nullptr};
      posix_spawn_file_actions_t fa;
      posix_spawn_file_actions_init(&fa);
      posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
      posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
      pid_t pid;
      if (posix_spawn(&pid, argv[0], &fa, nullptr, const_cast<char**>(argv.data()), environ) == 0)
        pid_ = pid;
      posix_spawn_file_actions_destroy(&fa);
      if (pid_ > 0 && !waitReady()) stop();
    }
  }
  ~Nghttpd() { stop(); }
  bool running() const { return pid_ > 0; }
  int port() const { return port_; }

  int connect() const {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port_));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close(fd);
      return -1;
    }
    return fd;
  }

private:
  static int freePort() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    close(fd);
    return ntohs(a.sin_port);
  }
  bool waitReady() {
    for (int i = 0; i < 100; ++i) {
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {  // exited: port taken?
        pid_ = -1;
        return false;
      }
      int fd = connect();
      if (fd >= 0) {
        close(fd);
        return true;
      }
      usleep(50 * 1000);
    }
    return false;
  }
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  pid_t pid_ = -1;
  int port_ = 0;
};

TEST(H2RealPeer, ClientFetchesFilesFromNghttpd) {
  if (!haveTool("/usr/sbin/nghttpd")) GTEST_SKIP() << "nghttpd missing (nghttp2-server)";
  std::string dir = testing::TempDir() + "h2_nghttpd_docroot";
  std::filesystem::create_directories(dir);
  std::string big(3 * 1024 * 1024 + 17, '\0');
  uint32_t x = 12345;
  for (char& c : big) c = static_cast<char>((x = x * 1103515245 + 12345) >> 16);
  std::ofstream(dir + "/big.bin", std::ios::binary) << big;
  std::ofstream(dir + "/small.txt") << "small file\n";

  Nghttpd server(dir);
  ASSERT_TRUE(server.running());
  int fd = server.connect();
  ASSERT_GE(fd, 0);

  ClientApp app;
  H2Limits limits;
  limits.initialStreamWindow = 64 * 1024;  // many window updates on the way
  H2ClientSession client(app, limits);
  app.session = &client;
  std::string authority = "127.0.0.1:" + std::to_string(server.port());
  auto get = [&](std::string_view path) {
    std::vector<H2Field> h = {{":method", "GET"}, {":scheme", "http"},
                              {":authority", authority}, {":path", path}};
    return client.submitRequest(h, true);
  };
  int32_t bigId = get("/big.bin");
  int32_t smallId = get("/small.txt");
  int32_t missingId = get("/missing");
  ASSERT_GT(bigId, 0);

  Buffer out;
  char buf[16384];
  auto allClosed = [&] {
    return app.resps[bigId].closed && app.resps[smallId].closed && app.resps[missingId].closed;
  };
  for (int i = 0; i < 100000 && !allClosed(); ++i) {
    out.clear();
    client.produceOutput(out);
    ASSERT_TRUE(writeAll(fd, out));
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 2000) <= 0) break;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    ASSERT_TRUE(client.receive(buf, static_cast<size_t>(n)));
  }
  close(fd);
  ASSERT_TRUE(allClosed());
  EXPECT_EQ(app.resps[bigId].status, 200);
  EXPECT_EQ(app.resps[bigId].body.size(), big.size());
  EXPECT_TRUE(app.resps[bigId].body == big);
  EXPECT_EQ(app.resps[bigId].closeCode, 0u);
  EXPECT_EQ(app.resps[smallId].body, "small file\n");
  EXPECT_EQ(app.resps[missingId].status, 404);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace portico::http
