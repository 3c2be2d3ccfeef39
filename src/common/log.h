// Process-wide logging to stderr: levels, one line per record, safe from any thread.
// Kept tiny on purpose: logging is never on the per-request path except at debug level.
#pragma once

#include <cstdio>
#include <string_view>

namespace portico {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 };

LogLevel logLevel();
void setLogLevel(LogLevel level);
/// Parses "debug|info|warn|error"; returns false on anything else.
bool parseLogLevel(std::string_view text, LogLevel& out);
void logWrite(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace portico

#define PORTICO_LOG(level, ...)                                                                    \
  do {                                                                                             \
    if (static_cast<int>(level) >= static_cast<int>(::portico::logLevel()))                         \
      ::portico::logWrite(level, __VA_ARGS__);                                                     \
  } while (0)
#define LOG_DEBUG(...) PORTICO_LOG(::portico::LogLevel::Debug, __VA_ARGS__)
#define LOG_INFO(...) PORTICO_LOG(::portico::LogLevel::Info, __VA_ARGS__)
#define LOG_WARN(...) PORTICO_LOG(::portico::LogLevel::Warn, __VA_ARGS__)
#define LOG_ERROR(...) PORTICO_LOG(::portico::LogLevel::Error, __VA_ARGS__)
