// The static upstream type (spec.static): a fixed list of hosts, IPs or hostnames.
#include "config/field_reader.h"
#include "plugins/plugin.h"

namespace portico {
namespace {

class StaticPlugin final : public UpstreamPlugin {
public:
  std::string_view type() const override { return "static"; }

  void translate(const config::Upstream& upstream, const PluginContext& context,
                 upstream::Cluster& cluster, config::Errors& errors) const override {
    config::MapReader spec(upstream.typeSpec, "spec.static", errors);
    const config::Value* hosts = spec.take("hosts");
    std::string hostsPath = spec.pathOf("hosts");
    if (!hosts || !hosts->isList() || hosts->list.empty()) {
      errors.add(hostsPath, hosts && !hosts->isList() ? "expected a list of {addr, port}"
                                                      : "at least one host is required");
    }
    // useTls: as in Gloo, unset means "TLS when a host is on port 443"; an explicit false wins.
    bool useTls = false;
    bool useTlsSet = spec.readBool("useTls", useTls);
    // autoSniRewrite (default true): a host's hostname is its SNI when it has no sniAddr.
    bool autoSni = true;
    spec.readBool("autoSniRewrite", autoSni);
    bool port443 = false;
    if (hosts && hosts->isList()) {
      for (size_t i = 0; i < hosts->list.size(); ++i)
        port443 |= translateHost(hosts->list[i], config::indexPath(hostsPath, i), context, autoSni,
                                 cluster, errors);
    }
    cluster.wantsTls = useTlsSet ? useTls : port443;
    spec.finish();
  }

private:
  /// Returns true when the host is on port 443.
  static bool translateHost(const config::Value& v, const std::string& path,
                            const PluginContext& context, bool autoSni, upstream::Cluster& cluster,
                            config::Errors& errors) {
    config::MapReader host(v, path, errors);
    std::string addr;
    int64_t port = 0, weight = 1;
    bool ok = host.requireString("addr", addr);
    if (!host.readInt("port", 1, 65535, port)) {
      if (!host.has("port")) errors.add(host.pathOf("port"), "required");
      ok = false;
    }
    host.readInt("loadBalancingWeight", 1, 1 << 24, weight);
    // sniAddr: this host's SNI when the upstream uses TLS (sslConfig.sni still wins).
    std::string sni;
    if (host.readString("sniAddr", sni) && !sni.empty() &&
        (sni.find_first_of(":/* ") != std::string::npos || net::Address::fromIp(sni, 0).ok()))
      errors.add(host.pathOf("sniAddr"), "invalid SNI name \"" + sni + "\": expected a host name");
    host.finish();
    if (!ok) return false;
    bool tlsPort = port == 443;

    auto ip = net::Address::fromIp(addr, static_cast<uint16_t>(port));
    if (ip.ok()) {
      addHost(cluster, *ip, "", sni, weight);  // an IP is never an SNI name
      return tlsPort;
    }
    if (sni.empty() && autoSni) sni = addr;
    // A hostname: every address it resolves to is a host. Until the first answer arrives the
    // upstream simply has no host for it (the controller rebuilds when the answer comes).
    auto addresses = context.resolver.resolve(addr, static_cast<uint16_t>(port));
    if (!addresses.ok()) {
      cluster.unresolved.push_back(addr + ": " + addresses.error());
      return tlsPort;
    }
    for (const net::Address& a : *addresses) addHost(cluster, a, addr, sni, weight);
    return tlsPort;
  }

  static void addHost(upstream::Cluster& cluster, const net::Address& address,
                      const std::string& hostname, const std::string& sni, int64_t weight) {
    upstream::Host h;
    h.address = address;
    h.key = address.toString();
    h.hostname = hostname;
    h.sni = sni;
    h.weight = static_cast<uint32_t>(weight);
    cluster.hosts.push_back(std::move(h));
  }
};

}  // namespace

void registerStaticPlugin(PluginRegistry& registry) {
  registry.addUpstreamPlugin(std::make_unique<StaticPlugin>());
}

}  // namespace portico
