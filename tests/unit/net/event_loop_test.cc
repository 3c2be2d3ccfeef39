// EventLoop: timers fire in deadline order, cancel works, posts cross threads, schedule runs.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/epoll.h>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <unistd.h>

#include "net/event_loop.h"

namespace portico::net {
namespace {

TEST(EventLoop, TimersFireInOrderAndCancel) {
  auto loop = EventLoop::create().value();
  std::vector<int> fired;
  Timer a(*loop, [&] { fired.push_back(1); });
  Timer b(*loop, [&] { fired.push_back(2); });
  Timer c(*loop, [&] { fired.push_back(3); });
  Timer stop(*loop, [&] { loop->stop(); });
  b.arm(5);
  a.arm(1);
  c.arm(3);
  c.cancel();
  b.arm(8);  // re-arming moves it
  stop.arm(30);
  loop->run();
  EXPECT_EQ(fired, (std::vector<int>{1, 2}));
  EXPECT_FALSE(c.armed());
}

TEST(EventLoop, CachedClocksFollowTheRealOnes) {
  auto loop = EventLoop::create().value();
  // The cached instant moves only when the loop refreshes it (once per wake-up).
  uint64_t before = loop->nowUs();
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  EXPECT_EQ(loop->nowUs(), before);
  loop->refreshNow();
  EXPECT_GE(loop->nowUs(), before + 3000);
  EXPECT_EQ(loop->now(), static_cast<MonoMs>(loop->nowUs() / 1000));
  // Wall-clock µs derived from it stay within a few ms of a real read.
  int64_t wall = unixUs();
  EXPECT_LT(std::llabs(loop->wallUs() - wall), 5000) << loop->wallUs() << " vs " << wall;
}

TEST(EventLoop, PostFromAnotherThread) {
  auto loop = EventLoop::create().value();
  int value = 0;
  std::thread t([&] {
    usleep(10000);
    loop->post([&] {
      value = 42;
      loop->stop();
    });
  });
  loop->run();
  t.join();
  EXPECT_EQ(value, 42);
}

class Counter : public Schedulable {
public:
  int runs = 0;
  void onScheduled() override { ++runs; }
};

TEST(EventLoop, ScheduleRunsOncePerRequest) {
  auto loop = EventLoop::create().value();
  Counter counter;
  loop->post([&] {
    loop->schedule(&counter);
    loop->schedule(&counter);  // idempotent until it ran
  });
  Timer stop(*loop, [&] { loop->stop(); });
  stop.arm(20);
  loop->run();
  EXPECT_EQ(counter.runs, 1);
}

class PipeReader : public EventHandler {
public:
  int fd;
  std::string got;
  EventLoop* loop;
  void onEvents(uint32_t) override {
    char buf[64];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) got.append(buf, n);
    if (got == "ping") loop->stop();
  }
};

TEST(EventLoop, EdgeTriggeredReadiness) {
  auto loop = EventLoop::create().value();
  int p[2];
  ASSERT_EQ(pipe2(p, O_NONBLOCK), 0);
  PipeReader r;
  r.fd = p[0];
  r.loop = loop.get();
  ASSERT_TRUE(loop->add(p[0], EPOLLIN, &r).ok());
  ASSERT_EQ(write(p[1], "ping", 4), 4);
  loop->run();
  EXPECT_EQ(r.got, "ping");
  close(p[0]);
  close(p[1]);
}

}  // namespace
}  // namespace portico::net
