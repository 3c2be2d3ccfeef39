// Monotonic time in milliseconds, the unit every timeout in Portico uses.
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

}  // namespace portico
