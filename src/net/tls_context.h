// TLS server contexts (OpenSSL 3): builds one SSL_CTX per certificate from PEM text, and the
// SNI table of a TLS listener that picks a certificate for each ClientHello.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/status.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace portico::net {

using SslCtxConstSharedPtr = std::shared_ptr<SSL_CTX>;

/// What one server certificate needs. PEM text, never logged: errors name the part
/// ("private key: ..."), never its bytes.
struct TlsServerCertConfig {
  std::string certChainPem;   ///< leaf first, then intermediates
  std::string privateKeyPem;
  std::string rootCaPem;      ///< non-empty: client certificates are required and verified
  /// Client certificate must carry one of these SANs (DNS, URI, email or IP, exact match).
  std::vector<std::string> verifySubjectAltNames;
  /// Sessions resume only on a context with the same id (the virtual service's name).
  std::string sessionIdContext;
};

/// Builds a server context: TLS 1.2–1.3, ALPN http/1.1, session tickets under the process-wide
/// ticket key, renegotiation off. Fails with OpenSSL's reason ("private key: x509 certificate
/// routines: key values mismatch"). Thread-safe; call it off the workers (it parses PEM).
Result<SslCtxConstSharedPtr> buildServerContext(const TlsServerCertConfig& config);

/// Parses a certificate chain and key and checks that they match (and, when given, that the CA
/// bundle parses): how a TLS Secret is validated before anything uses it.
Status checkCertificateAndKey(std::string_view certChainPem, std::string_view privateKeyPem,
                              std::string_view rootCaPem);

/// "CN=example.com,O=Portico": the leaf's subject, for logs (empty when it does not parse).
std::string certificateSubject(std::string_view certChainPem);

/// The certificates of one TLS listener and which one answers which server name. Immutable once
/// built (the controller builds it; workers only read it); kept alive by every connection that
/// started with it, so a reload never changes the certificate under a live handshake.
class TlsServerConfig {
public:
  /// Adds `ctx` for `serverNames`: exact names, "*.suffix" (any depth below suffix) or "*"
  /// (every name). The first context added is the default: it answers a ClientHello without
  /// SNI, or whose name nothing matches. Names are lowercased; overlaps are the caller's to
  /// reject (see ownerOf).
  void add(SslCtxConstSharedPtr ctx, const std::vector<std::string>& serverNames);
  /// Index (in add order) of the context that claims exactly `serverName`, -1 if none.
  int ownerOf(std::string_view serverName) const;
  bool empty() const { return contexts_.empty(); }
  size_t size() const { return contexts_.size(); }

  /// The context for a server name ("" = no SNI): exact, then the longest "*.suffix", then
  /// "*", then the default.
  SSL_CTX* select(std::string_view serverName) const;
  /// A server-side SSL for an accepted socket, in accept state, switching context on SNI.
  /// The caller keeps this config alive as long as the SSL (the SSL points at it). Null when
  /// OpenSSL cannot allocate.
  SSL* newSession(int fd) const;

private:
  std::vector<SslCtxConstSharedPtr> contexts_;
  std::unordered_map<std::string, size_t> exact_;
  std::vector<std::pair<std::string, size_t>> wildcards_;  ///< ".suffix", longest first
  int catchAll_ = -1;
};

using TlsServerConfigConstSharedPtr = std::shared_ptr<const TlsServerConfig>;

/// Text of the calling thread's OpenSSL error queue ("lib: reason; lib: reason"), emptied.
std::string takeOpenSslErrors();

}  // namespace portico::net
