// Span export: collector URLs, the Zipkin v2 and OTLP/HTTP JSON encodings of a batch, and the
// small blocking HTTP/1.1 client the exporter thread POSTs with (never used on a worker).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "observability/tracing_span.h"

namespace portico::observability {

/// http://HOST[:PORT][/PATH]; HOST is a name, an IPv4 address or a bracketed IPv6 address.
struct CollectorUrl {
  std::string host;  ///< without brackets
  uint16_t port = 80;
  std::string path;  ///< "/api/v2/spans"
  std::string hostHeader;  ///< HOST[:PORT] as written in the URL
};

/// Parses `url`; an empty path (or "/") becomes `defaultPath`. Errors say what is wrong
/// ("https is not supported yet", "invalid port").
Result<CollectorUrl> parseCollectorUrl(std::string_view url, std::string_view defaultPath);

/// Zipkin v2 JSON: an array of spans ("traceId", "id", "parentId", "kind", "timestamp",
/// "duration", "localEndpoint", "tags", …), appended to `out` (the exporter reuses one buffer).
/// Invalid UTF-8 in a value becomes U+FFFD. Defined in tracing_encode.cc.
void encodeZipkin(const Span* spans, size_t n, std::string_view serviceName, std::string& out);
/// OTLP/HTTP JSON: one resourceSpans entry (service.name) with one scopeSpans entry.
void encodeOtlp(const Span* spans, size_t n, std::string_view serviceName, std::string& out);
/// The same into a new string (tests).
std::string encodeZipkin(const Span* spans, size_t n, std::string_view serviceName);
std::string encodeOtlp(const Span* spans, size_t n, std::string_view serviceName);

/// One keep-alive connection to a collector; reconnects (and re-resolves the host) after an
/// error. Blocking with deadlines: the exporter thread only.
class CollectorClient {
public:
  explicit CollectorClient(CollectorUrl url) : url_(std::move(url)) {}
  ~CollectorClient();
  CollectorClient(const CollectorClient&) = delete;
  CollectorClient& operator=(const CollectorClient&) = delete;

  /// POSTs `body`; ok when the collector answered 2xx within `timeoutMs`.
  Status post(std::string_view contentType, std::string_view body, int64_t timeoutMs);
  const CollectorUrl& url() const { return url_; }

private:
  Status connectTo(int64_t deadlineMs);
  void disconnect();

  CollectorUrl url_;
  int fd_ = -1;
};

}  // namespace portico::observability
