// A finished span as a worker records it: a fixed-size record (strings truncated into inline
// arrays) so that recording one costs a copy into a preallocated ring slot, never an allocation.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace portico::observability {

/// A string of at most N-1 bytes stored inline (longer values are truncated).
template <size_t N>
struct InlineString {
  static_assert(N > 1 && N <= 256);
  uint8_t len = 0;
  char data[N - 1];
  void set(std::string_view s) {
    len = static_cast<uint8_t>(std::min(s.size(), N - 1));
    if (len) memcpy(data, s.data(), len);
  }
  std::string_view view() const { return {data, len}; }
  bool empty() const { return len == 0; }
};

enum class SpanKind : uint8_t { Server, Client };

/// Why an upstream attempt (client span) or a request (server span) ended without a normal
/// answer: the `error` tag.
enum class SpanError : uint8_t {
  None,
  ConnectFailure,   ///< refused or unreachable
  ConnectTimeout,
  Reset,            ///< the upstream reset or closed before/while answering
  Protocol,         ///< the upstream sent an invalid response
  Timeout,          ///< per-try or route timeout
  Cancelled,        ///< the gateway gave up on the attempt (a local answer, the client left)
  Status5xx,        ///< answered with a 5xx
};
const char* toString(SpanError e);

struct Span {
  uint64_t traceHi = 0, traceLo = 0;
  uint64_t id = 0;
  uint64_t parentId = 0;      ///< 0: a root span
  int64_t startUnixUs = 0;    ///< wall clock
  uint64_t durationUs = 0;
  SpanKind kind = SpanKind::Server;
  SpanError error = SpanError::None;
  bool debug = false;
  bool traceId64 = false;     ///< exported to Zipkin as 16 hex digits (the caller's B3 id)
  uint16_t status = 0;        ///< HTTP status (0: none)
  uint32_t attempt = 0;       ///< client spans: 1 for the first attempt, 2 for the first retry …
  uint32_t responseFlags = 0; ///< server spans: observability::ResponseFlag bits
  InlineString<16> method;
  InlineString<160> path;     ///< server: the request target (path and query)
  InlineString<96> host;      ///< the request's Host / authority
  InlineString<64> route;
  InlineString<64> virtualService;
  InlineString<64> upstream;       ///< the upstream (cluster) name
  InlineString<64> upstreamHost;   ///< client: the host address ("ip:port")
  InlineString<48> peer;           ///< server: the client's IP
};

}  // namespace portico::observability
