#include "router/route_table.h"

#include <algorithm>

#include "router/route_conditions.h"
#include "router/route_index.h"

namespace portico::router {

namespace {
inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
}  // namespace

size_t RouteTable::addVirtualHost(VirtualHost vhost, const std::vector<std::string>& domains) {
  size_t index = vhosts_.size();
  vhosts_.push_back(std::move(vhost));
  vhosts_.back().index = RouteIndex::build(vhosts_.back().routes);
  std::vector<std::string> list = domains.empty() ? std::vector<std::string>{"*"} : domains;
  for (std::string d : list) {
    for (char& c : d) c = lower(c);
    if (d == "*") {
      if (catchAll_ < 0) catchAll_ = static_cast<int>(index);
    } else if (d.size() > 1 && d[0] == '*') {
      suffixes_.emplace_back(d.substr(1), index);
    } else {
      exact_.emplace(d, index);
    }
  }
  std::stable_sort(suffixes_.begin(), suffixes_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  return index;
}

int RouteTable::domainOwner(std::string_view domain) const {
  std::string d(domain);
  for (char& c : d) c = lower(c);
  if (d == "*") return catchAll_;
  if (d.size() > 1 && d[0] == '*') {
    for (const auto& [suffix, idx] : suffixes_)
      if (suffix == std::string_view(d).substr(1)) return static_cast<int>(idx);
    return -1;
  }
  auto it = exact_.find(d);
  return it == exact_.end() ? -1 : static_cast<int>(it->second);
}

int RouteTable::findDomain(std::string_view host) const {
  if (!exact_.empty()) {
    auto it = exact_.find(host);
    if (it != exact_.end()) return static_cast<int>(it->second);
  }
  for (const auto& [suffix, idx] : suffixes_) {
    if (host.size() > suffix.size() && host.substr(host.size() - suffix.size()) == suffix)
      return static_cast<int>(idx);
  }
  return -1;
}

const VirtualHost* RouteTable::findVirtualHost(std::string_view host) const {
  // A DNS name is at most 253 characters (259 with a port): a longer Host can only be served
  // by the catch-all virtual host.
  char buf[512];
  if (!host.empty() && host.size() <= sizeof(buf)) {
    for (size_t i = 0; i < host.size(); ++i) buf[i] = lower(host[i]);
    std::string_view h(buf, host.size());
    int idx = findDomain(h);
    if (idx < 0) {
      // Without the port ("a.com:8080" → "a.com"); IPv6 literals keep their brackets.
      size_t colon = h.rfind(':');
      if (colon != std::string_view::npos && h.find(']', colon) == std::string_view::npos)
        idx = findDomain(h.substr(0, colon));
    }
    if (idx >= 0) return &vhosts_[idx];
  }
  return catchAll_ >= 0 ? &vhosts_[catchAll_] : nullptr;
}

RouteTable::Match RouteTable::matchRoute(const VirtualHost& vhost, const RequestView& request) {
  if (vhost.index && vhost.index->routeCount() == vhost.routes.size()) {
    RouteIndex::Result r = vhost.index->match(vhost.routes, request);
    if (r.route == RouteIndex::kNoRoute) return {};
    return {&vhost.routes[r.route], r.matchedLength};
  }
  // No index (a VirtualHost built by hand): the reference semantics, in written order.
  std::string_view path = request.path;
  for (const RouteEntry& r : vhost.routes)
    for (const PathMatcher& m : r.matchers)
      if (pathMatches(m, path) && conditionsHold(m, request))
        return {&r, m.type == PathMatcher::Type::Prefix ? m.value.size() : path.size()};
  return {};
}

}  // namespace portico::router
