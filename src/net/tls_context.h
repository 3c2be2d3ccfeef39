// TLS contexts (OpenSSL 3): server contexts (one SSL_CTX per certificate, and the SNI table of a
// TLS listener), and client contexts for upstream TLS with their worker-local session cache.
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
typedef struct ssl_session_st SSL_SESSION;

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

// ---- client side (upstream TLS) -----------------------------------------------------------------

/// What an upstream TLS context needs. PEM text, never logged.
struct TlsClientConfig {
  std::string certChainPem;   ///< client certificate (with privateKeyPem); empty = none
  std::string privateKeyPem;
  /// Non-empty: the server's chain must verify against these CAs. Empty: the server
  /// certificate is NOT verified (Envoy's and Gloo's default for upstreams), unless
  /// TlsClientContext::create is given NoRootCa::SystemStore.
  std::string rootCaPem;
  /// With rootCaPem: the server's leaf must carry one of these SANs (DNS — a "*.x" SAN in the
  /// certificate matches one label —, URI, email or IP, exact match).
  std::vector<std::string> verifySubjectAltNames;
  /// Offer ALPN h2 only (an HTTP/2 upstream), else http/1.1 only.
  bool http2 = false;
};

/// What a client context without rootCaPem checks: nothing (Gloo), or the system store
/// (OpenSSL's default paths: /etc/ssl/certs, or SSL_CERT_FILE / SSL_CERT_DIR), with
/// verifySubjectAltNames applied as with a root CA.
enum class NoRootCa { Unverified, SystemStore };

/// An immutable client SSL_CTX: TLS 1.2–1.3, ALPN http/1.1 or h2, renegotiation off, client-side
/// session caching through TlsSessionCache. Shared by every worker (SSL_CTX is thread-safe
/// once built); the controller keeps one per upstream while its material is unchanged, so
/// pooled connections and cached sessions survive reloads.
class TlsClientContext {
public:
  /// Fails with OpenSSL's reason ("client certificate: ...", "root CA: ..."). Any thread; off
  /// the workers (it parses PEM).
  static Result<std::shared_ptr<const TlsClientContext>> create(
      const TlsClientConfig& config, NoRootCa noRootCa = NoRootCa::Unverified);
  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  SSL_CTX* ctx() const { return ctx_; }
  /// The server certificate is verified (a root CA was given, or the system store).
  bool verifies() const { return verifies_; }

private:
  TlsClientContext(SSL_CTX* ctx, bool verifies) : ctx_(ctx), verifies_(verifies) {}
  SSL_CTX* ctx_;
  bool verifies_;
};

using TlsClientContextConstSharedPtr = std::shared_ptr<const TlsClientContext>;

/// The last resumable session of one upstream host, for the next connection to it (TLS session
/// reuse across pooled connections). Worker-local, no locks. A session is only offered to a
/// connection with the same context and SNI it was made with (never across a CA change).
class TlsSessionCache {
public:
  TlsSessionCache() = default;
  ~TlsSessionCache();
  TlsSessionCache(const TlsSessionCache&) = delete;
  TlsSessionCache& operator=(const TlsSessionCache&) = delete;

  /// Takes ownership of `session` (one reference) for (`context`, `sni`).
  void store(const TlsClientContextConstSharedPtr& context, std::string_view sni,
             SSL_SESSION* session);
  /// The cached session for (`context`, `sni`), or null. Not owned by the caller.
  SSL_SESSION* find(const TlsClientContext* context, std::string_view sni) const;
  void clear();

private:
  std::weak_ptr<const TlsClientContext> context_;  ///< weak: no SSL_CTX kept alive by a cache
  std::string sni_;
  SSL_SESSION* session_ = nullptr;
};

/// Text of the calling thread's OpenSSL error queue ("lib: reason; lib: reason"), emptied.
std::string takeOpenSslErrors();

}  // namespace portico::net
