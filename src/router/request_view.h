// RequestView: the parts of a request that route matching looks at — views into the
// connection's parsed request, valid only for the duration of one matchRoute call.
#pragma once

#include <string_view>

#include "http/header_map.h"

namespace portico::router {

/// What route matching looks at in a request.
struct RequestView {
  std::string_view path;    ///< the target's path, without the query
  std::string_view query;   ///< after '?', without it; empty when none
  std::string_view method;  ///< uppercase
  const http::HeaderMap* headers = nullptr;  ///< lowercase names; nullptr = no headers
  std::string_view authority;  ///< Host / :authority (pseudo-header matchers)
  std::string_view scheme = "http";
};

}  // namespace portico::router
