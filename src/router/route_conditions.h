// Route conditions: whether one PathMatcher accepts a request — its path test (prefix, exact,
// RE2 full match) and the header, query-parameter and method conditions that must hold with it.
#pragma once

#include <string_view>

#include "config/model.h"
#include "http/header_map.h"
#include "router/request_view.h"
#include "router/route_entry.h"

namespace portico::router {

/// Compiles a config matcher (its patterns already validated by the decoder).
PathMatcher compilePathMatcher(const config::Matcher& m);

/// True when `m`'s path test accepts `path` (without query). Case-insensitive matchers
/// compare ASCII letters without case on both sides.
bool pathMatches(const PathMatcher& m, std::string_view path);

/// True when `m` has any header, query-parameter or method condition.
inline bool hasConditions(const PathMatcher& m) {
  return !m.headers.empty() || !m.queryParameters.empty() || !m.methods.empty();
}

/// True when every header, query-parameter and method condition of `m` holds for `request`
/// (the path is not looked at). Allocation-free unless a value to match exceeds a few hundred
/// bytes.
bool conditionsHold(const PathMatcher& m, const RequestView& request);

/// One header condition. Several headers of that name are matched as their values joined
/// with "," (Envoy's behaviour); `invert` negates the whole result (absent + invert = match).
/// `headers` may be nullptr (no headers).
bool headerConditionHolds(const HeaderMatch& h, const http::HeaderMap* headers);

/// One query condition, on the first parameter of that (decoded) name.
bool queryConditionHolds(const QueryMatch& q, std::string_view query);

}  // namespace portico::router
