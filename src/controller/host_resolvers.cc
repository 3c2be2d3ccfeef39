#include "controller/host_resolvers.h"

#include <netdb.h>
#include <sys/socket.h>

namespace portico::controller {

Result<std::vector<net::Address>> CachingHostResolver::resolve(const std::string& hostname,
                                                               uint16_t port) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    used_.insert(hostname);
    if (!watched_.count(hostname)) {
      watched_.insert(hostname);
      // The callback runs on the resolver thread: it only asks for a rebuild.
      dns_.watch(hostname, port, [this](const std::string&, const std::vector<net::Address>&) {
        onChange_();
      });
    }
  }
  auto cached = dns_.cached(hostname, port);
  if (!cached) return Status::error("not resolved yet");
  return std::move(*cached);
}

void CachingHostResolver::endBuild() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = watched_.begin(); it != watched_.end();) {
    if (used_.count(*it)) {
      ++it;
      continue;
    }
    dns_.unwatch(*it);
    it = watched_.erase(it);
  }
  used_.clear();
}

Result<std::vector<net::Address>> BlockingHostResolver::resolve(const std::string& hostname,
                                                                uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(hostname.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0 || !res) return Status::error(std::string("cannot resolve: ") + gai_strerror(rc));
  std::vector<net::Address> out;
  for (addrinfo* a = res; a; a = a->ai_next) {
    net::Address addr = net::Address::fromSockaddr(a->ai_addr, a->ai_addrlen);
    bool seen = false;
    for (const auto& o : out) seen |= o.toString() == addr.toString();
    if (!seen) out.push_back(addr);
  }
  freeaddrinfo(res);
  return out;
}

}  // namespace portico::controller
