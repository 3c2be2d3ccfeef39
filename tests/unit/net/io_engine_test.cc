// The socket contract of EventLoop (add/remove, recv/send/shutdownWrite/close) holds the same
// with both engines: epoll and io_uring (net/uring_io.h). Each test runs once per engine over a
// real socketpair.
#include <gtest/gtest.h>

#include <cerrno>
#include <fcntl.h>
#include <functional>
#include <string>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

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
protected:
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

  /// Runs the loop until `done` holds (checked after each wake-up) or `ms` pass.
  bool runUntil(const std::function<bool()>& done, int ms = 2000) {
    bool met = false;
    Timer deadline(*loop, [&] { loop->stop(); });
    deadline.arm(ms);
    Timer tick(*loop, [] {});
    std::function<void()> check = [&] {
      if (done()) {
        met = true;
        loop->stop();
      } else {
        tick.arm(1);  // wake up again soon: not every condition comes with an event
      }
    };
    loop->setIterationHook(check);
    tick.arm(0);
    loop->run();
    loop->setIterationHook(nullptr);
    return met || done();
  }

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

INSTANTIATE_TEST_SUITE_P(Engines, IoEngineTest,
                         ::testing::Values(IoEngine::Epoll, IoEngine::IoUring),
                         [](const ::testing::TestParamInfo<IoEngine>& info) {
                           return info.param == IoEngine::Epoll ? "epoll" : "io_uring";
                         });

}  // namespace
}  // namespace portico::net
