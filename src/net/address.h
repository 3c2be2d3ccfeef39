// Address: an IPv4/IPv6 socket address parsed from "host:port", "[v6]:port" or a bare IP, and
// printed back the same way. Only numeric addresses: name resolution lives elsewhere.
#pragma once

#include <cstdint>
#include <netinet/in.h>
#include <string>
#include <string_view>
#include <sys/socket.h>

#include "common/status.h"

namespace portico::net {

class Address {
public:
  Address() = default;
  /// "127.0.0.1:8080", "[::1]:8080". Port required.
  static Result<Address> parse(std::string_view hostPort);
  /// A numeric IP ("0.0.0.0", "::", "10.1.2.3") plus port.
  static Result<Address> fromIp(std::string_view ip, uint16_t port);
  static Address fromSockaddr(const sockaddr* sa, socklen_t len);

  const sockaddr* sockaddrPtr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t length() const { return length_; }
  int family() const { return storage_.ss_family; }
  uint16_t port() const;
  /// "1.2.3.4:80" or "[::1]:80".
  std::string toString() const;
  /// The IP alone ("1.2.3.4", "::1") — for x-forwarded-for.
  std::string ipString() const;
  bool valid() const { return length_ != 0; }

private:
  sockaddr_storage storage_{};
  socklen_t length_ = 0;
};

/// Creates a non-blocking listening socket (SO_REUSEADDR, SO_REUSEPORT, IPV6_V6ONLY off for
/// "::" so one socket takes IPv4 too). Returns the fd.
Result<int> listenTcp(const Address& address, int backlog = 4096);
/// Starts a non-blocking connect; the fd is writable when connected (check SO_ERROR).
Result<int> connectTcp(const Address& address);
/// TCP_NODELAY on; errors ignored (best effort on an already connected socket).
void setNoDelay(int fd);
/// SO_KEEPALIVE with the given probe count, idle time and interval (0 = system default for
/// each); errors ignored (best effort).
void setKeepalive(int fd, uint32_t probes, int64_t idleMs, int64_t intervalMs);
/// The locally bound address of a socket (to learn the port after binding port 0).
Address localAddress(int fd);

}  // namespace portico::net
