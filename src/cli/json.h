// JSON helpers for porticoctl: nlohmann::ordered_json (key order kept as the server wrote it)
// behind non-throwing accessors, and YAML/JSON printing of objects.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace portico::cli {

using Json = nlohmann::ordered_json;

/// Parses JSON text; a discarded value (is_discarded()) when it is not JSON. Never throws.
Json parseJson(std::string_view text);
/// j[key] when j is an object holding it, else nullptr.
const Json* member(const Json& j, std::string_view key);
/// A string member, or "" (absent or not a string).
std::string getString(const Json& j, std::string_view key);
/// The member at a dotted path ("spec.virtualHost.routes"), or nullptr.
const Json* path(const Json& j, std::string_view dotted);
/// Block YAML (Portico's own emitter, the one the file store writes).
std::string toYamlText(const Json& j);
/// Indented JSON with a trailing newline; invalid UTF-8 is replaced, never thrown.
std::string toPrettyJson(const Json& j);
/// One-line JSON (for request bodies).
std::string toCompactJson(const Json& j);

}  // namespace portico::cli
