// parseDurationMs: protobuf-JSON durations ("1.5s") and Go durations ("1h30m", "250ms"), the
// two spellings Gloo configs use. Computed in nanoseconds, rounded *up* to whole milliseconds so
// that a non-zero timeout never becomes "no timeout" (0).
#include <cstdint>
#include <limits>

#include "config/decode.h"

namespace portico::config {

namespace {

using Wide = __int128;

constexpr int64_t kNsPerMs = 1'000'000;

struct Unit {
  std::string_view name;
  int64_t ns;
};

// Longest names first so that "ms" is not read as "m" followed by garbage.
constexpr Unit kUnits[] = {
    {"ns", 1},
    {"us", 1'000},
    {"\xC2\xB5s", 1'000},  // U+00B5 micro sign, as Go accepts
    {"\xCE\xBCs", 1'000},  // U+03BC Greek mu
    {"ms", 1'000'000},
    {"s", 1'000'000'000},
    {"m", 60'000'000'000},
    {"h", 3'600'000'000'000},
};

bool isDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool parseDurationMs(std::string_view text, int64_t& out) {
  std::string_view s = text;
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return false;  // also rejects "-..." below: '-' is not a digit
  if (s == "0") {
    out = 0;
    return true;
  }
  const Wide limit = std::numeric_limits<int64_t>::max();
  Wide totalNs = 0;
  while (!s.empty()) {
    // number: digits, optionally "." digits; at least one digit overall
    Wide whole = 0;
    size_t i = 0, wholeDigits = 0;
    while (i < s.size() && isDigit(s[i])) {
      if (whole > limit) return false;
      whole = whole * 10 + (s[i] - '0');
      ++i, ++wholeDigits;
    }
    Wide frac = 0, fracScale = 1;
    size_t fracDigits = 0;
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && isDigit(s[i])) {
        // Digits past nanosecond-of-an-hour precision cannot change the result.
        if (fracDigits < 18) {
          frac = frac * 10 + (s[i] - '0');
          fracScale *= 10;
        }
        ++i, ++fracDigits;
      }
    }
    if (wholeDigits == 0 && fracDigits == 0) return false;
    s.remove_prefix(i);
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (s.substr(0, u.name.size()) == u.name) {
        unit = &u;
        break;
      }
    }
    if (!unit) return false;
    s.remove_prefix(unit->name.size());
    Wide ns = whole * unit->ns + frac * unit->ns / fracScale;
    if (frac * unit->ns % fracScale != 0) ns += 1;  // round sub-nanosecond parts up
    totalNs += ns;
    if (totalNs > limit) return false;
  }
  out = static_cast<int64_t>((totalNs + kNsPerMs - 1) / kNsPerMs);
  return true;
}

}  // namespace portico::config
