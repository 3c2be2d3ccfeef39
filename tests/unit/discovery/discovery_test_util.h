// Helpers for the discovery tests: a listening socket on 127.0.0.1 for the in-test servers
// that discovery fetches from.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>

namespace portico::discovery::testing {

/// A socket listening on 127.0.0.1 at a free port (written to `port`); -1 on failure.
inline int listenLoopback(uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 16) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    return -1;
  port = ntohs(a.sin_port);
  return fd;
}

}  // namespace portico::discovery::testing
