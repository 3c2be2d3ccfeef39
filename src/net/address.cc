#include "net/address.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <unistd.h>

namespace portico::net {

Result<Address> Address::fromIp(std::string_view ip, uint16_t port) {
  Address a;
  std::string s(ip);
  if (s.size() > 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
  if (inet_pton(AF_INET, s.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.length_ = sizeof(sockaddr_in);
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.length_ = sizeof(sockaddr_in6);
    return a;
  }
  return Status::error("\"" + s + "\" is not an IPv4 or IPv6 address");
}

Result<Address> Address::parse(std::string_view hostPort) {
  size_t colon = hostPort.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == hostPort.size())
    return Status::error("\"" + std::string(hostPort) + "\": expected host:port");
  std::string_view host = hostPort.substr(0, colon);
  std::string_view portText = hostPort.substr(colon + 1);
  if (host.find(':') != std::string_view::npos && !(host.size() > 2 && host.front() == '['))
    return Status::error("\"" + std::string(hostPort) + "\": IPv6 addresses need [brackets]");
  unsigned long port = 0;
  for (char c : portText) {
    if (c < '0' || c > '9') return Status::error("\"" + std::string(hostPort) + "\": bad port");
    port = port * 10 + (c - '0');
    if (port > 65535) return Status::error("\"" + std::string(hostPort) + "\": port out of range");
  }
  if (host == "localhost") host = "127.0.0.1";
  return fromIp(host, static_cast<uint16_t>(port));
}

Address Address::fromSockaddr(const sockaddr* sa, socklen_t len) {
  Address a;
  if (len > sizeof(a.storage_)) len = sizeof(a.storage_);
  memcpy(&a.storage_, sa, len);
  a.length_ = len;
  return a;
}

uint16_t Address::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (family() == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return 0;
}

std::string Address::ipString() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof(buf));
  } else if (family() == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&storage_);
    // Show IPv4-mapped clients of a dual-stack listener as plain IPv4.
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
      inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], buf, sizeof(buf));
    } else {
      inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof(buf));
    }
  }
  return buf;
}

std::string Address::toString() const {
  std::string ip = ipString();
  if (family() == AF_INET6 && ip.find(':') != std::string::npos) ip = "[" + ip + "]";
  return ip + ":" + std::to_string(port());
}

Result<int> listenTcp(const Address& address, int backlog) {
  int fd = socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::error(std::string("socket: ") + strerror(errno));
  int one = 1, zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (address.family() == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  if (bind(fd, address.sockaddrPtr(), address.length()) < 0) {
    std::string err = "bind " + address.toString() + ": " + strerror(errno);
    close(fd);
    return Status::error(err);
  }
  if (listen(fd, backlog) < 0) {
    std::string err = "listen " + address.toString() + ": " + strerror(errno);
    close(fd);
    return Status::error(err);
  }
  return fd;
}

Result<int> connectTcp(const Address& address) {
  int fd = socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::error(std::string("socket: ") + strerror(errno));
  setNoDelay(fd);
  if (connect(fd, address.sockaddrPtr(), address.length()) < 0 && errno != EINPROGRESS) {
    std::string err = std::string("connect: ") + strerror(errno);
    close(fd);
    return Status::error(err);
  }
  return fd;
}

void setNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void setKeepalive(int fd, uint32_t probes, int64_t idleMs, int64_t intervalMs) {
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
  if (probes > 0) {
    int v = static_cast<int>(probes);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof(v));
  }
  if (idleMs > 0) {
    int v = static_cast<int>((idleMs + 999) / 1000);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof(v));
  }
  if (intervalMs > 0) {
    int v = static_cast<int>((intervalMs + 999) / 1000);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &v, sizeof(v));
  }
}

Address localAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return {};
  return Address::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

}  // namespace portico::net
