// HttpFetcher: a small blocking HTTP/1.1 GET client for discovery's own threads (never a
// worker): one request per connection, bounded time and size, plain or over TLS.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "net/address.h"
#include "net/tls_context.h"

namespace portico::discovery {

struct HttpUrl {
  bool https = false;
  std::string host;  ///< a name or an IP ("[::1]" unbracketed to "::1")
  uint16_t port = 80;  ///< 443 by default for https
  std::string path = "/";  ///< with the query
  /// The Host header value: "host" or "host:port".
  std::string authority;
};

/// Parses "http://host[:port][/path]" or "https://...". Other schemes are errors.
Result<HttpUrl> parseHttpUrl(std::string_view url);

struct FetchOptions {
  int64_t connectTimeoutMs = 2000;
  int64_t totalTimeoutMs = 10000;  ///< connect + request + whole response
  size_t maxBodyBytes = 8 << 20;
};

struct FetchResponse {
  int status = 0;
  std::string contentType;
  std::string body;
};

/// TLS for one fetch: the upstream's client context (its rootCa, client certificate and
/// verifySubjectAltName apply as on the gateway's own connections) and the SNI to send.
struct FetchTls {
  net::TlsClientContextConstSharedPtr context;  ///< null: plain HTTP
  std::string sni;                              ///< none sent when empty
};

/// GET `path` from `address` with `Host: authority`, over TLS when `tls.context` is set. An
/// error for a connect or handshake failure (with OpenSSL's reason: an unverified
/// certificate says so), a timeout, a malformed or oversized response; any status code is a
/// response.
Result<FetchResponse> httpGet(const net::Address& address, const std::string& authority,
                              const std::string& path, const FetchOptions& options = {},
                              const FetchTls& tls = {});

/// Resolves `host` (an IP or a name, /etc/hosts and DNS, blocking) to its first address.
Result<net::Address> resolveBlocking(const std::string& host, uint16_t port);

}  // namespace portico::discovery
