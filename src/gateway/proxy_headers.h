// Header rules shared by both directions of the proxy: which headers are hop-by-hop and how a
// header line is written.
#pragma once

#include <string_view>

#include "common/buffer.h"

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

}  // namespace portico::gateway
