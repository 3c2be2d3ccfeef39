// decodeGateway and decodeUpstream: gateway.solo.io/v1 Gateway and gloo.solo.io/v1 Upstream's
// common fields (the resilience ones via decode_upstream_options.cc). An upstream's type subtree
// (spec.static, ...) is left to its plugin.
#include <arpa/inet.h>

#include "config/decode.h"
#include "config/decode_internal.h"
#include "config/field_reader.h"

namespace portico::config {

namespace {

constexpr const char* kUpstreamTypes[] = {"static", "kube",   "aws", "azure",
                                          "consul", "awsEc2", "gcp", "pipe"};
constexpr const char* kUpstreamTypeList = "static, kube, aws, azure, consul, awsEc2, gcp, pipe";

bool isIpAddress(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// Every object's document root: the identity fields were read by toRawObject, status is
// written by Portico itself; only spec is left to the caller.
const Value* takeSpec(MapReader& root) {
  for (const char* key : {"apiVersion", "kind", "metadata", "status"})
    root.ignore(key);
  return root.take("spec");
}

void decodeRefs(const Value& v, const std::string& path, const std::string& defaultNs,
                std::vector<ResourceRef>& out, Errors& errors) {
  if (!v.isList()) {
    errors.add(path, std::string("expected a list, got ") + typeName(v.type));
    return;
  }
  for (size_t i = 0; i < v.list.size(); ++i) {
    MapReader r(v.list[i], indexPath(path, i), errors);
    ResourceRef ref;
    r.requireString("name", ref.name);
    ref.ns = defaultNs;
    std::string ns;
    if (r.readString("namespace", ns)) {
      if (isValidNamespace(ns))
        ref.ns = std::move(ns);
      else
        errors.add(r.pathOf("namespace"), "invalid namespace " + jsonQuote(ns));
    }
    out.push_back(std::move(ref));
  }
}

void decodeHttpGateway(const Value& v, const std::string& path, const std::string& defaultNs,
                       Gateway& out, Errors& errors) {
  MapReader r(v, path, errors);
  if (const Value* refs = r.take("virtualServices"))
    decodeRefs(*refs, r.pathOf("virtualServices"), defaultNs, out.virtualServices, errors);
  r.readStringMap("virtualServiceSelector", out.virtualServiceSelector);
  r.readStringList("virtualServiceNamespaces", out.virtualServiceNamespaces);
  // Listener options: none implemented yet; reading the map names each option used.
  if (const Value* options = r.take("options")) {
    MapReader unsupported(*options, r.pathOf("options"), errors);
  }
}

// spec.options (Gloo's ListenerOptions): only accessLoggingService with file sinks; every
// other option and sub-field (grpcService, filter, …) is reported as not supported.
void decodeListenerOptions(const Value& v, const std::string& path, Gateway& out, Errors& errors) {
  MapReader r(v, path, errors);
  const Value* als = r.take("accessLoggingService");
  if (!als) return;
  MapReader service(*als, r.pathOf("accessLoggingService"), errors);
  const Value* list = service.take("accessLog");
  if (!list) return;
  std::string listPath = service.pathOf("accessLog");
  if (!list->isList()) {
    errors.add(listPath, std::string("expected a list, got ") + typeName(list->type));
    return;
  }
  for (size_t i = 0; i < list->list.size(); ++i) {
    MapReader entry(list->list[i], indexPath(listPath, i), errors);
    const Value* file = entry.take("fileSink");
    if (!file) {
      if (entry.presentCount() == 0) errors.add(entry.path(), "fileSink is required");
      continue;  // grpcService and the rest: reported as not supported by the reader
    }
    AccessLogSpec spec;
    spec.fieldPath = entry.pathOf("fileSink");
    MapReader sink(*file, spec.fieldPath, errors);
    sink.requireString("path", spec.path);
    bool text = sink.readString("stringFormat", spec.stringFormat);
    spec.json = sink.readStringMap("jsonFormat", spec.jsonFormat);
    if (text && spec.json)
      errors.add(spec.fieldPath, "set only one of stringFormat and jsonFormat");
    out.accessLogs.push_back(std::move(spec));
  }
}

// spec.sslConfig (UpstreamSslConfig): secretRef | sslFiles{tlsCert, tlsKey, rootCa}, sni,
// verifySubjectAltName. sds, parameters, alpnProtocols, allowRenegotiation and
// sslFiles.ocspStaple are reported as not supported. Certificates are judged by the controller.
void decodeUpstreamSslConfig(const Value& v, const std::string& path, const std::string& defaultNs,
                             UpstreamSslConfig& out, Errors& errors) {
  MapReader r(v, path, errors);
  bool hasRef = r.has("secretRef"), hasFiles = r.has("sslFiles");
  if (hasRef && hasFiles) errors.add(path, "only one of secretRef, sslFiles may be set");
  if (const Value* ref = r.take("secretRef")) {
    ResourceRef secret;
    detail::decodeResourceRef(*ref, r.pathOf("secretRef"), defaultNs, secret, errors);
    out.secretRef = std::move(secret);
  }
  if (const Value* files = r.take("sslFiles")) {
    MapReader f(*files, r.pathOf("sslFiles"), errors);
    f.readString("tlsCert", out.tlsCert);
    f.readString("tlsKey", out.tlsKey);
    f.readString("rootCa", out.rootCa);
    if (out.tlsCert.empty() != out.tlsKey.empty())
      errors.add(f.pathOf(out.tlsCert.empty() ? "tlsCert" : "tlsKey"),
                 "required with " + std::string(out.tlsCert.empty() ? "tlsKey" : "tlsCert") +
                     " (a client certificate needs both)");
    if (out.tlsCert.empty() && out.rootCa.empty() && files->isMap())
      errors.add(f.path(), "expected tlsCert and tlsKey (client certificate) and/or rootCa");
  }
  if (r.readString("sni", out.sni)) {
    std::string name = detail::lowerAscii(out.sni);
    if (name.empty() || name.find(':') != std::string::npos || name.find('*') != std::string::npos ||
        !detail::isValidDomain(name) || isIpAddress(name))
      errors.add(r.pathOf("sni"), "invalid SNI name " + jsonQuote(out.sni) +
                                      ": expected a host name (no port, no wildcard, not an IP)");
    out.sni = std::move(name);
  }
  r.readStringList("verifySubjectAltName", out.verifySubjectAltName);
  if (!out.verifySubjectAltName.empty() && !out.secretRef && out.rootCa.empty())
    errors.add(r.pathOf("verifySubjectAltName"),
               "needs a root CA (sslFiles.rootCa, or a secretRef whose secret has tls.rootCa)");
}

}  // namespace

Gateway decodeGateway(const RawObject& obj, Errors& errors) {
  Gateway gw;
  gw.meta = obj.meta;
  if (detail::reportConversionErrors(obj, errors)) return gw;
  MapReader root(obj.doc, "", errors);
  const Value* spec = takeSpec(root);
  if (!spec) {
    errors.add("spec", "required");
    return gw;
  }
  MapReader s(*spec, "spec", errors);

  std::string address;
  if (s.readString("bindAddress", address)) {
    if (isIpAddress(address))
      gw.bindAddress = address;
    else
      errors.add(s.pathOf("bindAddress"), "invalid address " + jsonQuote(address) +
                                              ": expected an IPv4 or IPv6 address such as "
                                              "\"::\" or \"0.0.0.0\"");
  }
  int64_t port = 0;
  if (!s.has("bindPort") && spec->isMap())
    errors.add(s.pathOf("bindPort"), "required");
  else if (s.readInt("bindPort", 1, 65535, port))
    gw.bindPort = static_cast<uint16_t>(port);

  // ssl: HTTPS with the certificates of the virtual services it serves (those with sslConfig).
  s.readBool("ssl", gw.ssl);
  bool proxyProto = false;
  if (s.readBool("useProxyProto", proxyProto) && proxyProto)
    errors.add(s.pathOf("useProxyProto"), "field not supported by Portico yet");
  // Portico is one proxy: every gateway belongs to it, so the proxy names do not select.
  std::vector<std::string> proxyNames;
  s.readStringList("proxyNames", proxyNames);

  // No gateway type given means an HTTP gateway over every virtual service, as in Gloo.
  if (const Value* options = s.take("options"))
    decodeListenerOptions(*options, s.pathOf("options"), gw, errors);
  if (const Value* http = s.take("httpGateway"))
    decodeHttpGateway(*http, s.pathOf("httpGateway"), obj.meta.ns, gw, errors);
  return gw;
}

Upstream decodeUpstream(const RawObject& obj, Errors& errors) {
  Upstream us;
  us.meta = obj.meta;
  if (detail::reportConversionErrors(obj, errors)) return us;
  MapReader root(obj.doc, "", errors);
  const Value* spec = takeSpec(root);
  static const Value kEmpty;
  MapReader s(spec ? *spec : kEmpty, "spec", errors);

  size_t types = 0;
  for (const char* t : kUpstreamTypes)
    types += s.has(t);
  if (types > 1)
    errors.add("spec", std::string("only one of ") + kUpstreamTypeList + " may be set");
  if (types == 0 && (!spec || spec->isMap()))
    errors.add("spec", std::string("one of ") + kUpstreamTypeList + " is required");
  for (const char* t : kUpstreamTypes) {
    if (const Value* typeSpec = s.take(t)) {
      if (us.type.empty()) {
        us.type = t;
        us.typeSpec = *typeSpec;  // decoded by the plugin registered for this type
        // serviceSpec (REST functions) is common to host-based types: decoded here, not by
        // the type's plugin.
        auto& fields = us.typeSpec.map;
        for (auto it = fields.begin(); it != fields.end(); ++it) {
          if (it->first != "serviceSpec") continue;
          if (!it->second.isNull())
            detail::decodeServiceSpec(it->second, s.pathOf(t) + ".serviceSpec", us, errors);
          fields.erase(it);
          break;
        }
      }
    }
  }

  if (const Value* ssl = s.take("sslConfig"))
    decodeUpstreamSslConfig(*ssl, s.pathOf("sslConfig"), obj.meta.ns, us.sslConfig.emplace(), errors);
  if (const Value* conn = s.take("connectionConfig"))
    detail::decodeConnectionConfig(*conn, s.pathOf("connectionConfig"), us, errors);
  s.readBool("useHttp2", us.useHttp2);
  if (const Value* lb = s.take("loadBalancerConfig"))
    detail::decodeLoadBalancerConfig(*lb, s.pathOf("loadBalancerConfig"), us.loadBalancer, errors);
  if (const Value* checks = s.take("healthChecks"))
    detail::decodeHealthChecks(*checks, s.pathOf("healthChecks"), us.healthChecks, errors);
  if (const Value* od = s.take("outlierDetection"))
    detail::decodeOutlierDetection(*od, s.pathOf("outlierDetection"), us.outlierDetection.emplace(),
                                   errors);
  if (const Value* cb = s.take("circuitBreakers"))
    detail::decodeCircuitBreakers(*cb, s.pathOf("circuitBreakers"), us.circuitBreakers, errors);
  // Written by discovery to describe what it found; carries no behaviour.
  s.ignore("discoveryMetadata");
  return us;
}

}  // namespace portico::config
