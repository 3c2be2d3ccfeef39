// Monotonic time in milliseconds, the unit every timeout in Portico uses, and the microsecond
// clocks latency measurement and logs use.
#pragma once

#include <cstdint>
#include <ctime>

namespace portico {

using MonoMs = int64_t;

inline MonoMs monotonicMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<MonoMs>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

inline uint64_t monotonicUs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

/// Microseconds since the Unix epoch (wall clock).
inline int64_t unixUs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

}  // namespace portico
