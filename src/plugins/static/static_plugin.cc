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
    } else {
      for (size_t i = 0; i < hosts->list.size(); ++i)
        translateHost(hosts->list[i], config::indexPath(hostsPath, i), context, cluster, errors);
    }
    // useTls / serviceSpec / autoSniRewrite... are reported by finish() as not supported yet.
    spec.finish();
  }

private:
  static void translateHost(const config::Value& v, const std::string& path,
                            const PluginContext& context, upstream::Cluster& cluster,
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
    host.ignore("sniAddr");  // only meaningful with TLS, which rejects its own fields
    host.finish();
    if (!ok) return;

    auto ip = net::Address::fromIp(addr, static_cast<uint16_t>(port));
    if (ip.ok()) {
      addHost(cluster, *ip, "", weight);
      return;
    }
    // A hostname: every address it resolves to is a host. Until the first answer arrives the
    // upstream simply has no host for it (the controller rebuilds when the answer comes).
    auto addresses = context.resolver.resolve(addr, static_cast<uint16_t>(port));
    if (!addresses.ok()) {
      cluster.unresolved.push_back(addr + ": " + addresses.error());
      return;
    }
    for (const net::Address& a : *addresses) addHost(cluster, a, addr, weight);
  }

  static void addHost(upstream::Cluster& cluster, const net::Address& address,
                      const std::string& hostname, int64_t weight) {
    upstream::Host h;
    h.address = address;
    h.key = address.toString();
    h.hostname = hostname;
    h.weight = static_cast<uint32_t>(weight);
    cluster.hosts.push_back(std::move(h));
  }
};

}  // namespace

void registerStaticPlugin(PluginRegistry& registry) {
  registry.addUpstreamPlugin(std::make_unique<StaticPlugin>());
}

}  // namespace portico
