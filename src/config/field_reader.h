// MapReader: reads the keys of one config map by name and reports every key nobody read as
// "<path>.<key>: field not supported by Portico yet" — how no Gloo field is silently ignored.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/errors.h"
#include "config/value.h"

namespace portico::config {

/// "spec" + "virtualHost" → "spec.virtualHost"; "" + "spec" → "spec". Keys that are not plain
/// identifiers are bracketed: "labels" + "app.io/name" → `labels["app.io/name"]`.
std::string joinPath(std::string_view parent, std::string_view key);
/// "routes" + 2 → "routes[2]".
std::string indexPath(std::string_view parent, size_t index);

/// The YAML 1.2 core-schema type of a plain (unquoted) scalar: Null, Bool, Number or String.
Value::Type resolvePlainScalar(std::string_view text);

/// Scalar accessors that report "<path>: expected a <what>, got <type>" into `errors`.
/// They return false (and leave `out` alone) on a type mismatch.
bool readStringValue(const Value& v, std::string_view path, Errors& errors, std::string& out);
bool readBoolValue(const Value& v, std::string_view path, Errors& errors, bool& out);
/// Integers written in decimal; reports "<path>: must be between MIN and MAX" when outside.
bool readIntValue(const Value& v, std::string_view path, Errors& errors, int64_t min, int64_t max,
                  int64_t& out);

class MapReader {
public:
  /// Reads `value` (which must outlive the reader) found at `path`. A null value reads as an
  /// empty map; anything else that is not a map reports "<path>: expected a map, got <type>".
  MapReader(const Value& value, std::string path, Errors& errors);
  /// Calls finish() when it was not called explicitly.
  ~MapReader();
  MapReader(const MapReader&) = delete;
  MapReader& operator=(const MapReader&) = delete;

  const std::string& path() const { return path_; }
  std::string pathOf(std::string_view key) const { return joinPath(path_, key); }
  Errors& errors() { return errors_; }

  /// True when `key` is present with a non-null value (does not consume it).
  bool has(std::string_view key) const;
  /// Number of keys with a non-null value.
  size_t presentCount() const;
  /// Consumes `key`; nullptr when it is absent or null (null = unset, as in protobuf JSON).
  const Value* take(std::string_view key);
  /// Consumes `key` without reading it: accepted and deliberately ignored (cosmetic fields).
  void ignore(std::string_view key) { take(key); }

  /// Typed reads: true when the key is present and well-typed (`out` is set); false when it is
  /// absent (nothing reported) or malformed (reported).
  bool readString(std::string_view key, std::string& out);
  bool readBool(std::string_view key, bool& out);
  bool readInt(std::string_view key, int64_t min, int64_t max, int64_t& out);
  /// A duration string ("15s", "250ms", "1m30s") in milliseconds.
  bool readDurationMs(std::string_view key, int64_t& outMs);
  bool readStringList(std::string_view key, std::vector<std::string>& out);
  bool readStringMap(std::string_view key, std::vector<std::pair<std::string, std::string>>& out);
  /// Like readString, but reports "<path>.<key>: required" when absent or empty.
  bool requireString(std::string_view key, std::string& out);

  /// Reports every key that was present (non-null) and not consumed. Idempotent.
  void finish();

private:
  const Value* value_;  ///< nullptr when the value was not a map
  std::string path_;
  Errors& errors_;
  std::vector<bool> used_;
  bool finished_ = false;
};

}  // namespace portico::config
