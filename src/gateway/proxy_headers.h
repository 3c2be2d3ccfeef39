// Wire details shared by both directions of the proxy: which headers are hop-by-hop, how a
// header line and a body chunk are written.
#pragma once

#include <string_view>

#include "common/buffer.h"
#include "http/header_map.h"

namespace portico::gateway {

/// Hop-by-hop headers (RFC 9110 §7.6.1) and the framing headers Portico re-derives itself.
inline bool isHopByHop(std::string_view name) {
  switch (name.size()) {
  case 2: return name == "te";
  case 6: return name == "expect";
  case 7: return name == "upgrade" || name == "trailer";
  case 10: return name == "connection" || name == "keep-alive";
  case 14: return name == "content-length";
  case 16: return name == "proxy-connection";
  case 17: return name == "transfer-encoding" || name == "x-forwarded-proto";
  default: return false;
  }
}

inline void appendHeader(Buffer& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

/// The last chunk of a chunked body carrying trailer fields (RFC 9112 §7.1.2).
inline void appendLastChunk(Buffer& out, const http::HeaderMap& trailers) {
  out.append("0\r\n");
  for (const http::HeaderEntry& h : trailers) appendHeader(out, h.name, h.value);
  out.append("\r\n");
}

/// Appends body bytes as they go on the wire: one chunk when `chunked`, else as they are.
inline void appendBodyBytes(Buffer& out, bool chunked, const char* data, size_t len) {
  if (chunked) {
    out.appendHex(len);
    out.append("\r\n");
    out.append(data, len);
    out.append("\r\n");
  } else {
    out.append(data, len);
  }
}

}  // namespace portico::gateway
