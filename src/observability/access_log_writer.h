// AccessLogWriter: one thread that writes access log lines to their files. Workers hand lines
// over through per-worker single-producer rings (no lock, no syscall on a worker); SIGUSR1
// (reopen()) makes the writer reopen every file, for logrotate.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.h"
#include "observability/stats.h"

namespace portico::observability {

/// One log file (by path) with one byte ring per worker. Created by the controller thread and
/// never destroyed before the writer: workers hold plain pointers through snapshots.
class AccessLogSink {
public:
  AccessLogSink(std::string path, size_t workers, size_t ringBytes);
  const std::string& path() const { return path_; }

  /// Worker `worker` only: queues one complete line. False (and the line counted as dropped)
  /// when the worker's ring is full — the writer is behind; a worker never waits for it.
  bool push(size_t worker, std::string_view line);
  /// Lines dropped so far (all workers).
  uint64_t dropped() const;

private:
  friend class AccessLogWriter;
  struct alignas(64) Ring {
    std::unique_ptr<char[]> data;
    std::atomic<uint64_t> head{0};  ///< bytes ever written (producer: load + store)
    alignas(64) std::atomic<uint64_t> tail{0};  ///< bytes ever consumed (writer)
    Counter dropped;
  };
  /// Writer thread: writes what the rings hold; returns the bytes written.
  size_t drain();
  void reopen();

  std::string path_;
  size_t capacity_;
  std::unique_ptr<Ring[]> rings_;
  size_t workers_;
  int fd_ = -1;  ///< writer thread (and creation) only
  bool ownsFd_ = true;
  std::string lastError_;
};

class AccessLogWriter {
public:
  /// `ringBytes`: each worker's queue per file (lines beyond it are dropped, never blocked on).
  explicit AccessLogWriter(size_t workers = 0, size_t ringBytes = 1 << 20);
  ~AccessLogWriter();
  AccessLogWriter(const AccessLogWriter&) = delete;
  AccessLogWriter& operator=(const AccessLogWriter&) = delete;

  /// Sets the worker count (before any sink exists).
  void configure(size_t workers) { workers_ = workers; }
  /// The sink of `path` (the same object for the same path), opening the file (O_APPEND,
  /// created 0644) when new; "/dev/stdout" and "/dev/stderr" write to fds 1 and 2. Errors name
  /// the path. Controller thread.
  Result<AccessLogSink*> sink(const std::string& path);
  /// Starts the writer thread (flushes every `intervalMs`).
  void start(int64_t intervalMs = 20);
  /// Writes what is queued and stops the thread.
  void stop();
  /// Any thread (the signal loop): reopen every file at the next pass (logrotate).
  void reopen();
  /// Writes everything queued now, on the calling thread (tests; the thread when stopped).
  void flush();
  /// Lines dropped so far, every sink (any thread).
  uint64_t dropped();

private:
  void run(int64_t intervalMs);

  size_t workers_;
  size_t ringBytes_;
  std::mutex mutex_;  // guards sinks_ (controller adds, writer iterates); never on a worker
  std::vector<std::unique_ptr<AccessLogSink>> sinks_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<bool> reopen_{false};
  std::thread thread_;
};

}  // namespace portico::observability
