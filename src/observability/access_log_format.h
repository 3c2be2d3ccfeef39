// AccessLogFormat: an Envoy-style access log format (a format string with %COMMAND% operators,
// or a JSON map of key → format string) compiled once per config, rendered per request.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "filters/dynamic_metadata.h"
#include "http/header_map.h"

namespace portico::observability {

/// Envoy's response flags (the ones Portico can produce), a bitmask on AccessLogEntry.
enum ResponseFlag : uint32_t {
  kNoRouteFound = 1u << 0,            ///< NR
  kNoHealthyUpstream = 1u << 1,       ///< UH
  kUpstreamConnectionFailure = 1u << 2,  ///< UF
  kUpstreamRequestTimeout = 1u << 3,  ///< UT
  kUpstreamConnectionTermination = 1u << 4,  ///< UC
  kUpstreamOverflow = 1u << 5,        ///< UO (circuit breaker)
  kFaultInjected = 1u << 6,           ///< FI
  kDownstreamConnectionTermination = 1u << 7,  ///< DC
  kUpstreamRetryLimitExceeded = 1u << 8,  ///< URX
  kDelayInjected = 1u << 9,           ///< DI
};
/// Room formatResponseFlags needs: every flag, commas between ("UF,UC,…,URX").
inline constexpr size_t kResponseFlagsMaxLength = 32;
/// Writes "UF,UH" (or "-" for none) at `out`, which has kResponseFlagsMaxLength bytes; returns
/// the length.
size_t formatResponseFlags(char* out, uint32_t flags);

/// What one finished request offers the formatter. Views stay valid for the render call only.
struct AccessLogEntry {
  int64_t startUnixUs = 0;  ///< wall clock when the request head was parsed
  uint64_t durationUs = 0;
  std::string_view method, target, authority, protocol;
  const http::HeaderMap* requestHeaders = nullptr;
  /// Values of the response headers the formats asked for (AccessLogFormat::responseHeaders
  /// order); an entry that is empty renders "-". Null: no upstream response.
  const std::vector<std::string>* responseHeaders = nullptr;
  int responseCode = 0;  ///< 0: no response was sent
  uint32_t responseFlags = 0;
  uint64_t bytesReceived = 0, bytesSent = 0;  ///< request / response body bytes
  std::string_view upstreamHost, upstreamCluster, downstreamRemoteAddress, routeName, requestId;
  /// What the request's transformations set (dynamicMetadataValues); null: nothing.
  const filters::DynamicMetadata* dynamicMetadata = nullptr;
};

class AccessLogFormat {
public:
  /// Compiles a format string (empty = Envoy's default format). Errors name the operator.
  /// `responseHeaders`: the list %RESP(X)% operators index into; new names are appended.
  static Result<AccessLogFormat> compileText(std::string_view format,
                                             std::vector<std::string>& responseHeaders);
  /// Compiles a JSON format: each value is a format string rendered as a JSON string (a value
  /// that is one numeric operator renders as a number).
  static Result<AccessLogFormat> compileJson(
      const std::vector<std::pair<std::string, std::string>>& fields,
      std::vector<std::string>& responseHeaders);

  /// Appends one line (with its newline) to `out`. No allocation once `out` has grown (the
  /// caller reuses one string per worker).
  void render(const AccessLogEntry& entry, std::string& out) const;

  enum class Op : uint8_t {
    Literal, StartTime, RequestHeader, Method, Path, Authority, Protocol, ResponseCode,
    ResponseFlags, BytesReceived, BytesSent, Duration, ResponseHeader, UpstreamHost,
    UpstreamCluster, DownstreamRemoteAddress, RouteName, RequestId,
    DynamicMetadata  ///< %DYNAMIC_METADATA(NS:KEY)%: text = NS, alternative = KEY
  };
  /// %REQ(X?Y)% when X is absent: Y is a header, or one of the pseudo-headers.
  enum class Fallback : uint8_t { None, Header, Path, Authority, Method };
  struct Token {
    Op op = Op::Literal;
    std::string text;         ///< literal text, or the header name (lowercase)
    std::string alternative;  ///< %REQ(X?Y)%: the header tried when X is absent
    Fallback fallback = Fallback::None;  ///< decided when compiled, not per request
    bool requestId = false;  ///< %REQ(X-REQUEST-ID)%: the id the gateway generated, last
    uint32_t responseIndex = 0;
    uint32_t alternativeIndex = UINT32_MAX;  ///< %RESP(X?Y)%: Y's index
    size_t maxLength = 0;  ///< %REQ(X):N%: truncate to N bytes (0 = whole)
    /// The literal text before the operator when it is short (most are: "] \"", " "), written
    /// with one fixed-size copy; in a JSON format already escaped.
    uint8_t prefixLength = 0;
    char prefix[16] = {};
  };

private:
  struct Field {
    std::string jsonKey;  ///< already quoted and escaped, with the colon
    std::vector<Token> tokens;
  };
  /// `json`: literal text is stored JSON-escaped.
  static Result<std::vector<Token>> parse(std::string_view format,
                                          std::vector<std::string>& responseHeaders, bool json);
  void renderText(const AccessLogEntry& e, std::string& out) const;
  void renderJson(const AccessLogEntry& e, std::string& out) const;

  bool json_ = false;
  std::vector<Token> tokens_;  ///< text format
  std::vector<Field> fields_;  ///< JSON format
};

/// Envoy's default access log format.
extern const char* const kDefaultAccessLogFormat;

}  // namespace portico::observability
