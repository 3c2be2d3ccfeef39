// Query strings as route matching reads them: finding one parameter of a raw query
// ("a=1&b=x%20y") with its name and value percent-decoded, without allocating for short values.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace portico::router {

/// Scratch space for one decoded string: inline up to kInline bytes, on the heap beyond.
/// Not thread-safe; meant to live on the stack of one matching call.
class DecodeBuffer {
public:
  static constexpr size_t kInline = 256;

  /// `in` percent-decoded: "%41" → "A"; '+' stays '+'; a '%' not followed by two hex digits is
  /// kept as written. Returns `in` itself when it holds no '%'; otherwise a view into this
  /// buffer, valid until the next decode() or the buffer's end.
  std::string_view decode(std::string_view in);

private:
  char inline_[kInline];
  std::string heap_;
};

/// The items of a raw query string (no leading '?') in order, each split at its first '=';
/// empty items ("a=1&&b") are skipped. Names and values stay as written (not decoded); the
/// value is empty for "a" and "a=".
class QueryItems {
public:
  explicit QueryItems(std::string_view query) : rest_(query) {}
  /// The next item; false when none is left.
  bool next(std::string_view& name, std::string_view& value);

private:
  std::string_view rest_;
};

/// True when the percent-decoded form of `raw` equals `decoded` (no copy is made).
bool decodedEquals(std::string_view raw, std::string_view decoded);

/// Finds the first parameter of `query` (no leading '?') whose decoded name is `name`.
/// Returns false when there is none. Otherwise sets `*value` to its decoded value ("" for "a"
/// and "a="), which may point into `scratch` or `query`.
bool findQueryParameter(std::string_view query, std::string_view name, DecodeBuffer& scratch,
                        std::string_view* value);

}  // namespace portico::router
