// RouteTable: the compiled routing of one listener — virtual hosts chosen by Host header,
// then the first route whose matcher accepts the path. Immutable once built; shared by workers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http/header_map.h"
#include "router/request_view.h"
#include "router/route_entry.h"
#include "router/route_sort.h"

namespace portico::router {

class RouteIndex;

struct VirtualHost {
  std::string name;  ///< "default.gloo-system"
  std::vector<RouteEntry> routes;
  /// `routes` compiled for lookup; set by RouteTable::addVirtualHost (or RouteIndex::build).
  /// nullptr, or built from a different number of routes: matchRoute scans linearly. Whoever
  /// changes `routes` afterwards must rebuild or reset it.
  std::shared_ptr<const RouteIndex> index;
};

class RouteTable {
public:
  /// Adds a virtual host with its domains ("*", "a.com", "a.com:8080", "*.a.com") and builds
  /// its route index (vhost.index). Returns the virtual host's position. Conflicting domains
  /// are the caller's to detect (see domainOwner()).
  size_t addVirtualHost(VirtualHost vhost, const std::vector<std::string>& domains);
  /// Index of the virtual host that already owns `domain`, or -1.
  int domainOwner(std::string_view domain) const;

  /// The virtual host for a Host header value (any case, optional port): exact match on the
  /// full value, then without the port, then the longest "*.suffix", then "*". nullptr: none.
  const VirtualHost* findVirtualHost(std::string_view host) const;
  struct Match {
    const RouteEntry* route = nullptr;  ///< nullptr: no route matched
    size_t matchedLength = 0;  ///< prefix matchers: the prefix; exact/regex: the whole path
  };
  /// First route in `vhost` (in its order) with a matcher that accepts the request: its path
  /// test and all of its header, query-parameter and method conditions. Uses vhost.index when
  /// it is current (cost independent of the number of prefix/exact routes), else scans.
  /// No allocation in the usual case; thread-safe on an immutable vhost.
  static Match matchRoute(const VirtualHost& vhost, const RequestView& request);

  const std::vector<VirtualHost>& virtualHosts() const { return vhosts_; }

private:
  int findDomain(std::string_view lowerHost) const;

  std::vector<VirtualHost> vhosts_;
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, size_t, StringHash, std::equal_to<>> exact_;
  std::vector<std::pair<std::string, size_t>> suffixes_;  ///< ".a.com" longest first
  int catchAll_ = -1;
};

}  // namespace portico::router
