// Driving an EventLoop from a test: run it until a condition holds or a deadline passes.
#pragma once

#include <functional>

#include "net/event_loop.h"

namespace portico::net::looptest {

/// Runs `loop` until `done` holds (checked after each wake-up, and at least every millisecond:
/// not every condition comes with an event) or `ms` pass; true when `done` held.
inline bool runUntil(EventLoop& loop, const std::function<bool()>& done, int ms) {
  bool met = false;
  Timer deadline(loop, [&] { loop.stop(); });
  deadline.arm(ms);
  Timer tick(loop, [] {});
  loop.setIterationHook([&] {
    if (done()) {
      met = true;
      loop.stop();
    } else {
      tick.arm(1);
    }
  });
  tick.arm(0);
  loop.run();
  loop.setIterationHook(nullptr);
  return met;
}

}  // namespace portico::net::looptest
