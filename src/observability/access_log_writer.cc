#include "observability/access_log_writer.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"

namespace portico::observability {

namespace {

Result<int> openLog(const std::string& path, bool& owns) {
  owns = true;
  if (path == "/dev/stdout") {
    owns = false;
    return 1;
  }
  if (path == "/dev/stderr") {
    owns = false;
    return 2;
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::error("cannot open access log " + path + ": " + strerror(errno));
  return fd;
}

}  // namespace

AccessLogSink::AccessLogSink(std::string path, size_t workers, size_t ringBytes)
    : path_(std::move(path)), capacity_(ringBytes), rings_(new Ring[workers ? workers : 1]),
      workers_(workers) {
  for (size_t i = 0; i < workers_; ++i) rings_[i].data.reset(new char[capacity_]);
}

bool AccessLogSink::push(size_t worker, std::string_view line) {
  if (worker >= workers_) [[unlikely]] return false;
  Ring& r = rings_[worker];
  uint64_t head = r.head.load(std::memory_order_relaxed);
  uint64_t tail = r.tail.load(std::memory_order_acquire);
  if (line.size() > capacity_ - (head - tail)) [[unlikely]] {
    r.dropped.add();
    return false;
  }
  size_t at = head % capacity_;
  size_t first = std::min(line.size(), capacity_ - at);
  memcpy(r.data.get() + at, line.data(), first);
  if (first < line.size()) memcpy(r.data.get(), line.data() + first, line.size() - first);
  r.head.store(head + line.size(), std::memory_order_release);
  return true;
}

uint64_t AccessLogSink::dropped() const {
  uint64_t n = 0;
  for (size_t i = 0; i < workers_; ++i) n += rings_[i].dropped.value();
  return n;
}

size_t AccessLogSink::drain() {
  size_t total = 0;
  for (size_t i = 0; i < workers_; ++i) {
    Ring& r = rings_[i];
    uint64_t head = r.head.load(std::memory_order_acquire);
    uint64_t tail = r.tail.load(std::memory_order_relaxed);
    while (tail < head) {
      size_t at = tail % capacity_;
      size_t len = static_cast<size_t>(head - tail);
      iovec iov[2];
      iov[0] = {r.data.get() + at, std::min(len, capacity_ - at)};
      iov[1] = {r.data.get(), len - iov[0].iov_len};
      ssize_t n = fd_ >= 0 ? ::writev(fd_, iov, iov[1].iov_len ? 2 : 1) : -1;
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        // A full disk or a closed stdout: drop what is queued rather than stall the rings.
        std::string reason = fd_ < 0 ? "not open" : strerror(errno);
        if (reason != lastError_) LOG_WARN("access log %s: %s (lines dropped)", path_.c_str(), reason.c_str());
        lastError_ = reason;
        n = static_cast<ssize_t>(len);
      } else {
        lastError_.clear();
      }
      tail += static_cast<uint64_t>(n);
      total += static_cast<size_t>(n);
      r.tail.store(tail, std::memory_order_release);
    }
  }
  return total;
}

void AccessLogSink::reopen() {
  if (!ownsFd_) return;
  bool owns = true;
  auto fd = openLog(path_, owns);
  if (!fd.ok()) {
    LOG_WARN("%s (keeping the old file)", fd.error().c_str());
    return;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = *fd;
}

AccessLogWriter::AccessLogWriter(size_t workers, size_t ringBytes)
    : workers_(workers), ringBytes_(ringBytes) {}

AccessLogWriter::~AccessLogWriter() {
  stop();
  for (auto& s : sinks_)
    if (s->ownsFd_ && s->fd_ >= 0) ::close(s->fd_);
}

Result<AccessLogSink*> AccessLogWriter::sink(const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& s : sinks_)
    if (s->path() == path) return s.get();
  bool owns = true;
  auto fd = openLog(path, owns);
  if (!fd.ok()) return fd.status();
  auto s = std::make_unique<AccessLogSink>(path, workers_, ringBytes_);
  s->fd_ = *fd;
  s->ownsFd_ = owns;
  sinks_.push_back(std::move(s));
  return sinks_.back().get();
}

void AccessLogWriter::start(int64_t intervalMs) {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this, intervalMs] { run(intervalMs); });
}

void AccessLogWriter::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  flush();
}

void AccessLogWriter::reopen() {
  reopen_.store(true, std::memory_order_release);
  cv_.notify_all();
}

void AccessLogWriter::flush() {
  std::lock_guard<std::mutex> lock(mutex_);
  bool reopen = reopen_.exchange(false, std::memory_order_acq_rel);
  for (auto& s : sinks_) {
    s->drain();  // lines queued before the signal belong to the old file
    if (reopen) s->reopen();
  }
}

uint64_t AccessLogWriter::dropped() {
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t n = 0;
  for (auto& s : sinks_) n += s->dropped();
  return n;
}

void AccessLogWriter::run(int64_t intervalMs) {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(intervalMs));
    lock.unlock();
    flush();
    lock.lock();
  }
}

}  // namespace portico::observability
