// TlsContexts: the controller's TLS material — validates TLS Secrets, builds one SSL_CTX per
// virtual service with sslConfig and one client context per TLS upstream (reused while their
// material is unchanged), and notices changes to sslFiles outside the config store.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/errors.h"
#include "config/model.h"
#include "net/tls_context.h"

namespace portico::upstream {
struct Cluster;
}

namespace portico::controller {

class TlsContexts {
public:
  /// A TLS Secret's certificate and key parse and match (OpenSSL's reason otherwise). Results
  /// are remembered per object while its material is unchanged. Controller thread.
  Status checkSecret(const config::ObjectKey& key, const config::Secret& secret);

  struct Outcome {
    net::SslCtxConstSharedPtr ctx;  ///< null when nothing usable (first build failed)
    std::string error;              ///< "sslFiles.tlsKey: ..." when the current material fails
    std::string fieldPath;          ///< what `error` is about ("spec.sslConfig.secretRef")
    /// Subject of the served certificate, for the log.
    std::string subject;
  };
  /// The context for a virtual service's sslConfig: secretRef looked up in `secrets`, or the
  /// sslFiles read now. Unchanged material reuses the context built before; when the material
  /// fails, `ctx` is the last good one (the virtual service keeps serving it). Controller thread.
  Outcome contextFor(const config::ObjectKey& vs, const config::SslConfig& ssl,
                     const std::map<config::ObjectKey, config::Secret>& secrets);
  /// Upstream TLS for `cluster` (hosts final) when the upstream has sslConfig or its plugin set
  /// Cluster::wantsTls: sets cluster.tls (client context reused while the material is
  /// unchanged; SNI per host). A missing secret, unreadable file or bad certificate goes to
  /// `errors` under its field path with OpenSSL's reason (the Upstream is Rejected and its last
  /// accepted version keeps serving). Controller thread.
  void attachClientTls(const config::ObjectKey& upstream, const config::Upstream& up,
                       upstream::Cluster& cluster,
                       const std::map<config::ObjectKey, config::Secret>& secrets,
                       config::Errors& errors);
  /// --upstream-tls-system-ca: upstreams without a root CA are verified against the system
  /// store (by default only aws upstreams are; the rest, as in Gloo, not at all).
  void setSystemCaForUpstreams(bool on) { systemCaForUpstreams_ = on; }
  /// After a build: forgets virtual services and secrets that were not looked at, and records
  /// the sslFiles in use for filesChanged().
  void endBuild();
  /// True when an sslFiles file in use changed (mtime, size or inode) since the last build.
  /// Any thread; a few stat calls.
  bool filesChanged() const;

private:
  struct FileStamp {
    int64_t mtimeNs = -1;
    int64_t size = -1;
    uint64_t inode = 0;
    bool operator==(const FileStamp&) const = default;
  };
  static FileStamp stampOf(const std::string& path);
  bool systemCaFor(const upstream::Cluster& cluster) const;

  struct Material {
    std::string cert, key, ca;
    std::vector<std::string> sans;
    bool systemCa = false;
    bool http2 = false;  ///< ALPN h2 (useHttp2) instead of http/1.1
    bool operator==(const Material&) const = default;
  };
  struct Built {
    Material material;
    net::SslCtxConstSharedPtr ctx;
    std::string subject;
  };
  struct ClientBuilt {
    Material material;
    net::TlsClientContextConstSharedPtr context;
  };
  /// The PEM text of a secretRef (`needCertificate`: it must hold a certificate) or of the
  /// sslFiles paths (recorded for filesChanged); `fieldPath` names what failed.
  Status readMaterial(const std::optional<config::ResourceRef>& secretRef, const std::string& tlsCert,
                      const std::string& tlsKey, const std::string& rootCa, bool needCertificate,
                      const std::map<config::ObjectKey, config::Secret>& secrets, Material& m,
                      std::string& fieldPath);
  struct Checked {
    Material material;
    Status status;
  };

  std::map<config::ObjectKey, Built> built_;      ///< last good context per virtual service
  std::map<config::ObjectKey, Checked> checked_;  ///< secret validations
  std::map<config::ObjectKey, ClientBuilt> clientBuilt_;  ///< client context per upstream
  std::map<config::ObjectKey, bool> usedUpstreams_;
  bool systemCaForUpstreams_ = false;
  std::map<config::ObjectKey, bool> usedVs_, usedSecrets_;
  std::map<std::string, FileStamp> filesThisBuild_;
  mutable std::mutex filesMutex_;  ///< guards files_ (filesChanged runs on another thread)
  std::map<std::string, FileStamp> files_;
};

}  // namespace portico::controller
