// JSON text for the span encoders (and the access log's escaping scan): strings escaped
// byte-for-byte as nlohmann::json::dump(error_handler_t::replace) writes them, and numbers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace portico::observability {

/// Appends `s` as a quoted JSON string: '"' and '\\' escaped, control characters as \b \t \n
/// \f \r or \u00xx, every other byte as it is except bytes that are not well-formed UTF-8: each
/// maximal invalid subpart becomes one U+FFFD (as bytes EF BF BD), so client bytes (paths,
/// hosts) always give valid JSON. The same bytes as nlohmann's dump(-1, ' ', false, replace).
void appendJsonString(std::string& out, std::string_view s);
/// The same without the quotes.
void appendJsonEscaped(std::string& out, std::string_view s);

/// Appends `v` in decimal (std::to_chars; no locale, no snprintf).
void appendDecimal(std::string& out, uint64_t v);
void appendDecimal(std::string& out, int64_t v);

/// Index of the first byte of `s` that a JSON string cannot carry as it is ('"', '\\', a
/// control character) or, with `nonAscii`, that needs a UTF-8 check (>= 0x80); s.size() if none.
size_t firstJsonSpecial(std::string_view s, bool nonAscii);

}  // namespace portico::observability
