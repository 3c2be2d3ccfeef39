#include "http/grpc.h"

namespace portico::http {

bool isGrpcContentType(std::string_view ct) {
  constexpr std::string_view kGrpc = "application/grpc";
  if (ct.size() < kGrpc.size()) return false;
  for (size_t i = 0; i < kGrpc.size(); ++i) {
    char c = ct[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    if (c != kGrpc[i]) return false;
  }
  return ct.size() == kGrpc.size() || ct[kGrpc.size()] == '+' || ct[kGrpc.size()] == ';';
}

std::optional<int64_t> parseGrpcTimeout(std::string_view v) {
  if (v.size() < 2 || v.size() > 9) return std::nullopt;
  int64_t n = 0;
  for (size_t i = 0; i + 1 < v.size(); ++i) {
    if (v[i] < '0' || v[i] > '9') return std::nullopt;
    n = n * 10 + (v[i] - '0');
  }
  switch (v.back()) {
  case 'H': return n * 3600 * 1000;
  case 'M': return n * 60 * 1000;
  case 'S': return n * 1000;
  case 'm': return n;
  case 'u': return (n + 999) / 1000;
  case 'n': return (n + 999999) / 1000000;
  default: return std::nullopt;
  }
}

int grpcStatusForHttp(int s) {
  switch (s) {
  case 400: return 13;  // INTERNAL
  case 401: return 16;  // UNAUTHENTICATED
  case 403: return 7;   // PERMISSION_DENIED
  case 404: return 12;  // UNIMPLEMENTED
  case 429:
  case 502:
  case 503:
  case 504: return 14;  // UNAVAILABLE
  default: return 2;    // UNKNOWN
  }
}

void appendGrpcMessage(Buffer& out, std::string_view message) {
  static const char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : message) {
    if (c >= 0x20 && c <= 0x7e && c != '%') {
      out.append(static_cast<char>(c));
    } else {
      char esc[3] = {'%', kHex[c >> 4], kHex[c & 15]};
      out.append(esc, 3);
    }
  }
}

}  // namespace portico::http
