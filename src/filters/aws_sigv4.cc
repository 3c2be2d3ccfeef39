#include "filters/aws_sigv4.h"

#include <algorithm>
#include <ctime>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "router/query.h"

namespace portico::filters {

namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string toHex(const unsigned char* data, size_t len) {
  std::string out(len * 2, '0');
  for (size_t i = 0; i < len; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 15];
  }
  return out;
}

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// RFC 3986 dot-segment removal plus AWS's collapsing of empty segments ("//").
std::string normalizePath(std::string_view path) {
  std::vector<std::string_view> segments;
  size_t i = 0;
  while (i <= path.size()) {
    size_t slash = path.find('/', i);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view seg = path.substr(i, slash - i);
    if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!seg.empty() && seg != ".") {
      segments.push_back(seg);
    }
    i = slash + 1;
  }
  bool trailing = !path.empty() && path.back() == '/' && !segments.empty();
  // "/a/." and "/a/.." end in a directory as well.
  if (path.ends_with("/.") || path.ends_with("/..")) trailing = !segments.empty();
  std::string out;
  for (std::string_view seg : segments) {
    out += '/';
    awsUriEncode(seg, out);
  }
  if (out.empty() || trailing) out += '/';
  return out;
}

std::string canonicalQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  router::QueryItems items(query);
  std::string_view rawName, rawValue;
  while (items.next(rawName, rawValue)) {
    std::string name, value;
    awsUriEncode(percentDecode(rawName), name);
    awsUriEncode(percentDecode(rawValue), value);
    params.emplace_back(std::move(name), std::move(value));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

bool isSpace(char c) { return c == ' ' || c == '\t'; }

/// A header value as SigV4 signs it: each (folded) line trimmed, runs of spaces collapsed, the
/// lines joined by ','.
std::string canonicalValue(std::string_view v) {
  std::string out;
  size_t i = 0;
  while (i <= v.size()) {
    size_t nl = v.find('\n', i);
    if (nl == std::string_view::npos) nl = v.size();
    std::string_view line = v.substr(i, nl - i);
    i = nl + 1;
    std::string part;
    bool space = false;
    for (char c : line) {
      if (c == '\r') continue;
      if (isSpace(c)) {
        space = !part.empty();
        continue;
      }
      if (space) part += ' ';
      space = false;
      part += c;
    }
    if (part.empty()) continue;
    if (!out.empty()) out += ',';
    out += part;
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

/// Headers by lowercase name in sorted order, repeated names merged (order of appearance).
std::vector<std::pair<std::string, std::string>> canonicalHeaders(
    const SigV4Signer::Headers& headers) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, value] : headers) {
    std::string n = lower(name);
    std::string v = canonicalValue(value);
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& e) { return e.first == n; });
    if (it == out.end()) {
      out.emplace_back(std::move(n), std::move(v));
    } else {
      it->second += ',';
      it->second += v;
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

}  // namespace

void awsUriEncode(std::string_view in, std::string& out) {
  static constexpr char kUpper[] = "0123456789ABCDEF";
  for (unsigned char c : in) {
    if (unreserved(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kUpper[c >> 4];
      out += kUpper[c & 15];
    }
  }
}

std::string percentDecode(std::string_view in, bool plusIsSpace) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && hexValue(in[i + 1]) >= 0 && hexValue(in[i + 2]) >= 0) {
      out += static_cast<char>(hexValue(in[i + 1]) * 16 + hexValue(in[i + 2]));
      i += 2;
    } else {
      out += plusIsSpace && in[i] == '+' ? ' ' : in[i];
    }
  }
  return out;
}

std::string sha256Hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return toHex(digest, sizeof(digest));
}

std::string hmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string amzDate(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[20];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string SigV4Signer::signedHeaders(const Headers& headers) {
  std::string out;
  for (const auto& [name, value] : canonicalHeaders(headers)) {
    if (!out.empty()) out += ';';
    out += name;
  }
  return out;
}

std::string SigV4Signer::canonicalRequest(std::string_view method, std::string_view target,
                                          const Headers& headers, std::string_view payloadHash) {
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  std::string out(method);
  out += '\n';
  out += normalizePath(path);
  out += '\n';
  out += canonicalQuery(query);
  out += '\n';
  for (const auto& [name, value] : canonicalHeaders(headers)) {
    out += name;
    out += ':';
    out += value;
    out += '\n';
  }
  out += '\n';
  out += signedHeaders(headers);
  out += '\n';
  out += payloadHash;
  return out;
}

std::string SigV4Signer::stringToSign(std::string_view date,
                                      std::string_view canonicalRequest) const {
  std::string out = "AWS4-HMAC-SHA256\n";
  out += date;
  out += '\n';
  out += date.substr(0, 8);
  out += '/' + region_ + '/' + service_ + "/aws4_request\n";
  out += sha256Hex(canonicalRequest);
  return out;
}

std::string SigV4Signer::signingKey(std::string_view secretAccessKey, std::string_view day) const {
  std::string key = hmacSha256("AWS4" + std::string(secretAccessKey), day);
  key = hmacSha256(key, region_);
  key = hmacSha256(key, service_);
  return hmacSha256(key, "aws4_request");
}

std::string SigV4Signer::authorization(const AwsCredentials& credentials, std::string_view date,
                                       std::string_view method, std::string_view target,
                                       const Headers& headers,
                                       std::string_view payloadHash) const {
  std::string canonical = canonicalRequest(method, target, headers, payloadHash);
  std::string toSign = stringToSign(date, canonical);
  std::string day(date.substr(0, 8));
  std::string mac = hmacSha256(signingKey(credentials.secretAccessKey, day), toSign);
  std::string out = "AWS4-HMAC-SHA256 Credential=" + credentials.accessKeyId + '/' + day + '/' +
                    region_ + '/' + service_ + "/aws4_request, SignedHeaders=";
  out += signedHeaders(headers);
  out += ", Signature=";
  out += toHex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
  return out;
}

}  // namespace portico::filters
