// The static upstream type (spec.static): a fixed list of hosts, IPs or hostnames.
#include <netdb.h>
#include <sys/socket.h>

#include "config/field_reader.h"
#include "plugins/plugin.h"

namespace portico {
namespace {

class StaticPlugin final : public UpstreamPlugin {
public:
  std::string_view type() const override { return "static"; }

  void translate(const config::Upstream& upstream, upstream::Cluster& cluster,
                 config::Errors& errors) const override {
    config::MapReader spec(upstream.typeSpec, "spec.static", errors);
    const config::Value* hosts = spec.take("hosts");
    std::string hostsPath = spec.pathOf("hosts");
    if (!hosts || !hosts->isList() || hosts->list.empty()) {
      errors.add(hostsPath, hosts && !hosts->isList() ? "expected a list of {addr, port}"
                                                      : "at least one host is required");
    } else {
      for (size_t i = 0; i < hosts->list.size(); ++i)
        translateHost(hosts->list[i], config::indexPath(hostsPath, i), cluster, errors);
    }
    // useTls / serviceSpec / autoSniRewrite... are reported by finish() as not supported yet.
    spec.finish();
  }

private:
  static void translateHost(const config::Value& v, const std::string& path,
                            upstream::Cluster& cluster, config::Errors& errors) {
    config::MapReader host(v, path, errors);
    std::string addr;
    int64_t port = 0, weight = 1;
    bool ok = host.requireString("addr", addr);
    if (!host.readInt("port", 1, 65535, port)) {
      if (!host.has("port")) errors.add(host.pathOf("port"), "required");
      ok = false;
    }
    host.readInt("loadBalancingWeight", 1, 1 << 24, weight);
    host.finish();
    if (!ok) return;

    upstream::Host h;
    auto ip = net::Address::fromIp(addr, static_cast<uint16_t>(port));
    if (ip.ok()) {
      h.address = *ip;
    } else {
      // A hostname. TODO(issue 4): asynchronous c-ares resolution with TTL re-resolution; until
      // then the name is resolved once per snapshot build, on the controller thread.
      addrinfo hints{};
      hints.ai_family = AF_UNSPEC;
      hints.ai_socktype = SOCK_STREAM;
      addrinfo* res = nullptr;
      int rc = getaddrinfo(addr.c_str(), std::to_string(port).c_str(), &hints, &res);
      if (rc != 0 || !res) {
        errors.add(config::joinPath(path, "addr"),
                   "cannot resolve \"" + addr + "\": " + gai_strerror(rc));
        return;
      }
      h.address = net::Address::fromSockaddr(res->ai_addr, res->ai_addrlen);
      h.hostname = addr;
      freeaddrinfo(res);
    }
    h.key = h.address.toString();
    h.weight = static_cast<uint32_t>(weight);
    cluster.hosts.push_back(std::move(h));
  }
};

}  // namespace

void registerStaticPlugin(PluginRegistry& registry) {
  registry.addUpstreamPlugin(std::make_unique<StaticPlugin>());
}

}  // namespace portico
