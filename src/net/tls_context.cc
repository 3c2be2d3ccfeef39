#include "net/tls_context.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cstring>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace portico::net {

/// SSL_CTX new-session callback of client contexts (tls_transport.cc: hands the session to the
/// connection's TlsSessionCache).
int tlsClientNewSession(SSL* ssl, SSL_SESSION* session);

namespace {

// ---- OpenSSL glue (ex-data slots, process-wide keys) ---------------------------------------------

void freeSans(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<std::vector<std::string>*>(ptr);
}

/// SSL_CTX slot: the verifySubjectAltName list (owned by the context).
int sanIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, freeSans);
  return index;
}

/// SSL slot: the TlsServerConfig that picks the context on SNI (owned by the connection).
int tableIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

/// Session ticket keys (name 16 + HMAC 32 + AES 32 bytes), random once per process: tickets stay
/// valid across every worker, listener and config reload of this process, and mean nothing to
/// another process. Not rotated: a process's lifetime bounds a ticket key's.
const unsigned char* ticketKeys() {
  static unsigned char keys[80];
  static const bool ready = RAND_bytes(keys, sizeof(keys)) == 1;
  return ready ? keys : nullptr;
}

std::string lowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

int noPassword(char*, int, int, void*) { return 0; }  // never prompt on a terminal

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

BioPtr memBio(std::string_view pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

/// The end of a PEM stream is reported as "no start line": not an error once something was read.
void clearPemEnd() {
  unsigned long e = ERR_peek_last_error();
  if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) ERR_clear_error();
}

Status fail(const char* what) {
  std::string reason = takeOpenSslErrors();
  return Status::error(std::string(what) + ": " + (reason.empty() ? "invalid" : reason));
}

/// Loads every certificate of a PEM bundle; fails when there is none.
Status readCertificates(std::string_view pem, const char* what, std::vector<X509*>& out) {
  BioPtr bio = memBio(pem);
  if (!bio) return fail(what);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, noPassword, nullptr))
    out.push_back(cert);
  if (out.empty()) {
    std::string reason = takeOpenSslErrors();
    if (reason.empty() || reason.find("no start line") != std::string::npos)
      reason = "no PEM certificate found";
    return Status::error(std::string(what) + ": " + reason);
  }
  clearPemEnd();
  if (ERR_peek_error() != 0) {
    for (X509* c : out) X509_free(c);
    out.clear();
    return fail(what);
  }
  return {};
}

Status loadChain(SSL_CTX* ctx, std::string_view pem) {
  std::vector<X509*> certs;
  Status s = readCertificates(pem, "certificate chain", certs);
  if (!s.ok()) return s;
  bool ok = SSL_CTX_use_certificate(ctx, certs[0]) == 1;
  X509_free(certs[0]);
  for (size_t i = 1; i < certs.size(); ++i) {
    if (ok && SSL_CTX_add0_chain_cert(ctx, certs[i]) == 1) continue;  // owned by ctx now
    ok = false;
    X509_free(certs[i]);
  }
  return ok ? Status() : fail("certificate chain");
}

Status loadKey(SSL_CTX* ctx, std::string_view pem) {
  BioPtr bio = memBio(pem);
  EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassword, nullptr) : nullptr;
  if (!key) return fail("private key");
  bool ok = SSL_CTX_use_PrivateKey(ctx, key) == 1;
  EVP_PKEY_free(key);
  if (!ok) return fail("private key");
  if (SSL_CTX_check_private_key(ctx) != 1) return fail("private key");
  return {};
}

Status loadClientCa(SSL_CTX* ctx, std::string_view pem) {
  std::vector<X509*> certs;
  Status s = readCertificates(pem, "root CA", certs);
  if (!s.ok()) return s;
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  bool ok = true;
  for (X509* c : certs) {
    ok = ok && X509_STORE_add_cert(store, c) == 1 && SSL_CTX_add_client_CA(ctx, c) == 1;
    X509_free(c);
  }
  return ok ? Status() : fail("root CA");
}

/// A certificate's DNS SAN "*.example.com" covers exactly one label: "api.example.com".
bool dnsWildcardMatches(int type, std::string_view san, std::string_view wanted) {
  if (type != GEN_DNS || san.size() < 3 || san[0] != '*' || san[1] != '.') return false;
  std::string_view suffix = san.substr(1);  // ".example.com"
  if (wanted.size() <= suffix.size() || !wanted.ends_with(suffix)) return false;
  std::string_view label = wanted.substr(0, wanted.size() - suffix.size());
  return label.find('.') == std::string_view::npos;
}

bool sanMatches(X509* cert, const std::vector<std::string>& wanted) {
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (!names) return false;
  bool found = false;
  for (int i = 0; i < sk_GENERAL_NAME_num(names) && !found; ++i) {
    const GENERAL_NAME* gen = sk_GENERAL_NAME_value(names, i);
    std::string value;
    if (gen->type == GEN_DNS || gen->type == GEN_URI || gen->type == GEN_EMAIL) {
      const ASN1_IA5STRING* s = gen->d.ia5;
      value.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                   static_cast<size_t>(ASN1_STRING_length(s)));
    } else if (gen->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = gen->d.iPAddress;
      char text[INET6_ADDRSTRLEN] = {0};
      int len = ASN1_STRING_length(ip);
      int family = len == 4 ? AF_INET : len == 16 ? AF_INET6 : 0;
      if (family && inet_ntop(family, ASN1_STRING_get0_data(ip), text, sizeof(text))) value = text;
    }
    for (const std::string& w : wanted)
      found |= !value.empty() && (value == w || dnsWildcardMatches(gen->type, value, w));
  }
  GENERAL_NAMES_free(names);
  return found;
}

/// Chain verification is OpenSSL's; this adds verifySubjectAltName on the peer's leaf (the
/// client's on a server context, the upstream's on a client context).
int verifyClient(int preverifyOk, X509_STORE_CTX* store) {
  if (!preverifyOk || X509_STORE_CTX_get_error_depth(store) != 0) return preverifyOk;
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  if (!ssl) return preverifyOk;
  auto* sans = static_cast<const std::vector<std::string>*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), sanIndex()));
  if (!sans || sans->empty()) return 1;
  if (sanMatches(X509_STORE_CTX_get_current_cert(store), *sans)) return 1;
  // A client (upstream TLS) reports it as a name mismatch, which TlsTransport spells out.
  X509_STORE_CTX_set_error(store, SSL_is_server(ssl) ? X509_V_ERR_SUBJECT_ISSUER_MISMATCH
                                                     : X509_V_ERR_HOSTNAME_MISMATCH);
  return 0;
}

int selectAlpn(SSL*, const unsigned char** out, unsigned char* outLen, const unsigned char* in,
               unsigned int inLen, void*) {
  // h2 first: a client offering both gets HTTP/2 (in our order of preference, as Envoy does).
  static const unsigned char kProtocols[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outLen, kProtocols, sizeof(kProtocols), in, inLen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;  // no common protocol: carry on without ALPN
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

int onServerName(SSL* ssl, int*, void*) {
  auto* table = static_cast<const TlsServerConfig*>(SSL_get_ex_data(ssl, tableIndex()));
  if (!table) return SSL_TLSEXT_ERR_OK;
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  SSL_CTX* ctx = table->select(name ? std::string_view(name) : std::string_view());
  if (ctx && ctx != SSL_get_SSL_CTX(ssl)) {
    SSL_set_SSL_CTX(ssl, ctx);
    // SSL_set_SSL_CTX swaps the certificate only: take the context's client verification too.
    SSL_set_verify(ssl, SSL_CTX_get_verify_mode(ctx), SSL_CTX_get_verify_callback(ctx));
    SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(ctx));
  }
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

std::string takeOpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    const char* lib = ERR_lib_error_string(e);
    const char* reason = ERR_reason_error_string(e);
    std::string item;
    if (reason) {
      item = lib ? std::string(lib) + ": " + reason : reason;
    } else {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof(buf));
      item = buf;
    }
    if (out.find(item) != std::string::npos) continue;
    if (!out.empty()) out += "; ";
    out += item;
  }
  return out;
}

Result<SslCtxConstSharedPtr> buildServerContext(const TlsServerCertConfig& config) {
  ERR_clear_error();
  SSL_CTX* raw = SSL_CTX_new(TLS_server_method());
  if (!raw) return fail("SSL_CTX_new");
  SslCtxConstSharedPtr ctx(raw, SSL_CTX_free);
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(raw, TLS1_3_VERSION);
  SSL_CTX_set_options(raw, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(raw, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_read_ahead(raw, 1);  // fewer recv calls; the connection reads until WANT_READ

  if (Status s = loadChain(raw, config.certChainPem); !s.ok()) return s;
  if (Status s = loadKey(raw, config.privateKeyPem); !s.ok()) return s;

  // Resumption: stateless tickets under the process key (valid on every worker), no cache.
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_OFF);
  const unsigned char* keys = ticketKeys();
  if (!keys || SSL_CTX_set_tlsext_ticket_keys(raw, const_cast<unsigned char*>(keys), 80) != 1)
    return fail("session ticket keys");
  unsigned char sid[32];
  unsigned int sidLen = 0;
  if (EVP_Digest(config.sessionIdContext.data(), config.sessionIdContext.size(), sid, &sidLen,
                 EVP_sha256(), nullptr) != 1 ||
      SSL_CTX_set_session_id_context(raw, sid, sidLen) != 1)
    return fail("session id context");

  if (!config.rootCaPem.empty()) {
    if (Status s = loadClientCa(raw, config.rootCaPem); !s.ok()) return s;
    SSL_CTX_set_verify(raw, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verifyClient);
    if (!config.verifySubjectAltNames.empty())
      SSL_CTX_set_ex_data(raw, sanIndex(), new std::vector<std::string>(config.verifySubjectAltNames));
  }
  SSL_CTX_set_alpn_select_cb(raw, selectAlpn, nullptr);
  SSL_CTX_set_tlsext_servername_callback(raw, onServerName);
  ERR_clear_error();
  return ctx;
}

Status checkCertificateAndKey(std::string_view certChainPem, std::string_view privateKeyPem,
                              std::string_view rootCaPem) {
  TlsServerCertConfig config;
  config.certChainPem = certChainPem;
  config.privateKeyPem = privateKeyPem;
  config.rootCaPem = rootCaPem;
  auto ctx = buildServerContext(config);
  return ctx.ok() ? Status() : ctx.status();
}

std::string certificateSubject(std::string_view certChainPem) {
  BioPtr bio = memBio(certChainPem);
  X509* cert = bio ? PEM_read_bio_X509(bio.get(), nullptr, noPassword, nullptr) : nullptr;
  std::string out;
  if (cert) {
    BioPtr text(BIO_new(BIO_s_mem()));
    if (text && X509_NAME_print_ex(text.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
      char* data = nullptr;
      long len = BIO_get_mem_data(text.get(), &data);
      if (len > 0) out.assign(data, static_cast<size_t>(len));
    }
    X509_free(cert);
  }
  ERR_clear_error();
  return out;
}

// ---- TlsClientContext, TlsSessionCache -------------------------------------------------------------

Result<std::shared_ptr<const TlsClientContext>> TlsClientContext::create(const TlsClientConfig& config,
                                                                         NoRootCa noRootCa) {
  ERR_clear_error();
  SSL_CTX* raw = SSL_CTX_new(TLS_client_method());
  if (!raw) return fail("SSL_CTX_new");
  bool verifies = !config.rootCaPem.empty() || noRootCa == NoRootCa::SystemStore;
  std::shared_ptr<const TlsClientContext> out(new TlsClientContext(raw, verifies));
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(raw, TLS1_3_VERSION);
  SSL_CTX_set_options(raw, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(raw, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_read_ahead(raw, 1);

  if (!config.certChainPem.empty() || !config.privateKeyPem.empty()) {
    if (config.certChainPem.empty()) return Status::error("certificate chain: missing (a private key alone)");
    if (config.privateKeyPem.empty()) return Status::error("private key: missing (a certificate alone)");
    if (Status s = loadChain(raw, config.certChainPem); !s.ok()) return s;
    if (Status s = loadKey(raw, config.privateKeyPem); !s.ok()) return s;
  }
  if (verifies) {
    if (!config.rootCaPem.empty()) {
      if (Status s = loadClientCa(raw, config.rootCaPem); !s.ok()) return s;
    } else if (SSL_CTX_set_default_verify_paths(raw) != 1) {
      return fail("system CA store");
    }
    SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, verifyClient);
    if (!config.verifySubjectAltNames.empty())
      SSL_CTX_set_ex_data(raw, sanIndex(), new std::vector<std::string>(config.verifySubjectAltNames));
  } else {
    // As Envoy and Gloo: without a root CA the upstream's certificate is not checked at all.
    SSL_CTX_set_verify(raw, SSL_VERIFY_NONE, nullptr);
  }
  // One protocol: the upstream's codec is chosen by config (useHttp2), not negotiated.
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  static const unsigned char kH2[] = {2, 'h', '2'};
  int alpnFailed = config.http2 ? SSL_CTX_set_alpn_protos(raw, kH2, sizeof(kH2))
                                : SSL_CTX_set_alpn_protos(raw, kHttp11, sizeof(kHttp11));
  if (alpnFailed != 0) return fail("ALPN");
  // Sessions are kept by TlsSessionCache (per worker and host), not in the context.
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(raw, tlsClientNewSession);
  ERR_clear_error();
  return out;
}

TlsClientContext::~TlsClientContext() { SSL_CTX_free(ctx_); }

TlsSessionCache::~TlsSessionCache() { clear(); }

void TlsSessionCache::clear() {
  if (session_) SSL_SESSION_free(session_);
  session_ = nullptr;
  context_.reset();
  sni_.clear();
}

void TlsSessionCache::store(const TlsClientContextConstSharedPtr& context, std::string_view sni,
                            SSL_SESSION* session) {
  clear();
  context_ = context;
  sni_.assign(sni);
  session_ = session;
}

SSL_SESSION* TlsSessionCache::find(const TlsClientContext* context, std::string_view sni) const {
  if (!session_ || sni != sni_) return nullptr;
  auto owner = context_.lock();  // expired: the context (and any CA it trusted) is gone
  if (owner.get() != context || !SSL_SESSION_is_resumable(session_)) return nullptr;
  return session_;
}

// ---- TlsServerConfig --------------------------------------------------------------------------------

void TlsServerConfig::add(SslCtxConstSharedPtr ctx, const std::vector<std::string>& serverNames) {
  size_t index = contexts_.size();
  contexts_.push_back(std::move(ctx));
  for (const std::string& raw : serverNames) {
    std::string name = lowerAscii(raw);
    if (name == "*") {
      if (catchAll_ < 0) catchAll_ = static_cast<int>(index);
    } else if (name.size() > 2 && name[0] == '*' && name[1] == '.') {
      std::string suffix = name.substr(1);
      bool known = false;
      for (const auto& w : wildcards_) known |= w.first == suffix;
      if (!known) wildcards_.emplace_back(std::move(suffix), index);
    } else {
      exact_.emplace(std::move(name), index);
    }
  }
  std::stable_sort(wildcards_.begin(), wildcards_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

int TlsServerConfig::ownerOf(std::string_view serverName) const {
  std::string name = lowerAscii(serverName);
  if (name == "*") return catchAll_;
  if (name.size() > 2 && name[0] == '*' && name[1] == '.') {
    for (const auto& w : wildcards_)
      if (w.first == std::string_view(name).substr(1)) return static_cast<int>(w.second);
    return -1;
  }
  auto it = exact_.find(name);
  return it == exact_.end() ? -1 : static_cast<int>(it->second);
}

SSL_CTX* TlsServerConfig::select(std::string_view serverName) const {
  if (contexts_.empty()) return nullptr;
  if (!serverName.empty()) {
    if (serverName.back() == '.') serverName.remove_suffix(1);  // absolute form
    std::string name = lowerAscii(serverName);
    auto it = exact_.find(name);
    if (it != exact_.end()) return contexts_[it->second].get();
    for (const auto& [suffix, index] : wildcards_)
      if (name.size() > suffix.size() && name.ends_with(suffix)) return contexts_[index].get();
  }
  return contexts_[catchAll_ >= 0 ? static_cast<size_t>(catchAll_) : 0].get();
}

SSL* TlsServerConfig::newSession(int fd) const {
  SSL_CTX* initial = select({});
  if (!initial) return nullptr;
  SSL* ssl = SSL_new(initial);
  if (!ssl) return nullptr;
  if (SSL_set_fd(ssl, fd) != 1) {
    SSL_free(ssl);
    ERR_clear_error();
    return nullptr;
  }
  SSL_set_ex_data(ssl, tableIndex(), const_cast<TlsServerConfig*>(this));
  SSL_set_accept_state(ssl);
  return ssl;
}

}  // namespace portico::net
