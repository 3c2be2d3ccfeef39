// Opens N keep-alive connections to a proxy, completes one GET on each (so each is established at
// the HTTP level, not just accepted), then holds them idle until SIGTERM/SIGINT: the proxy's
// memory per idle connection is then (RSS now - RSS before) / N, read by bench/run.sh.
//
// Prints "ready established=E failed=F" once every connection has answered or failed (or none
// has answered for 10 s: a proxy at its connection limit leaves the rest in its backlog), and on
// exit "closed_by_peer=C still_open=O" (a proxy that drops idle connections early shows here).
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>

#include <time.h>

#include <cstdio>
#include <vector>

#include "http_client.h"

namespace {

struct Conn {
  int fd = -1;
  bool sent = false;
  bool done = false;     // answered: now idle
  bool closed = false;   // the proxy closed it after it went idle
  bench::ResponseReader reader;
};

[[noreturn]] void usage(const char* error) {
  std::fprintf(stderr,
               "idle_conns: %s\nusage: portico_idle_conns --target IP:PORT [--connections N=10000]\n"
               "         [--path /] [--parallel P=128]  (holds them until SIGTERM)\n",
               error);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string target, path = "/";
  size_t count = 10000, parallel = 128;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--target") target = argv[i + 1];
    else if (flag == "--connections") count = std::strtoul(argv[i + 1], nullptr, 10);
    else if (flag == "--path") path = argv[i + 1];
    else if (flag == "--parallel") parallel = std::strtoul(argv[i + 1], nullptr, 10);
    else usage(("unknown flag " + flag).c_str());
  }
  if (argc % 2 == 0) usage("every flag takes a value");
  sockaddr_in addr{};
  if (!bench::parseTarget(target, addr)) usage("--target must be IPv4:PORT");
  if (parallel == 0) usage("--parallel must be positive");
  const rlim_t limit = bench::raiseFileLimit();
  if (count + 16 > limit) {
    std::fprintf(stderr, "idle_conns: %zu connections need more than the open-file limit %llu\n", count,
                 static_cast<unsigned long long>(limit));
    return 2;
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  const int sigfd = signalfd(-1, &signals, SFD_CLOEXEC);
  const int epfd = epoll_create1(EPOLL_CLOEXEC);
  epoll_event sigev{EPOLLIN, {.ptr = nullptr}};
  epoll_ctl(epfd, EPOLL_CTL_ADD, sigfd, &sigev);

  const std::string request = bench::makeGet(path, target);
  std::vector<Conn> conns(count);
  size_t opened = 0, inFlight = 0, established = 0, failed = 0, closedByPeer = 0;
  bool ready = false, stop = false;
  auto seconds = [] {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
  };
  time_t lastProgress = seconds();
  auto fail = [&](Conn& c) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, c.fd, nullptr);
    close(c.fd);
    c.fd = -1;
    ++failed;
    --inFlight;
  };

  while (!stop) {
    // Keep at most `parallel` handshakes in flight: a burst of 10k SYNs overflows the backlog.
    while (opened < count && inFlight < parallel) {
      Conn& c = conns[opened++];
      c.fd = bench::connectNonBlocking(addr);
      ++inFlight;
      if (c.fd < 0) {
        ++failed;
        --inFlight;
        continue;
      }
      epoll_event ev{EPOLLOUT | EPOLLIN | EPOLLRDHUP, {.ptr = &c}};
      epoll_ctl(epfd, EPOLL_CTL_ADD, c.fd, &ev);
    }
    if (!ready && seconds() - lastProgress > 10) {  // stalled: give up on what is still pending
      for (size_t i = 0; i < opened; ++i)
        if (conns[i].fd >= 0 && !conns[i].done) fail(conns[i]);
      opened = count;
    }
    if (!ready && opened == count && inFlight == 0) {
      ready = true;
      std::printf("ready established=%zu failed=%zu\n", established, failed);
      std::fflush(stdout);
    }
    epoll_event events[256];
    const int n = epoll_wait(epfd, events, 256, ready ? -1 : 1000);
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        stop = true;
        continue;
      }
      Conn& c = *static_cast<Conn*>(events[i].data.ptr);
      if (c.fd < 0 || c.closed) continue;
      if (c.done) {  // an idle connection became readable: the proxy closed it (or sent junk)
        c.closed = true;
        ++closedByPeer;
        epoll_ctl(epfd, EPOLL_CTL_DEL, c.fd, nullptr);
        continue;
      }
      if (events[i].events & (EPOLLERR | EPOLLHUP)) {
        fail(c);
        continue;
      }
      if (!c.sent && (events[i].events & EPOLLOUT)) {
        // The request is far smaller than a socket buffer: one send() writes it all.
        if (::send(c.fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
          fail(c);
          continue;
        }
        c.sent = true;
        epoll_event ev{EPOLLIN | EPOLLRDHUP, {.ptr = &c}};
        epoll_ctl(epfd, EPOLL_CTL_MOD, c.fd, &ev);
      }
      if (!(events[i].events & (EPOLLIN | EPOLLRDHUP))) continue;
      char buf[16 * 1024];
      const ssize_t got = recv(c.fd, buf, sizeof buf, 0);
      if (got < 0 && errno == EAGAIN) continue;
      size_t used = 0;
      const auto r = got > 0 ? c.reader.feed(buf, static_cast<size_t>(got), used)
                             : bench::ResponseReader::Result::kError;
      if (r == bench::ResponseReader::Result::kError || (r == bench::ResponseReader::Result::kDone &&
                                                         (c.reader.status() != 200 || c.reader.closeAfter()))) {
        fail(c);
      } else if (r == bench::ResponseReader::Result::kDone) {
        c.done = true;
        ++established;
        lastProgress = seconds();
        --inFlight;
      }
    }
  }
  std::printf("closed_by_peer=%zu still_open=%zu\n", closedByPeer, established - closedByPeer);
  return 0;
}
