// The socket contract of EventLoop (add/remove, recv/send/shutdownWrite/close) holds the same
// with both engines: epoll and io_uring (net/uring_io.h). Each test runs once per engine over a
// real socketpair.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <dirent.h>
#include <fcntl.h>
#include <functional>
#include <netinet/in.h>
#include <string>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "loop_test_util.h"
#include "net/event_loop.h"

namespace portico::net {
namespace {

struct Recorder final : EventHandler {
  uint32_t seen = 0;
  int calls = 0;
  std::function<void(uint32_t)> onEvent;
  void onEvents(uint32_t events) override {
    seen |= events;
    ++calls;
    if (onEvent) onEvent(events);
  }
};

class IoEngineTest : public ::testing::TestWithParam<IoEngine> {
public:
  void SetUp() override {
    auto l = EventLoop::create(GetParam());
    ASSERT_TRUE(l.ok()) << l.error();
    loop = std::move(l.value());
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    ours = sv[0];
    peer = sv[1];
  }
  void TearDown() override {
    if (ours >= 0) loop->close(ours);
    if (peer >= 0) ::close(peer);
    loop.reset();
  }

  /// Runs the loop until `done` holds or `ms` pass (looptest::runUntil), then asks once more.
  bool runUntil(const std::function<bool()>& done, int ms = 2000) {
    return looptest::runUntil(*loop, done, ms) || done();
  }

  /// Runs the loop for `ms`.
  void pump(int ms) { runUntil([] { return false; }, ms); }

  /// Reads everything the peer can get within `ms`, until EOF or `want` bytes.
  std::string peerRead(size_t want, int ms = 2000) {
    std::string got;
    char buf[65536];
    runUntil(
        [&] {
          for (;;) {
            ssize_t n = ::recv(peer, buf, sizeof(buf), 0);
            if (n > 0) {
              got.append(buf, static_cast<size_t>(n));
              continue;
            }
            if (n == 0) peerEof = true;
            break;
          }
          return peerEof || got.size() >= want;
        },
        ms);
    return got;
  }

  std::string drainOurs() {
    std::string got;
    char buf[4096];
    for (;;) {
      ssize_t n = loop->recv(ours, buf, sizeof(buf));
      if (n <= 0) {
        lastRecv = n;
        lastErrno = n < 0 ? errno : 0;
        return got;
      }
      got.append(buf, static_cast<size_t>(n));
    }
  }

  /// Sends `chunk` repeatedly until `ours` says EAGAIN (the peer reads nothing); returns what
  /// was accepted. The loop runs now and then so that io_uring hands its queue to the kernel.
  std::string fillOurs(const std::string& chunk) {
    std::string sent;
    for (int rounds = 1; sent.size() < (64u << 20); ++rounds) {
      ssize_t n = loop->send(ours, chunk.data(), chunk.size());
      if (n < 0) break;
      sent.append(chunk.data(), static_cast<size_t>(n));
      if (rounds % 8 == 0) runUntil([] { return false; }, 5);
    }
    return sent;
  }

  std::unique_ptr<EventLoop> loop;
  int ours = -1;
  int peer = -1;
  bool peerEof = false;
  ssize_t lastRecv = 0;
  int lastErrno = 0;
};

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

// ---- adversarial cases (review of the io_uring engine) ------------------------------------------
// Descriptors and sockets must be really released (counted in /proc/self/fd, and seen as EOF by
// the peer: a multishot recv left armed would keep the socket open), and no byte may be lost.

int openFds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) ++n;
    closedir(d);
  }
  return n - 3;  // ".", ".." and the directory's own descriptor
}

bool makePair(int sv[2]) {
  return socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0;
}

/// A connected loopback TCP pair (RST needs TCP), by default with small buffers so that sends
/// fill them fast; else the kernel's own (autotuned up to tcp_rmem/tcp_wmem).
bool tcpPair(int& ours, int& peer, bool smallBuffers = true) {
  int lst = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  int small = 16384;
  ours = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (smallBuffers) setsockopt(ours, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
  bool ok = lst >= 0 && ours >= 0 && bind(lst, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
            getsockname(lst, reinterpret_cast<sockaddr*>(&a), &len) == 0 && listen(lst, 1) == 0 &&
            connect(ours, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  peer = ok ? accept4(lst, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC) : -1;
  if (lst >= 0) ::close(lst);
  if (peer < 0) return false;
  if (smallBuffers) setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  return fcntl(ours, F_SETFL, O_NONBLOCK) == 0;
}

/// Non-blocking read of what `fd` has now. 1: EOF, -1: an error (errno kept), 0: nothing more.
int readNow(int fd, std::string& got) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n > 0) {
      got.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return 1;
    return errno == EAGAIN ? 0 : -1;
  }
}

long rssKb() {
  long pages = 0, resident = 0;
  if (FILE* f = fopen("/proc/self/statm", "r")) {
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    fclose(f);
  }
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/// The kernel's slab memory (whole machine: a rough figure, other processes move it too).
long slabKb() {
  long kb = 0;
  if (FILE* f = fopen("/proc/meminfo", "r")) {
    char line[128];
    while (fgets(line, sizeof(line), f))
      if (sscanf(line, "Slab: %ld kB", &kb) == 1) break;
    fclose(f);
  }
  return kb;
}

const char* engineName(IoEngine e) { return e == IoEngine::Epoll ? "epoll" : "io_uring"; }

/// A stream owner that reads everything it is told about (through the loop, as connections do).
struct Sink final : EventHandler {
  EventLoop* loop = nullptr;
  int fd = -1;
  std::string got;
  bool eof = false;
  int err = 0;
  void onEvents(uint32_t) override {
    char buf[8192];
    for (;;) {
      ssize_t n = loop->recv(fd, buf, sizeof(buf));
      if (n > 0) {
        got.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) eof = true;
      else if (errno != EAGAIN) err = errno;
      return;
    }
  }
};

TEST_P(IoEngineTest, PolledDescriptorReportsEachNewArrival) {
  Recorder r;
  ASSERT_TRUE(loop->add(ours, EPOLLIN | EPOLLRDHUP, &r).ok());
  char buf[64];
  r.onEvent = [&](uint32_t) {
    while (::recv(ours, buf, sizeof(buf), 0) > 0) {
    }
  };
  ASSERT_EQ(::send(peer, "one", 3, 0), 3);
  ASSERT_TRUE(runUntil([&] { return (r.seen & EPOLLIN) != 0; }));
  int before = r.calls;
  ASSERT_EQ(::send(peer, "two", 3, 0), 3);
  EXPECT_TRUE(runUntil([&] { return r.calls > before; }));
  loop->remove(ours);
  before = r.calls;
  ASSERT_EQ(::send(peer, "three", 5, 0), 5);
  runUntil([] { return false; }, 50);
  EXPECT_EQ(r.calls, before) << "no events after remove()";
}

TEST_P(IoEngineTest, StreamReadsAndWrites) {
  Recorder r;
  ASSERT_TRUE(loop->add(ours, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &r, /*stream=*/true).ok());
  ASSERT_EQ(::send(peer, "hello", 5, 0), 5);
  ASSERT_TRUE(runUntil([&] { return (r.seen & EPOLLIN) != 0; }));
  EXPECT_EQ(drainOurs(), "hello");
  EXPECT_EQ(lastRecv, -1);
  EXPECT_EQ(lastErrno, EAGAIN);
  ASSERT_EQ(loop->send(ours, "world", 5), 5);
  EXPECT_EQ(peerRead(5), "world");
  // End of stream: EPOLLRDHUP, then recv() says 0.
  r.seen = 0;
  ::shutdown(peer, SHUT_WR);
  ASSERT_TRUE(runUntil([&] { return (r.seen & EPOLLRDHUP) != 0; }));
  EXPECT_EQ(drainOurs(), "");
  EXPECT_EQ(lastRecv, 0);
}

TEST_P(IoEngineTest, CloseStillSendsQueuedOutput) {
  Recorder r;
  ASSERT_TRUE(loop->add(ours, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &r, true).ok());
  std::string body = pattern(100000);
  size_t sent = 0;
  while (sent < body.size()) {  // the epoll engine fills the socket buffer: read as we go
    ssize_t n = loop->send(ours, body.data() + sent, body.size() - sent);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    ASSERT_EQ(errno, EAGAIN);
    break;
  }
  std::string got;
  if (sent < body.size()) {
    got = peerRead(1);  // make room
    while (sent < body.size()) {
      ssize_t n = loop->send(ours, body.data() + sent, body.size() - sent);
      if (n > 0) sent += static_cast<size_t>(n);
      else got += peerRead(got.size() + 1, 200);
    }
  }
  loop->close(ours);
  ours = -1;
  got += peerRead(body.size() * 2);
  EXPECT_TRUE(peerEof);
  EXPECT_EQ(got.size(), body.size());
  EXPECT_TRUE(got == body);
}

TEST_P(IoEngineTest, ShutdownWriteComesAfterQueuedOutput) {
  Recorder r;
  ASSERT_TRUE(loop->add(ours, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &r, true).ok());
  ASSERT_EQ(loop->send(ours, "last words", 10), 10);
  loop->shutdownWrite(ours);
  EXPECT_EQ(peerRead(100), "last words");
  EXPECT_TRUE(peerEof);
  // The read side stays open.
  ASSERT_EQ(::send(peer, "reply", 5, 0), 5);
  ASSERT_TRUE(runUntil([&] { return (r.seen & EPOLLIN) != 0; }));
  EXPECT_EQ(drainOurs(), "reply");
}

TEST_P(IoEngineTest, FullOutputSaysEagainThenEpollout) {
  Recorder r;
  ASSERT_TRUE(loop->add(ours, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &r, true).ok());
  runUntil([&] { return (r.seen & EPOLLOUT) != 0; });
  std::string chunk = pattern(16384);
  size_t queued = 0;
  int rounds = 0;
  for (;;) {  // the peer reads nothing: sooner or later there is no room
    ssize_t n = loop->send(ours, chunk.data(), chunk.size());
    if (n < 0) {
      ASSERT_EQ(errno, EAGAIN);
      break;
    }
    queued += static_cast<size_t>(n);
    if (++rounds % 8 == 0) runUntil([] { return false; }, 5);  // let io_uring submit
    ASSERT_LT(queued, 64u << 20) << "never full";
  }
  r.seen = 0;
  std::string got = peerRead(queued);
  EXPECT_EQ(got.size(), queued);
  EXPECT_TRUE(runUntil([&] { return (r.seen & EPOLLOUT) != 0; })) << "no EPOLLOUT once drained";
}

TEST_P(IoEngineTest, InputBeyondWhatTheOwnerReadsIsHeldBackNotLost) {
  Recorder r;
  ASSERT_TRUE(loop->add(ours, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &r, true).ok());
  std::string body = pattern(3 << 20);
  size_t sent = 0;
  std::string got;
  // The owner reads only now and then; the peer writes as fast as it can.
  for (int i = 0; i < 4000 && got.size() < body.size(); ++i) {
    while (sent < body.size()) {
      ssize_t n = ::send(peer, body.data() + sent, body.size() - sent, 0);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    runUntil([] { return false; }, 2);
    if (i % 5 == 0) got += drainOurs();
  }
  got += drainOurs();
  EXPECT_EQ(got.size(), body.size());
  EXPECT_TRUE(got == body);
}

TEST_P(IoEngineTest, StreamHandedToANewOwnerKeepsItsInput) {
  Recorder first, second;
  ASSERT_TRUE(loop->add(ours, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &first, true).ok());
  ASSERT_EQ(::send(peer, "PRI", 3, 0), 3);
  ASSERT_TRUE(runUntil([&] { return (first.seen & EPOLLIN) != 0; }));
  loop->remove(ours);
  ASSERT_EQ(::send(peer, "MORE", 4, 0), 4);
  runUntil([] { return false; }, 20);
  ASSERT_TRUE(loop->add(ours, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &second, true).ok());
  ASSERT_TRUE(runUntil([&] { return second.calls > 0; }));
  EXPECT_EQ(drainOurs(), "PRIMORE");
}

TEST_P(IoEngineTest, PeerResetIsReported) {
  Recorder r;
  ASSERT_TRUE(loop->add(ours, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &r, true).ok());
  ::close(peer);
  peer = -1;
  ASSERT_TRUE(runUntil([&] { return (r.seen & (EPOLLRDHUP | EPOLLHUP)) != 0; }));
  drainOurs();
  EXPECT_EQ(lastRecv, 0);
  // Writing to a closed peer fails (at once with epoll, by the next call with io_uring).
  bool failed = false;
  for (int i = 0; i < 20 && !failed; ++i) {
    if (loop->send(ours, "x", 1) < 0) failed = errno == EPIPE || errno == ECONNRESET;
    runUntil([] { return false; }, 5);
  }
  EXPECT_TRUE(failed);
}

TEST_P(IoEngineTest, StreamsClosedWithOutputQueuedReleaseTheirDescriptors) {
  int base = openFds();
  Recorder sink;
  std::vector<int> peers;  // kept open: each must get its bytes, then EOF
  std::string body = pattern(3000);
  for (int i = 0; i < 400; ++i) {
    int sv[2];
    ASSERT_TRUE(makePair(sv));
    ASSERT_TRUE(loop->add(sv[0], EPOLLIN | EPOLLOUT | EPOLLRDHUP, &sink, true).ok());
    ASSERT_EQ(loop->send(sv[0], body.data(), body.size()), static_cast<ssize_t>(body.size()));
    if (i % 3 == 0) {
      ASSERT_EQ(::send(sv[1], "input", 5, 0), 5);  // unread input at close
    }
    if (i % 4 == 1) runUntil([] { return false; }, 1);             // some sends in flight
    loop->close(sv[0]);
    if (i % 2 == 0) {
      ::close(sv[1]);  // the queued output has nowhere to go
    } else {
      peers.push_back(sv[1]);
    }
  }
  std::vector<std::string> got(peers.size());
  std::vector<bool> done(peers.size(), false);
  size_t finished = 0;
  runUntil([&] {
    for (size_t i = 0; i < peers.size(); ++i)
      if (!done[i] && readNow(peers[i], got[i]) != 0) {
        done[i] = true;
        ++finished;
      }
    return finished == peers.size();
  });
  EXPECT_EQ(finished, peers.size()) << "some peers never saw EOF";
  for (size_t i = 0; i < peers.size(); ++i) {
    EXPECT_TRUE(got[i] == body) << "peer " << i << " got " << got[i].size() << " bytes";
    ::close(peers[i]);
  }
  EXPECT_TRUE(runUntil([&] { return openFds() == base; })) << openFds() - base << " leaked";
}

TEST_P(IoEngineTest, CloseWithALargeSendInFlightStillDeliversItAll) {
  Recorder r;
  ASSERT_TRUE(loop->add(ours, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &r, true).ok());
  std::string sent = fillOurs(pattern(65536));
  loop->close(ours);
  ours = -1;
  runUntil([] { return false; }, 50);  // the peer is slow to start reading
  std::string got = peerRead(sent.size() * 2, 5000);
  EXPECT_TRUE(peerEof);
  EXPECT_EQ(got.size(), sent.size());
  EXPECT_TRUE(got == sent);
}

// Worker shutdown: a connection that answered and closed is gone from the worker, which stops
// its loop once none is left (Worker::drain). What the engine still held must reach the client,
// as the kernel delivers a closed socket's buffered bytes with epoll.
TEST_P(IoEngineTest, QueuedOutputOfAClosedStreamSurvivesTheLoopEnding) {
  Recorder r;
  ASSERT_TRUE(loop->add(ours, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &r, true).ok());
  std::string sent = fillOurs(pattern(65536));
  loop->close(ours);
  ours = -1;
  runUntil([] { return false; }, 10);
  loop.reset();
  std::string got;
  int end = 0;
  for (int i = 0; i < 2000 && end == 0; ++i) {
    end = readNow(peer, got);
    if (end == 0) usleep(1000);
  }
  EXPECT_EQ(end, 1) << "no EOF";
  EXPECT_EQ(got.size(), sent.size()) << "bytes accepted by send() were dropped";
}

TEST_P(IoEngineTest, RemovedStreamClosedWhileInputArrivesReallyCloses) {
  int base = openFds();
  Recorder r;
  ASSERT_TRUE(loop->add(ours, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &r, true).ok());
  std::string chunk = pattern(50000);
  ASSERT_GT(::send(peer, chunk.data(), chunk.size(), 0), 0);
  runUntil([] { return false; }, 5);
  loop->remove(ours);
  ASSERT_GT(::send(peer, chunk.data(), chunk.size(), 0), 0);
  loop->close(ours);
  ours = -1;
  for (int i = 0; i < 5; ++i) {
    ssize_t n = ::send(peer, chunk.data(), chunk.size(), MSG_NOSIGNAL);  // still arriving
    if (n < 0) break;
  }
  // The peer must learn that the socket is gone: EOF or a reset, and a send fails.
  std::string ignored;
  int end = 0;
  runUntil([&] { return (end = readNow(peer, ignored)) != 0; });
  EXPECT_NE(end, 0) << "the closed socket is still open underneath";
  EXPECT_LT(::send(peer, "x", 1, MSG_NOSIGNAL), 0);
  EXPECT_EQ(openFds(), base - 1);
}

TEST_P(IoEngineTest, PeerResetDuringALargeSendIsReportedAndCloses) {
  int base = openFds();
  ::close(ours);
  ::close(peer);
  ASSERT_TRUE(tcpPair(ours, peer));
  Recorder r;
  ASSERT_TRUE(loop->add(ours, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &r, true).ok());
  std::string sent = fillOurs(pattern(65536));
  ASSERT_GT(sent.size(), 0u);
  linger reset{1, 0};
  ASSERT_EQ(setsockopt(peer, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset)), 0);
  ::close(peer);  // RST with our output still queued
  peer = -1;
  r.seen = 0;
  ASSERT_TRUE(runUntil([&] { return (r.seen & (EPOLLERR | EPOLLHUP)) != 0; }))
      << "no EPOLLERR/EPOLLHUP after a reset";
  bool sendFailed = false;
  for (int i = 0; i < 20 && !sendFailed; ++i) {
    if (loop->send(ours, "x", 1) < 0 && errno != EAGAIN) sendFailed = true;
    runUntil([] { return false; }, 5);
  }
  EXPECT_TRUE(sendFailed);
  char buf[64];
  ssize_t n = loop->recv(ours, buf, sizeof(buf));
  EXPECT_TRUE(n == 0 || (n < 0 && errno != EAGAIN)) << "recv after a reset: " << n;
  loop->close(ours);
  ours = -1;
  EXPECT_TRUE(runUntil([&] { return openFds() == base - 2; }));
}

TEST_P(IoEngineTest, SendAfterShutdownWriteNeverReachesThePeer) {
  Recorder r;
  ASSERT_TRUE(loop->add(ours, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &r, true).ok());
  ASSERT_EQ(loop->send(ours, "first", 5), 5);
  loop->shutdownWrite(ours);
  // epoll: EPIPE. Accepting the bytes is tolerable only if they are then dropped.
  ssize_t n = loop->send(ours, "second", 6);
  if (n < 0) {
    EXPECT_EQ(errno, EPIPE);
  }
  EXPECT_EQ(peerRead(100), "first");
  EXPECT_TRUE(peerEof);
}

TEST_P(IoEngineTest, PolledDescriptorReAddedAfterRemoveReportsInput) {
  Recorder r;
  char buf[64];
  r.onEvent = [&](uint32_t) {
    while (::recv(ours, buf, sizeof(buf), 0) > 0) {
    }
  };
  ASSERT_TRUE(loop->add(ours, EPOLLIN | EPOLLRDHUP, &r).ok());
  ASSERT_EQ(::send(peer, "a", 1, 0), 1);
  ASSERT_TRUE(runUntil([&] { return r.calls > 0; }));
  // Removed and added again before the loop runs (a listener paused and resumed at once).
  loop->remove(ours);
  ASSERT_TRUE(loop->add(ours, EPOLLIN | EPOLLRDHUP, &r).ok());
  int before = r.calls;
  ASSERT_EQ(::send(peer, "b", 1, 0), 1);
  EXPECT_TRUE(runUntil([&] { return r.calls > before; })) << "no event after remove+add";
  // Input that arrived while removed is reported once added again.
  loop->remove(ours);
  ASSERT_EQ(::send(peer, "c", 1, 0), 1);
  runUntil([] { return false; }, 20);
  before = r.calls;
  ASSERT_TRUE(loop->add(ours, EPOLLIN | EPOLLRDHUP, &r).ok());
  EXPECT_TRUE(runUntil([&] { return r.calls > before; })) << "pending input not reported";
  // modify() moves the events to another handler.
  Recorder other;
  ASSERT_TRUE(loop->modify(ours, EPOLLIN | EPOLLRDHUP, &other).ok());
  before = r.calls;
  ASSERT_EQ(::send(peer, "d", 1, 0), 1);
  EXPECT_TRUE(runUntil([&] { return other.calls > 0; }));
  EXPECT_EQ(r.calls, before);
  loop->remove(ours);
}

TEST_P(IoEngineTest, StreamHandedOverAfterEofReadsItsInputThenEof) {
  Recorder first, second;
  ASSERT_TRUE(loop->add(ours, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &first, true).ok());
  loop->remove(ours);
  ASSERT_EQ(::send(peer, "tail", 4, 0), 4);
  ::shutdown(peer, SHUT_WR);
  runUntil([] { return false; }, 20);
  ASSERT_TRUE(loop->add(ours, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &second, true).ok());
  ASSERT_TRUE(runUntil([&] { return (second.seen & EPOLLIN) != 0; }));
  EXPECT_EQ(drainOurs(), "tail");
  EXPECT_EQ(lastRecv, 0);
}

// More streams receiving at once than the provided-buffer ring (128) and the completion queue
// (2 x 1024) hold, all added in one iteration (more submissions than the submission queue).
TEST_P(IoEngineTest, ManyStreamsReceivingAtOnceLoseNothing) {
  runUntil([] { return true; }, 10);  // the loop has run once (io_uring: enabled on this thread)
  int base = openFds();
  constexpr int kStreams = 3000;
  std::vector<Sink> sinks(kStreams);
  std::vector<int> peers(kStreams);
  for (int i = 0; i < kStreams; ++i) {
    int sv[2];
    ASSERT_TRUE(makePair(sv)) << i;
    sinks[i].loop = loop.get();
    sinks[i].fd = sv[0];
    peers[i] = sv[1];
    ASSERT_TRUE(loop->add(sv[0], EPOLLIN | EPOLLOUT | EPOLLRDHUP, &sinks[i], true).ok());
  }
  auto message = [&](int i) { return "stream " + std::to_string(i) + " " + pattern(1000 + i % 7); };
  for (int i = 0; i < kStreams; ++i) {
    std::string m = message(i);
    ASSERT_EQ(::send(peers[i], m.data(), m.size(), 0), static_cast<ssize_t>(m.size()));
  }
  int complete = 0;
  runUntil(
      [&] {
        complete = 0;
        for (int i = 0; i < kStreams; ++i) complete += sinks[i].got.size() >= 1000;
        return complete == kStreams;
      },
      10000);
  EXPECT_EQ(complete, kStreams);
  int wrong = 0;
  for (int i = 0; i < kStreams; ++i) wrong += sinks[i].got != message(i) || sinks[i].err != 0;
  EXPECT_EQ(wrong, 0);
  for (int i = 0; i < kStreams; ++i) {
    loop->close(sinks[i].fd);
    ::close(peers[i]);
  }
  EXPECT_TRUE(runUntil([&] { return openFds() == base; }));
}

// Owners that stop reading (a slow upstream behind them) must not stall the other streams.
TEST_P(IoEngineTest, StreamsWhoseOwnersNeverReadDoNotStarveOthers) {
  constexpr int kStalled = 150;
  long rssBefore = rssKb();
  Recorder deaf;
  std::vector<int> mine(kStalled), theirs(kStalled);
  std::vector<size_t> pushed(kStalled, 0);
  std::string chunk = pattern(65536);
  for (int i = 0; i < kStalled; ++i) {
    int sv[2];
    ASSERT_TRUE(makePair(sv));
    mine[i] = sv[0];
    theirs[i] = sv[1];
    ASSERT_TRUE(loop->add(sv[0], EPOLLIN | EPOLLOUT | EPOLLRDHUP, &deaf, true).ok());
  }
  for (int round = 0; round < 12; ++round) {  // each peer pushes until nothing more fits
    for (int i = 0; i < kStalled; ++i) {
      for (;;) {
        size_t off = pushed[i] % chunk.size();
        ssize_t n = ::send(theirs[i], chunk.data() + off, chunk.size() - off, 0);
        if (n <= 0) break;
        pushed[i] += static_cast<size_t>(n);
      }
    }
    runUntil([] { return false; }, 5);
  }
  std::printf("[ figures  ] %s: %d streams not read: +%ld KiB of user memory\n",
              engineName(GetParam()), kStalled, rssKb() - rssBefore);
  // A new stream still gets its bytes both ways.
  Recorder r;
  ASSERT_TRUE(loop->add(ours, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &r, true).ok());
  ASSERT_EQ(::send(peer, "ping", 4, 0), 4);
  ASSERT_TRUE(runUntil([&] { return (r.seen & EPOLLIN) != 0; })) << "starved";
  EXPECT_EQ(drainOurs(), "ping");
  ASSERT_EQ(loop->send(ours, "pong", 4), 4);
  EXPECT_EQ(peerRead(4), "pong");
  // A stalled stream's input is intact when its owner reads at last.
  std::string got;
  char buf[65536];
  runUntil([&] {
    for (;;) {
      ssize_t n = loop->recv(mine[0], buf, sizeof(buf));
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    return got.size() >= pushed[0];
  });
  ASSERT_EQ(got.size(), pushed[0]);
  bool same = true;
  for (size_t off = 0; off < got.size() && same; off += chunk.size())
    same = got.compare(off, chunk.size(), chunk, 0, std::min(chunk.size(), got.size() - off)) == 0;
  EXPECT_TRUE(same);
  // Closing streams whose input is full (reading stopped) really closes them.
  for (int i = 0; i < kStalled; ++i) loop->close(mine[i]);
  std::vector<bool> gone(kStalled, false);
  int closed = 0;
  runUntil([&] {
    for (int i = 0; i < kStalled; ++i) {
      if (gone[i]) continue;
      std::string ignored;
      // The peer's pending bytes may be refused (EPIPE) or its read may say EOF/reset.
      if (readNow(theirs[i], ignored) != 0 || ::send(theirs[i], "x", 1, MSG_NOSIGNAL) < 0) {
        gone[i] = true;
        ++closed;
      }
    }
    return closed == kStalled;
  });
  EXPECT_EQ(closed, kStalled);
  for (int fd : theirs) ::close(fd);
}

// Worker::~Worker: the loop thread has stopped; the main thread closes what is left
// (abortNow()), more streams than the submission queue holds, then destroys the loop. Runs in
// a child process (EXPECT_EXIT) so that a crash fails this test only. Exit codes: 0 fine,
// 6 a peer never saw its socket close.
[[noreturn]] void closeManyFromAnotherThread(IoEngine engine) {
  auto l = EventLoop::create(engine);
  if (!l.ok()) _exit(3);
  std::unique_ptr<EventLoop> loop = std::move(l.value());
  constexpr int kStreams = 1500;
  std::vector<int> mine, theirs;
  Recorder sink;
  loop->post([&] {
    for (int i = 0; i < kStreams; ++i) {
      int sv[2];
      if (!makePair(sv)) _exit(4);
      mine.push_back(sv[0]);
      theirs.push_back(sv[1]);
      if (!loop->add(sv[0], EPOLLIN | EPOLLOUT | EPOLLRDHUP, &sink, true).ok()) _exit(5);
      loop->send(sv[0], "bye", 3);
    }
    loop->stop();
  });
  std::thread t([&] { loop->run(); });
  t.join();
  for (int fd : mine) loop->close(fd);
  loop.reset();
  std::vector<bool> gone(theirs.size(), false);
  size_t closed = 0;
  for (int round = 0; round < 2000 && closed < theirs.size(); ++round) {  // 2 s at most
    for (size_t i = 0; i < theirs.size(); ++i) {
      std::string got;
      if (!gone[i] && readNow(theirs[i], got) != 0) {
        gone[i] = true;
        ++closed;
      }
    }
    if (closed < theirs.size()) usleep(1000);
  }
  _exit(closed == theirs.size() ? 0 : 6);
}

TEST_P(IoEngineTest, ClosingManyStreamsFromAnotherThreadAfterTheLoopStopped) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(closeManyFromAnotherThread(GetParam()), ::testing::ExitedWithCode(0), "");
}

TEST_P(IoEngineTest, IdleStreamsCostLittleMemory) {
  runUntil([] { return true; }, 10);
  constexpr int kStreams = 4000;
  Recorder sink;
  std::vector<int> fds;
  long before = rssKb();
  long slabBefore = slabKb();
  for (int i = 0; i < kStreams; ++i) {
    int sv[2];
    ASSERT_TRUE(makePair(sv));
    fds.push_back(sv[0]);
    fds.push_back(sv[1]);
    ASSERT_TRUE(loop->add(sv[0], EPOLLIN | EPOLLOUT | EPOLLRDHUP, &sink, true).ok());
  }
  runUntil([] { return false; }, 50);
  long perStream = (rssKb() - before) * 1024 / kStreams;
  std::printf("[ figures  ] %s: per idle stream %ld B of user memory, ~%ld B of kernel slab "
              "(socketpair included; machine-wide, rough)\n",
              engineName(GetParam()), perStream, (slabKb() - slabBefore) * 1024 / kStreams);
  EXPECT_LT(perStream, 2048);
  for (size_t i = 0; i < fds.size(); i += 2) {
    loop->close(fds[i]);
    ::close(fds[i + 1]);
  }
  runUntil([] { return false; }, 20);
}

// ---- the peer goes away while its stream's owner does not read (backpressure) -------------------
// A proxy that paused a client must still learn that the client left, to stop the upstream
// request and free the connection. epoll reports it (EPOLLRDHUP, EPOLLHUP/EPOLLERR); io_uring
// stopped receiving once the stream's input was full, and so heard nothing until a read.

/// The peer writes until nothing more fits (the engine's queue, then the socket buffers); the
/// owner reads nothing. Returns the bytes written: `chunk` repeated.
size_t peerFillsOurs(IoEngineTest& t, int peer, const std::string& chunk) {
  size_t pushed = 0;
  for (int round = 0; round < 12; ++round) {
    for (;;) {
      size_t off = pushed % chunk.size();
      ssize_t n = ::send(peer, chunk.data() + off, chunk.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      pushed += static_cast<size_t>(n);
    }
    t.pump(5);
  }
  return pushed;
}

TEST_P(IoEngineTest, HalfCloseIsReportedWhileTheInputIsFull) {
  Recorder r;  // never reads
  ASSERT_TRUE(loop->add(ours, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &r, true).ok());
  std::string chunk = pattern(65536);
  size_t pushed = peerFillsOurs(*this, peer, chunk);
  ASSERT_GT(pushed, 64u * 1024);
  r.seen = 0;
  ::shutdown(peer, SHUT_WR);
  ASSERT_TRUE(runUntil([&] { return (r.seen & EPOLLRDHUP) != 0; }))
      << "no EPOLLRDHUP while the owner did not read";
  EXPECT_EQ(r.seen & (EPOLLHUP | EPOLLERR), 0u) << "a half-close is not a reset";
  // Told once: the watch for a later reset must not keep completing (and waking the owner).
  int calls = r.calls;
  pump(100);
  EXPECT_LE(r.calls, calls + 1) << "the owner was woken again and again after one half-close";
  // What was sent before the FIN still comes first, then the end of stream.
  std::string got;
  runUntil([&] {
    got += drainOurs();
    return lastRecv == 0 || (lastRecv < 0 && lastErrno != EAGAIN);
  });
  EXPECT_EQ(lastRecv, 0);
  ASSERT_EQ(got.size(), pushed);
  bool same = true;
  for (size_t off = 0; off < got.size() && same; off += chunk.size())
    same = got.compare(off, chunk.size(), chunk, 0, std::min(chunk.size(), got.size() - off)) == 0;
  EXPECT_TRUE(same);
}

TEST_P(IoEngineTest, CloseAndResetAreReportedWhileTheInputIsFull) {
  // A socketpair's peer closing: EPOLLHUP (both directions are shut).
  Recorder r;
  ASSERT_TRUE(loop->add(ours, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &r, true).ok());
  ASSERT_GT(peerFillsOurs(*this, peer, pattern(65536)), 64u * 1024);
  r.seen = 0;
  ::close(peer);
  peer = -1;
  EXPECT_TRUE(runUntil([&] { return (r.seen & (EPOLLRDHUP | EPOLLHUP)) != 0; }))
      << "the peer's close was not reported while the owner did not read";
  loop->close(ours);
  // A TCP peer resetting: EPOLLERR/EPOLLHUP.
  ASSERT_TRUE(tcpPair(ours, peer));
  Recorder t;
  ASSERT_TRUE(loop->add(ours, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &t, true).ok());
  ASSERT_GT(peerFillsOurs(*this, peer, pattern(65536)), 64u * 1024);
  t.seen = 0;
  linger reset{1, 0};
  ASSERT_EQ(setsockopt(peer, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset)), 0);
  ::close(peer);
  peer = -1;
  EXPECT_TRUE(runUntil([&] { return (t.seen & (EPOLLERR | EPOLLHUP)) != 0; }))
      << "a reset was not reported while the owner did not read";
}

TEST_P(IoEngineTest, ResetAfterTheEofIsReported) {
  // A peer that half-closed and then resets (here: closes with unread input as it would on
  // getting a request after its FIN): the owner that keeps the stream after reading EOF hears
  // of it, as epoll tells it, instead of waiting for a response that never comes.
  ::close(ours);
  ::close(peer);
  ASSERT_TRUE(tcpPair(ours, peer));
  Recorder r;
  ASSERT_TRUE(loop->add(ours, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &r, true).ok());
  ::shutdown(peer, SHUT_WR);
  ASSERT_TRUE(runUntil([&] { return (r.seen & EPOLLRDHUP) != 0; }));
  runUntil([&] {
    drainOurs();
    return lastRecv == 0;
  });
  ASSERT_EQ(lastRecv, 0);
  r.seen = 0;
  ASSERT_EQ(loop->send(ours, "GET / HTTP/1.1\r\n\r\n", 18), 18);
  ASSERT_TRUE(runUntil([&] {
    char buf[64];
    return ::recv(peer, buf, sizeof(buf), MSG_PEEK) > 0;
  }));
  ::close(peer);  // unread input: a reset
  peer = -1;
  EXPECT_TRUE(runUntil([&] { return (r.seen & (EPOLLERR | EPOLLHUP)) != 0; }))
      << "a reset after the EOF was not reported";
}

INSTANTIATE_TEST_SUITE_P(Engines, IoEngineTest,
                         ::testing::Values(IoEngine::Epoll, IoEngine::IoUring),
                         [](const ::testing::TestParamInfo<IoEngine>& info) {
                           return info.param == IoEngine::Epoll ? "epoll" : "io_uring";
                         });

// ---- io_uring only: the engine's own bounds and failures, through UringIo itself ----------------
// (EventLoop does not expose its engine.)

/// Applies completions and runs handlers for `ms`; `each` runs after every wait.
void pumpUring(UringIo& io, int ms, const std::function<void()>& each = nullptr) {
  MonoMs end = monotonicMs() + ms;
  do {
    io.wait(1);
    if (each) each();
    io.dispatch();
  } while (monotonicMs() < end);
}

// A peer writing 8 MiB at once to a stream whose owner does not read: the multishot recv keeps
// taking ring buffers until our cancellation lands, unless the kernel stops it at the bound.
TEST(IoEngineUring, ABurstIntoAStreamNotReadStaysBounded) {
  auto created = UringIo::create();
  ASSERT_TRUE(created.ok()) << created.error();
  UringIo& io = *created.value();
  int ours = -1, peer = -1;
  ASSERT_TRUE(tcpPair(ours, peer, /*smallBuffers=*/false));
  Recorder r;  // reads nothing until told below
  ASSERT_TRUE(io.add(ours, EPOLLIN | EPOLLOUT | EPOLLRDHUP, &r, true).ok());
  ASSERT_EQ(fcntl(peer, F_SETFL, 0), 0);  // blocking: the writer pushes as fast as we take it
  std::string body = pattern(8 << 20);
  std::thread writer([&] {
    for (size_t off = 0; off < body.size();) {
      ssize_t n = ::send(peer, body.data() + off, body.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  });
  size_t peak = 0;
  auto measure = [&] { peak = std::max(peak, io.heldInputForTest(ours)); };
  std::string got;
  char buf[65536];
  MonoMs deadline = monotonicMs() + 20000;
  auto readUntil = [&](size_t want) {
    while (got.size() < want && monotonicMs() < deadline) {
      ssize_t n = io.recv(ours, buf, sizeof(buf));
      if (n > 0) {
        got.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0 || errno != EAGAIN) break;
      io.wait(10);
      measure();
      io.dispatch();
    }
  };
  // The owner reads the first 2 MiB (TCP's window grows to what a busy connection gets), then
  // stops, then reads the rest: every byte arrives, in order, and the bound holds throughout.
  readUntil(2 << 20);
  pumpUring(io, 300, measure);
  size_t peakNotRead = peak;
  readUntil(body.size());
  writer.join();
  std::printf("[ figures  ] io_uring: 8 MiB burst, owner reading then pausing: %zu bytes held at "
              "most until the pause ended, %zu overall (bound %zu)\n",
              peakNotRead, peak, io.inputBoundForTest());
  EXPECT_LE(peak, io.inputBoundForTest());
  EXPECT_EQ(got.size(), body.size());
  EXPECT_TRUE(got == body);
  io.close(ours);
  ::close(peer);
}

// A multishot poll that the kernel ends with an error of its own (not a cancellation): a transient
// failure is armed again without the owner noticing; one that is not gets EPOLLERR|EPOLLHUP to
// the owner (as a dead descriptor would with epoll) and is not retried forever.
TEST(IoEngineUring, PollEndedByAKernelFailureIsArmedAgainOrReported) {
  auto created = UringIo::create();
  ASSERT_TRUE(created.ok()) << created.error();
  UringIo& io = *created.value();
  int sv[2];
  ASSERT_TRUE(makePair(sv));
  Recorder r;
  char buf[64];
  r.onEvent = [&](uint32_t) {
    while (::recv(sv[0], buf, sizeof(buf), 0) > 0) {
    }
  };
  ASSERT_TRUE(io.add(sv[0], EPOLLIN | EPOLLRDHUP, &r, false).ok());
  pumpUring(io, 10);
  // ENOMEM: the kernel could not keep the poll for now (simulated: see failPollForTest).
  io.failPollForTest(sv[0], -ENOMEM);
  pumpUring(io, 20);
  EXPECT_EQ(r.seen & (EPOLLERR | EPOLLHUP), 0u) << "a transient failure reached the owner";
  r.seen = 0;
  ASSERT_EQ(::send(sv[1], "a", 1, 0), 1);
  pumpUring(io, 50);
  EXPECT_NE(r.seen & EPOLLIN, 0u) << "the poll was not armed again after ENOMEM";
  // EINVAL: the descriptor cannot be polled; the owner must learn it.
  io.failPollForTest(sv[0], -EINVAL);
  pumpUring(io, 20);
  EXPECT_EQ(r.seen & (EPOLLERR | EPOLLHUP), static_cast<uint32_t>(EPOLLERR | EPOLLHUP));
  // A descriptor that is not open at all (real, not simulated): the same.
  Recorder dead;
  int closed = dup(sv[1]);
  ::close(closed);
  ASSERT_TRUE(io.add(closed, EPOLLIN, &dead, false).ok());
  pumpUring(io, 20);
  EXPECT_EQ(dead.seen & (EPOLLERR | EPOLLHUP), static_cast<uint32_t>(EPOLLERR | EPOLLHUP));
  EXPECT_LE(dead.calls, 1) << "retried a poll that cannot work";
  io.remove(closed);
  io.remove(sv[0]);
  ::close(sv[0]);
  ::close(sv[1]);
}

}  // namespace
}  // namespace portico::net
