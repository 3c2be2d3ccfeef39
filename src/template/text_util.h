// Text helpers for the template functions: base64 / base64url (Envoy's rules), JSON string
// escaping (raw_string), word counting, trimming, and the keyed hash behind replace_with_random.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portico::tmpl {

/// Standard alphabet with '=' padding (Envoy Base64::encode).
std::string base64Encode(std::string_view in);
/// URL-safe alphabet ('-', '_'), no padding (Envoy Base64Url::encode).
std::string base64UrlEncode(std::string_view in);
/// Standard alphabet; the length must be a multiple of 4, '=' only at the end, and unused bits
/// of the last symbol zero. nullopt when the input breaks a rule (Gloo then renders "").
std::optional<std::string> base64Decode(std::string_view in);
/// URL-safe alphabet; padding optional. nullopt when invalid.
std::optional<std::string> base64UrlDecode(std::string_view in);

/// The body of a JSON string literal for `in` (quotes, backslashes and control characters
/// escaped), without the surrounding quotes. nullopt when `in` is not valid UTF-8.
std::optional<std::string> jsonEscape(std::string_view in);

/// Number of maximal runs of non-whitespace bytes (C isspace set).
int64_t countWords(std::string_view in);

/// `in` without leading and trailing C-isspace bytes.
std::string_view trimSpace(std::string_view in);

/// SipHash-2-4 of `data` under a 128-bit key.
uint64_t sipHash24(const std::array<uint64_t, 2>& key, std::string_view data);

/// A fresh random 128-bit key (std::random_device).
std::array<uint64_t, 2> randomKey();

}  // namespace portico::tmpl
