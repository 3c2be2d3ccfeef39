#include "observability/statsd_sink.h"

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

namespace portico::observability {

namespace {

using Tags = std::vector<std::pair<std::string_view, std::string_view>>;

/// statsd names and DogStatsD tags have no quoting: characters with a meaning become '_'.
std::string sanitize(std::string_view s, bool tag) {
  std::string out(s);
  for (char& c : out) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || (tag && (c == '.' || c == '/'));
    if (!ok) c = '_';
  }
  return out;
}

class LineBuilder {
public:
  LineBuilder(const StatsdOptions& o, std::vector<std::string>& out) : o_(o), out_(out) {}
  void counter(std::string_view name, const Tags& tags, uint64_t now, uint64_t before) {
    if (now > before) emit(name, tags, std::to_string(now - before), "c");
  }
  void gauge(std::string_view name, const Tags& tags, uint64_t value) {
    emit(name, tags, std::to_string(value), "g");
  }
  /// The mean of the samples recorded since the previous flush, in milliseconds.
  void timer(std::string_view name, const Tags& tags, uint64_t countNow, uint64_t countBefore,
             uint64_t sumUsNow, uint64_t sumUsBefore) {
    if (countNow <= countBefore || sumUsNow < sumUsBefore) return;
    char buf[32];
    snprintf(buf, sizeof(buf), "%.3f",
             static_cast<double>(sumUsNow - sumUsBefore) / 1000.0 / static_cast<double>(countNow - countBefore));
    emit(name, tags, buf, "ms");
  }

private:
  void emit(std::string_view name, const Tags& tags, const std::string& value, const char* type) {
    std::string line = o_.prefix + "." + std::string(name);
    if (!o_.dogstatsd)
      for (const auto& [k, v] : tags) line += "." + sanitize(v, false);
    line += ":" + value + "|" + type;
    if (o_.dogstatsd && !tags.empty()) {
      line += "|#";
      for (size_t i = 0; i < tags.size(); ++i) {
        if (i) line += ",";
        line += std::string(tags[i].first) + ":" + sanitize(tags[i].second, true);
      }
    }
    out_.push_back(std::move(line));
  }
  const StatsdOptions& o_;
  std::vector<std::string>& out_;
};

uint64_t histogramCount(const std::array<uint64_t, kLatencyBuckets>& buckets) {
  uint64_t n = 0;
  for (uint64_t b : buckets) n += b;
  return n;
}

}  // namespace

Result<std::unique_ptr<StatsdSink>> StatsdSink::create(StatsdOptions options,
                                                       const MetricsRegistry& registry) {
  int fd = ::socket(options.address.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::error(std::string("statsd: socket: ") + strerror(errno));
  if (::connect(fd, options.address.sockaddrPtr(), options.address.length()) != 0) {
    std::string err = strerror(errno);
    ::close(fd);
    return Status::error("statsd " + options.address.toString() + ": " + err);
  }
  return std::unique_ptr<StatsdSink>(new StatsdSink(std::move(options), registry, fd));
}

StatsdSink::~StatsdSink() {
  stop();
  ::close(fd_);
}

void StatsdSink::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void StatsdSink::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  flush();
}

void StatsdSink::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(options_.intervalMs));
    if (stopping_) break;
    lock.unlock();
    flush();
    lock.lock();
  }
}

std::vector<std::string> StatsdSink::collect() {
  MetricsTotals now = sumWorkers(registry_);
  const MetricsTotals& was = previous_;
  std::vector<std::string> lines;
  LineBuilder b(options_, lines);
  auto at = [](const auto& v, size_t i) { return i < v.size() ? v[i] : typename std::decay_t<decltype(v)>::value_type{}; };

  b.gauge("downstream.connections.active", {}, difference(now.connectionsOpened, now.connectionsClosed));
  b.counter("downstream.connections", {}, now.connectionsOpened, was.connectionsOpened);
  for (size_t m = 0; m < kMethods; ++m)
    for (size_t c = 0; c < kCodeClasses; ++c)
      b.counter("downstream.requests", {{"method", kMethodNames[m]}, {"code_class", kCodeClassNames[c]}},
                now.requestsByMethod[m][c], was.requestsByMethod[m][c]);

  // An id reused by another name since the last flush starts from zero, and a free id (no
  // name) has nothing to send.
  auto sameName = [&](StatsKind kind, size_t i) {
    const auto& g = now.names.generations[static_cast<size_t>(kind)];
    const auto& o = was.names.generations[static_cast<size_t>(kind)];
    return i < g.size() && i < o.size() && g[i] == o[i];
  };
  auto requests = [&](std::string_view what, StatsKind kind, const std::vector<RequestTotals>& cur,
                      const std::vector<RequestTotals>& old, auto tagsOf, auto named) {
    for (size_t i = 0; i < cur.size(); ++i) {
      if (!named(i)) continue;
      RequestTotals before = sameName(kind, i) ? at(old, i) : RequestTotals{};
      Tags tags = tagsOf(i);
      for (size_t c = 0; c < kCodeClasses; ++c) {
        Tags t = tags;
        t.emplace_back("code_class", kCodeClassNames[c]);
        b.counter(std::string(what) + ".requests", t, cur[i].requests[c], before.requests[c]);
      }
      b.timer(std::string(what) + ".request_duration", tags, histogramCount(cur[i].buckets),
              histogramCount(before.buckets), cur[i].sumUs, before.sumUs);
    }
  };
  requests("virtual_service", StatsKind::VirtualService, now.virtualServices, was.virtualServices,
           [&](size_t i) { return Tags{{"virtual_service", now.names.virtualServices[i]}}; },
           [&](size_t i) { return !now.names.virtualServices[i].empty(); });
  requests("route", StatsKind::Route, now.routes, was.routes, [&](size_t i) {
    return Tags{{"virtual_service", now.names.routes[i].first}, {"route", now.names.routes[i].second}};
  }, [&](size_t i) { return !now.names.routes[i].first.empty(); });

  for (size_t i = 0; i < now.upstreams.size(); ++i) {
    if (now.names.upstreams[i].empty()) continue;
    const UpstreamTotals& u = now.upstreams[i];
    UpstreamTotals before = sameName(StatsKind::Upstream, i) ? at(was.upstreams, i) : UpstreamTotals{};
    Tags tags{{"upstream", now.names.upstreams[i]}};
    b.counter("upstream.requests", tags, u.requests, before.requests);
    for (size_t e = 0; e < kUpstreamErrorKinds; ++e)
      b.counter("upstream.errors", {tags[0], {"type", kUpstreamErrorNames[e]}}, u.errors[e], before.errors[e]);
    b.counter("upstream.retries", tags, u.retries, before.retries);
    b.counter("upstream.timeouts", tags, u.timeouts, before.timeouts);
    b.counter("upstream.connect_failures", tags, u.connectFailures, before.connectFailures);
    b.timer("upstream.request_duration", tags, histogramCount(u.buckets), histogramCount(before.buckets),
            u.sumUs, before.sumUs);
    uint64_t open = difference(u.opened, u.closed);
    uint64_t idle = std::min(open, difference(u.idleIn, u.idleOut));
    b.gauge("upstream.connections", {tags[0], {"state", "active"}}, open - idle);
    b.gauge("upstream.connections", {tags[0], {"state", "idle"}}, idle);
  }
  uint64_t builds = registry_.controllerStats().builds;
  b.counter("controller.snapshot_builds", {}, builds, previousBuilds_);
  previousBuilds_ = builds;
  previous_ = std::move(now);
  return lines;
}

void StatsdSink::flush() {
  std::vector<std::string> lines = collect();
  std::string datagram;
  auto send = [&] {
    if (datagram.empty()) return;
    if (::send(fd_, datagram.data(), datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
      sendErrors_.fetch_add(1, std::memory_order_relaxed);
    datagram.clear();
  };
  for (const std::string& line : lines) {
    if (!datagram.empty() && datagram.size() + 1 + line.size() > kMaxDatagram) send();
    if (!datagram.empty()) datagram += '\n';
    datagram += line;
  }
  send();
}

}  // namespace portico::observability
