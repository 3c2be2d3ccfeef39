#include "controller/tls_contexts.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include "config/decode.h"
#include "upstream/cluster.h"

namespace portico::controller {

namespace {

constexpr size_t kMaxPemBytes = 1 << 20;

/// Reads a PEM file named by sslFiles; errors name the path (never the contents).
Status readPemFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error("cannot read " + config::jsonQuote(path) + ": " + strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  out = text.str();
  if (out.size() > kMaxPemBytes)
    return Status::error(config::jsonQuote(path) + " is larger than 1 MiB");
  return {};
}

/// The names a system-CA-verified upstream's certificate must carry when verifySubjectAltName
/// does not say: the system store vouches for any public name, so the chain alone proves
/// nothing about the peer. Each host's SNI, or its IP when it has none.
std::vector<std::string> hostNames(const config::Upstream& up, const upstream::Cluster& cluster) {
  std::vector<std::string> names;
  for (const upstream::Host& h : cluster.hosts) {
    std::string name = up.sslConfig && !up.sslConfig->sni.empty() ? up.sslConfig->sni : h.sni;
    if (name.empty()) name = h.address.ipString();
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

}  // namespace

TlsContexts::FileStamp TlsContexts::stampOf(const std::string& path) {
  struct stat st;
  FileStamp stamp;
  if (::stat(path.c_str(), &st) == 0) {
    stamp.mtimeNs = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
    stamp.size = static_cast<int64_t>(st.st_size);
    stamp.inode = static_cast<uint64_t>(st.st_ino);
  }
  return stamp;
}

bool TlsContexts::systemCaFor(const upstream::Cluster& cluster) const {
  return systemCaForUpstreams_ || cluster.aws;
}

Status TlsContexts::checkSecret(const config::ObjectKey& key, const config::Secret& secret) {
  if (secret.type != config::Secret::Type::Tls) return {};
  usedSecrets_[key] = true;
  Material m{secret.certChain, secret.privateKey, secret.rootCa, {}};
  auto it = checked_.find(key);
  if (it != checked_.end() && it->second.material == m) return it->second.status;
  Status s;
  if (!m.cert.empty())
    s = net::checkCertificateAndKey(m.cert, m.key, m.ca);
  else if (net::certificateSubject(m.ca).empty())  // a CA bundle alone (client verification)
    s = Status::error("root CA: no PEM certificate found");
  std::string path = m.cert.empty() ? "tls.rootCa" : "tls";
  if (!s.ok()) s = Status::error(path + ": " + s.message());
  checked_[key] = Checked{std::move(m), s};
  return s;
}

Status TlsContexts::readMaterial(const std::optional<config::ResourceRef>& secretRef,
                                 const std::string& tlsCert, const std::string& tlsKey,
                                 const std::string& rootCa, bool needCertificate,
                                 const std::map<config::ObjectKey, config::Secret>& secrets,
                                 Material& m, std::string& fieldPath) {
  Status problem;
  if (secretRef) {
    fieldPath = "spec.sslConfig.secretRef";
    auto it = secrets.find({"Secret", secretRef->ns, secretRef->name});
    if (it == secrets.end()) {
      problem = Status::error("secret " + config::jsonQuote(secretRef->name) +
                              " not found in namespace " + config::jsonQuote(secretRef->ns));
    } else if (it->second.type != config::Secret::Type::Tls ||
               (needCertificate && it->second.certChain.empty())) {
      problem = Status::error("secret " + config::jsonQuote(secretRef->name) + " holds no TLS " +
                              (needCertificate ? "certificate and key" : "material") + " (it is a " +
                              std::string(config::toString(it->second.type)) + " secret)");
    } else {
      m.cert = it->second.certChain;
      m.key = it->second.privateKey;
      m.ca = it->second.rootCa;
    }
  } else {
    fieldPath = "spec.sslConfig.sslFiles";
    struct File {
      const std::string& path;
      std::string& into;
      const char* field;
    };
    for (File f : {File{tlsCert, m.cert, "tlsCert"}, File{tlsKey, m.key, "tlsKey"},
                   File{rootCa, m.ca, "rootCa"}}) {
      if (f.path.empty()) continue;
      filesThisBuild_[f.path] = stampOf(f.path);
      Status s = readPemFile(f.path, f.into);
      if (!s.ok() && problem.ok()) {
        fieldPath = std::string("spec.sslConfig.sslFiles.") + f.field;
        problem = s;
      }
    }
  }
  return problem;
}

TlsContexts::Outcome TlsContexts::contextFor(const config::ObjectKey& vs, const config::SslConfig& ssl,
                                             const std::map<config::ObjectKey, config::Secret>& secrets) {
  usedVs_[vs] = true;
  Outcome out;
  Material m;
  m.sans = ssl.verifySubjectAltName;
  Status problem = readMaterial(ssl.secretRef, ssl.tlsCert, ssl.tlsKey, ssl.rootCa, true, secrets,
                                m, out.fieldPath);
  if (problem.ok() && !ssl.verifySubjectAltName.empty() && m.ca.empty())
    problem = Status::error("verifySubjectAltName needs a root CA (secret tls.rootCa or sslFiles.rootCa)");

  auto previous = built_.find(vs);
  if (problem.ok()) {
    if (previous != built_.end() && previous->second.material == m) {
      out.ctx = previous->second.ctx;
      out.subject = previous->second.subject;
      return out;
    }
    net::TlsServerCertConfig config;
    config.certChainPem = m.cert;
    config.privateKeyPem = m.key;
    config.rootCaPem = m.ca;
    config.verifySubjectAltNames = m.sans;
    config.sessionIdContext = vs.display();
    auto ctx = net::buildServerContext(config);
    if (ctx.ok()) {
      out.ctx = *ctx;
      out.subject = net::certificateSubject(m.cert);
      built_[vs] = Built{std::move(m), out.ctx, out.subject};
      return out;
    }
    problem = ctx.status();
  }
  out.error = problem.message();
  if (previous != built_.end()) {
    out.ctx = previous->second.ctx;
    out.subject = previous->second.subject;
  }
  return out;
}

void TlsContexts::attachClientTls(const config::ObjectKey& upstream, const config::Upstream& up,
                                  upstream::Cluster& cluster,
                                  const std::map<config::ObjectKey, config::Secret>& secrets,
                                  config::Errors& errors) {
  if (!up.sslConfig && !cluster.wantsTls) return;
  usedUpstreams_[upstream] = true;
  Material m;
  std::string fieldPath = "spec.sslConfig";
  if (up.sslConfig) {
    const config::UpstreamSslConfig& ssl = *up.sslConfig;
    m.sans = ssl.verifySubjectAltName;
    Status problem;
    if (ssl.secretRef || !ssl.tlsCert.empty() || !ssl.rootCa.empty())
      problem = readMaterial(ssl.secretRef, ssl.tlsCert, ssl.tlsKey, ssl.rootCa, false, secrets, m,
                             fieldPath);
    if (problem.ok() && !m.sans.empty() && m.ca.empty() && !systemCaFor(cluster))
      problem = Status::error("verifySubjectAltName needs a root CA (secret tls.rootCa or sslFiles.rootCa)");
    if (!problem.ok()) {
      errors.add(fieldPath, problem.message());
      return;
    }
  }
  // Gloo verifies an upstream only against its sslConfig root CA. Lambda, on the internet, is
  // always verified: against the system store when no root CA is given; so is every upstream
  // with --upstream-tls-system-ca.
  if (m.ca.empty() && systemCaFor(cluster)) {
    m.systemCa = true;
    if (m.sans.empty()) m.sans = hostNames(up, cluster);
  }
  m.http2 = up.useHttp2;
  net::TlsClientContextConstSharedPtr context;
  auto previous = clientBuilt_.find(upstream);
  if (previous != clientBuilt_.end() && previous->second.material == m) {
    context = previous->second.context;
  } else {
    net::TlsClientConfig config;
    config.certChainPem = m.cert;
    config.privateKeyPem = m.key;
    config.rootCaPem = m.ca;
    config.verifySubjectAltNames = m.sans;
    config.http2 = m.http2;
    auto built = net::TlsClientContext::create(
        config, m.systemCa ? net::NoRootCa::SystemStore : net::NoRootCa::Unverified);
    if (!built.ok()) {
      errors.add(fieldPath, built.error());
      return;
    }
    context = *built;
    clientBuilt_[upstream] = ClientBuilt{std::move(m), context};
  }
  auto tls = std::make_shared<upstream::ClusterTls>();
  tls->context = std::move(context);
  for (const upstream::Host& h : cluster.hosts)
    tls->sniByHostKey.emplace(h.key, up.sslConfig && !up.sslConfig->sni.empty() ? up.sslConfig->sni : h.sni);
  cluster.tls = std::move(tls);
}

void TlsContexts::endBuild() {
  std::erase_if(built_, [&](const auto& kv) { return !usedVs_.count(kv.first); });
  std::erase_if(clientBuilt_, [&](const auto& kv) { return !usedUpstreams_.count(kv.first); });
  usedUpstreams_.clear();
  std::erase_if(checked_, [&](const auto& kv) { return !usedSecrets_.count(kv.first); });
  usedVs_.clear();
  usedSecrets_.clear();
  std::lock_guard<std::mutex> lock(filesMutex_);
  files_ = std::move(filesThisBuild_);
  filesThisBuild_.clear();
}

bool TlsContexts::filesChanged() const {
  std::map<std::string, FileStamp> files;
  {
    std::lock_guard<std::mutex> lock(filesMutex_);
    files = files_;
  }
  for (const auto& [path, stamp] : files)
    if (!(stampOf(path) == stamp)) return true;
  return false;
}

}  // namespace portico::controller
