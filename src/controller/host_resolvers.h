// The HostnameResolver implementations the controller gives plugins: the gateway's (cached,
// asynchronous, rebuilds when an answer changes) and `portico validate`'s (blocking).
#pragma once

#include <functional>
#include <mutex>
#include <set>
#include <string>

#include "net/dns_resolver.h"
#include "plugins/plugin.h"

namespace portico::controller {

/// Answers from the DnsResolver's cache; a name not seen before starts being watched and
/// `onChange` (a rebuild request) runs whenever its addresses change. Names no build used
/// any more are unwatched by endBuild().
class CachingHostResolver final : public HostnameResolver {
public:
  CachingHostResolver(net::DnsResolver& dns, std::function<void()> onChange)
      : dns_(dns), onChange_(std::move(onChange)) {}

  Result<std::vector<net::Address>> resolve(const std::string& hostname, uint16_t port) override;
  /// Called by the controller after each build.
  void endBuild();

private:
  net::DnsResolver& dns_;
  std::function<void()> onChange_;
  std::mutex mutex_;
  std::set<std::string> watched_;
  std::set<std::string> used_;  ///< names the current build asked for
};

/// getaddrinfo on the calling thread: for `portico validate`, never for the gateway.
class BlockingHostResolver final : public HostnameResolver {
public:
  Result<std::vector<net::Address>> resolve(const std::string& hostname, uint16_t port) override;
};

}  // namespace portico::controller
