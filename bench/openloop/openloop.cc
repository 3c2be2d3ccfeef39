// Open-loop HTTP/1.1 load generator: requests fall due on a fixed schedule (R req/s in total over
// N keep-alive connections) whatever the server does, and latency counts from the due time.
//
// Why not wrk or h2load --rps: both wait for a response before a connection sends its next
// request, so a server that stalls also stalls the client and the stall counts once instead of
// for every request that should have been sent meanwhile (coordinated omission). Here a request
// that finds every connection busy waits in a queue, its wait is part of its latency, and it is
// counted as late.
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <time.h>

#include <cmath>
#include <cstdio>
#include <deque>
#include <vector>

#include "http_client.h"

namespace {

int64_t nowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

struct Options {
  std::string target;
  std::string path = "/";
  double rate = 1000;     // requests per second, all connections together
  double duration = 10;   // measured seconds
  double warmup = 1;      // seconds at the same rate before measuring
  int connections = 32;
  double lateMs = 1;      // a send later than this after its due time counts as late
  double drainSeconds = 5;
};

[[noreturn]] void usage(const char* error) {
  std::fprintf(stderr,
               "openloop: %s\nusage: portico_openloop --target IP:PORT --rate REQ_PER_S [--path /]\n"
               "         [--duration S=10] [--warmup S=1] [--connections N=32] [--late-ms MS=1]\n",
               error);
  std::exit(2);
}

Options parseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + flag).c_str());
    const char* v = argv[++i];
    if (flag == "--target") o.target = v;
    else if (flag == "--path") o.path = v;
    else if (flag == "--rate") o.rate = std::atof(v);
    else if (flag == "--duration") o.duration = std::atof(v);
    else if (flag == "--warmup") o.warmup = std::atof(v);
    else if (flag == "--connections") o.connections = std::atoi(v);
    else if (flag == "--late-ms") o.lateMs = std::atof(v);
    else usage(("unknown flag " + flag).c_str());
  }
  if (o.target.empty()) usage("--target is required");
  if (o.rate <= 0 || o.duration <= 0 || o.warmup < 0 || o.connections <= 0)
    usage("--rate, --duration and --connections must be positive");
  return o;
}

class Generator {
 public:
  Generator(const Options& o, const sockaddr_in& addr)
      : o_(o), addr_(addr), request_(bench::makeGet(o.path, o.target)), conns_(o.connections) {}

  int run() {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    for (auto& c : conns_) open(c, nowNs());
    // The schedule starts once the connections are up (or after 5 s, with whatever connected).
    const int64_t connectDeadline = nowNs() + 5'000'000'000LL;
    while (idle_.size() < conns_.size() && nowNs() < connectDeadline) poll(nowNs() + 10'000'000);
    t0_ = nowNs();
    measureFrom_ = t0_ + static_cast<int64_t>(o_.warmup * 1e9);
    total_ = static_cast<uint64_t>((o_.warmup + o_.duration) * o_.rate);
    const int64_t drainUntil = dueOf(total_) + static_cast<int64_t>(o_.drainSeconds * 1e9);
    for (;;) {
      const int64_t now = nowNs();
      dispatch(now);
      if (next_ == total_ && pending_.empty() && busy_ == 0) break;
      if (now >= drainUntil) {  // what is still queued or in flight never got an answer
        for (int64_t due : pending_) timedOut_ += due >= measureFrom_;
        for (auto& c : conns_) timedOut_ += c.state == State::kBusy && c.due >= measureFrom_;
        break;
      }
      poll(next_ < total_ ? std::min(dueOf(next_), drainUntil) : drainUntil);
    }
    return report();
  }

 private:
  enum class State { kConnecting, kIdle, kBusy, kDown };
  struct Conn {
    int fd = -1;
    State state = State::kDown;
    bool queued = false;   // has an entry in idle_ (possibly stale: check state when popped)
    int64_t due = 0;       // the in-flight request's due time
    int64_t retryAt = 0;   // kDown: reconnect after this
    size_t written = 0;
    bench::ResponseReader reader;
  };

  int64_t dueOf(uint64_t i) const {
    return t0_ + static_cast<int64_t>(static_cast<double>(i) * 1e9 / o_.rate);
  }

  void open(Conn& c, int64_t now) {
    c.fd = bench::connectNonBlocking(addr_);
    if (c.fd < 0) return down(c, now);
    c.state = State::kConnecting;
    c.reader = bench::ResponseReader();
    epoll_event ev{EPOLLOUT | EPOLLIN, {.ptr = &c}};
    epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev);
  }

  // The connection failed: its in-flight request (if any, and measured) is a failure.
  void down(Conn& c, int64_t now) {
    if (c.state == State::kBusy) {
      --busy_;
      connFailed_ += c.due >= measureFrom_;
    }
    if (c.fd >= 0) close(c.fd);
    c.fd = -1;
    c.state = State::kDown;
    c.retryAt = now + 10'000'000;  // 10 ms: a refusing target must not make us spin
  }

  void makeIdle(Conn& c) {
    c.state = State::kIdle;
    if (!c.queued) idle_.push_back(&c);
    c.queued = true;
  }

  void send(Conn& c, int64_t due, int64_t now) {
    c.state = State::kBusy;
    c.due = due;
    c.written = 0;
    ++busy_;
    late_ += due >= measureFrom_ && now - due > static_cast<int64_t>(o_.lateMs * 1e6);
    writeSome(c, now);
  }

  void writeSome(Conn& c, int64_t now) {
    while (c.written < request_.size()) {
      const ssize_t n = ::send(c.fd, request_.data() + c.written, request_.size() - c.written, MSG_NOSIGNAL);
      if (n > 0) {
        c.written += static_cast<size_t>(n);
      } else if (n < 0 && errno == EAGAIN) {
        epoll_event ev{EPOLLOUT | EPOLLIN, {.ptr = &c}};
        epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
        return;
      } else {
        return down(c, now);
      }
    }
  }

  void dispatch(int64_t now) {
    for (auto& c : conns_)
      if (c.state == State::kDown && now >= c.retryAt) open(c, now);
    while (next_ < total_ && dueOf(next_) <= now) pending_.push_back(dueOf(next_++));
    while (!pending_.empty() && !idle_.empty()) {
      Conn& c = *idle_.front();
      idle_.pop_front();
      c.queued = false;
      if (c.state != State::kIdle) continue;
      send(c, pending_.front(), now);
      pending_.pop_front();
    }
  }

  void poll(int64_t until) {
    epoll_event events[256];
    const int64_t wait = std::max<int64_t>(0, until - nowNs());
    const timespec timeout{wait / 1'000'000'000, wait % 1'000'000'000};
    const int n = epoll_pwait2(epfd_, events, 256, &timeout, nullptr);
    const int64_t now = nowNs();
    for (int i = 0; i < n; ++i) onEvent(*static_cast<Conn*>(events[i].data.ptr), events[i].events, now);
  }

  void onEvent(Conn& c, uint32_t events, int64_t now) {
    if (c.fd < 0) return;
    if (c.state == State::kConnecting) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) return down(c, now);
      epoll_event ev{EPOLLIN, {.ptr = &c}};
      epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
      return makeIdle(c);
    }
    if ((events & EPOLLOUT) && c.state == State::kBusy && c.written < request_.size()) {
      writeSome(c, now);
      if (c.state == State::kBusy && c.written == request_.size()) {
        epoll_event ev{EPOLLIN, {.ptr = &c}};
        epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
      }
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) readSome(c, now);
  }

  void readSome(Conn& c, int64_t now) {
    char buf[64 * 1024];
    for (;;) {
      const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EAGAIN) return;
      if (n <= 0 || c.state != State::kBusy) return down(c, now);  // closed, error, or unasked data
      size_t used = 0;
      const auto r = c.reader.feed(buf, static_cast<size_t>(n), used);
      if (r == bench::ResponseReader::Result::kError) return down(c, now);
      if (r == bench::ResponseReader::Result::kNeedMore) continue;
      --busy_;
      if (c.due >= measureFrom_) {
        if (c.reader.status() >= 200 && c.reader.status() < 300) latencies_.push_back(now - c.due);
        else ++badStatus_;
      }
      c.state = State::kIdle;  // so that down() below does not count the answered request
      if (used != static_cast<size_t>(n) || c.reader.closeAfter()) return down(c, now);
      return makeIdle(c);
    }
  }

  int report() {
    std::sort(latencies_.begin(), latencies_.end());
    auto pct = [&](double q) -> double {
      if (latencies_.empty()) return NAN;
      const size_t idx = static_cast<size_t>(std::ceil(q * static_cast<double>(latencies_.size())));
      return static_cast<double>(latencies_[std::min(latencies_.size() - 1, idx ? idx - 1 : 0)]) / 1e6;
    };
    const size_t failed = badStatus_ + connFailed_ + timedOut_;
    const double achieved = static_cast<double>(latencies_.size()) / o_.duration;
    std::printf("openloop %s%s: %.0f req/s due over %d connections, %.1f s measured after %.1f s warm-up\n",
                o_.target.c_str(), o_.path.c_str(), o_.rate, o_.connections, o_.duration, o_.warmup);
    std::printf("  completed %zu (%.0f req/s)  failed %zu (status %zu, connection %zu, no answer %zu)"
                "  late >%.1f ms %zu\n",
                latencies_.size(), achieved, failed, badStatus_, connFailed_, timedOut_, o_.lateMs, late_);
    std::printf("  latency ms from due time: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
                pct(0.5), pct(0.9), pct(0.99), pct(0.999), pct(1.0));
    std::printf("RESULT completed=%zu failed=%zu late=%zu achieved=%.1f p50=%.4f p90=%.4f p99=%.4f "
                "p999=%.4f max=%.4f\n",
                latencies_.size(), failed, late_, achieved, pct(0.5), pct(0.9), pct(0.99), pct(0.999),
                pct(1.0));
    return latencies_.empty() ? 1 : 0;
  }

  const Options o_;
  const sockaddr_in addr_;
  const std::string request_;
  std::vector<Conn> conns_;
  std::deque<Conn*> idle_;
  std::deque<int64_t> pending_;  // due times of requests waiting for a free connection
  std::vector<int64_t> latencies_;
  int epfd_ = -1;
  int64_t t0_ = 0, measureFrom_ = 0;
  uint64_t total_ = 0, next_ = 0;
  size_t busy_ = 0, late_ = 0, badStatus_ = 0, connFailed_ = 0, timedOut_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = parseArgs(argc, argv);
  sockaddr_in addr{};
  if (!bench::parseTarget(o.target, addr)) usage("--target must be IPv4:PORT");
  bench::raiseFileLimit();
  prctl(PR_SET_TIMERSLACK, 1UL);  // wake at the due time, not up to 50 us after it
  return Generator(o, addr).run();
}
