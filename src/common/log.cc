#include "common/log.h"

#include <atomic>
#include <cstdarg>
#include <ctime>
#include <sys/time.h>

namespace portico {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::Info)};
const char* levelName(LogLevel l) {
  switch (l) {
  case LogLevel::Debug: return "debug";
  case LogLevel::Info: return "info";
  case LogLevel::Warn: return "warn";
  case LogLevel::Error: return "error";
  }
  return "?";
}
}  // namespace

LogLevel logLevel() { return static_cast<LogLevel>(g_level.load(std::memory_order_relaxed)); }
void setLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }

bool parseLogLevel(std::string_view text, LogLevel& out) {
  for (LogLevel l : {LogLevel::Debug, LogLevel::Info, LogLevel::Warn, LogLevel::Error}) {
    if (text == levelName(l)) {
      out = l;
      return true;
    }
  }
  return false;
}

void logWrite(LogLevel level, const char* fmt, ...) {
  // Format the whole line first so one record is one write(2) and lines from threads don't mix.
  char line[4096];
  timeval tv;
  gettimeofday(&tv, nullptr);
  tm t;
  gmtime_r(&tv.tv_sec, &t);
  int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ", t.tm_year + 1900,
                   t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, tv.tv_usec / 1000,
                   levelName(level));
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
  va_end(ap);
  size_t len = n + (m < 0 ? 0 : std::min<size_t>(m, sizeof(line) - n - 2));
  line[len++] = '\n';
  fwrite(line, 1, len, stderr);
}

}  // namespace portico
