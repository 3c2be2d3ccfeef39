// HeaderMap: the header list of one HTTP message; names lowercased, order and duplicates kept.
// Entries are reused across messages (clear() keeps their string capacity): no steady-state
// allocation per request.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::http {

struct HeaderEntry {
  std::string name;   ///< lowercase
  std::string value;
};

class HeaderMap {
public:
  void clear() { size_ = 0; }
  size_t size() const { return size_; }
  const HeaderEntry* begin() const { return entries_.data(); }
  const HeaderEntry* end() const { return entries_.data() + size_; }
  const HeaderEntry& operator[](size_t i) const { return entries_[i]; }

  /// Appends; `name` is lowercased.
  void add(std::string_view name, std::string_view value);
  /// Starts an empty entry and returns it (the parser fills name and value in pieces).
  HeaderEntry& addEmpty();
  /// The last entry; only valid when size() > 0.
  HeaderEntry& back() { return entries_[size_ - 1]; }
  /// First value for `lowerName`; nullptr when absent.
  const std::string* get(std::string_view lowerName) const;
  bool has(std::string_view lowerName) const { return get(lowerName) != nullptr; }
  /// Removes every entry named `lowerName`; returns how many.
  size_t remove(std::string_view lowerName);
  /// Replaces all values of `lowerName` with one.
  void set(std::string_view lowerName, std::string_view value);
  /// Total bytes of names and values (for size limits).
  size_t byteSize() const;

private:
  std::vector<HeaderEntry> entries_;
  size_t size_ = 0;
};

/// The header names a Connection header lists (RFC 9110 §7.6.1) — they must not be forwarded —
/// minus the options every hop handles itself (close, keep-alive, upgrade). Parsed once per
/// message so that the per-header check is cheap; views into the header value.
class ConnectionTokens {
public:
  explicit ConnectionTokens(const std::string* connectionValue);
  bool empty() const { return count_ == 0 && overflow_.empty(); }
  /// `lowerName` is a lowercase header name.
  bool contains(std::string_view lowerName) const;

private:
  static constexpr size_t kMax = 8;
  std::string_view tokens_[kMax];
  size_t count_ = 0;
  std::string_view overflow_;  ///< the whole value when it lists more than kMax names
};

/// ASCII case-insensitive equality.
bool equalsIgnoreCase(std::string_view a, std::string_view b);
/// A content-length value: all decimal digits, else nullopt (HTTP/2 peers send it as a regular
/// field; nghttp2 does not check its syntax).
std::optional<uint64_t> parseContentLength(std::string_view value);
/// True when the comma-separated list `list` contains `token` (case-insensitive, trimmed).
bool listContainsToken(std::string_view list, std::string_view token);
void toLowerInPlace(std::string& s);

}  // namespace portico::http
