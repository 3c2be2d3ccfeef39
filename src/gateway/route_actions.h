// What a route's options do to a request and its response, as pure functions over buffers:
// path rewrites, redirect locations, header manipulation and CORS. Kept apart from the
// connection code so that each rule is small and unit-tested on its own.
#pragma once

#include <string>
#include <string_view>

#include "common/buffer.h"
#include "http/header_map.h"
#include "router/route_entry.h"

namespace portico::gateway {

/// Appends the upstream path for `path` (no query): prefixRewrite replaces the matched prefix,
/// regexRewrite substitutes every match of its pattern; otherwise the path as is.
void appendRewrittenPath(Buffer& out, const router::RouteEntry& route, std::string_view path,
                         size_t matchedLength);

/// The Location of a redirect action. `query` includes its '?' (or is empty); `host` is the
/// request's Host header (with port).
std::string redirectLocation(const router::RedirectConfig& redirect, std::string_view host,
                             std::string_view path, std::string_view query, size_t matchedLength);

/// True when header `lowerName` must not be copied through (removed, or replaced by an add with
/// append=false).
bool headerDroppedByOps(const router::HeaderOps& ops, std::string_view lowerName);
/// Appends the "name: value\r\n" lines the ops add.
void appendAddedHeaders(Buffer& out, const router::HeaderOps& ops);

/// CORS (Envoy's semantics): a request is CORS when it carries Origin; a preflight is an
/// OPTIONS with Origin and Access-Control-Request-Method.
bool corsOriginAllowed(const router::CorsConfig& cors, std::string_view origin);
bool isCorsPreflight(std::string_view method, const http::HeaderMap& headers);
/// Appends the headers of the gateway's own 200 answer to an allowed preflight.
void appendCorsPreflightHeaders(Buffer& out, const router::CorsConfig& cors,
                                std::string_view origin);
/// Appends the headers added to an actual response for an allowed origin.
void appendCorsResponseHeaders(Buffer& out, const router::CorsConfig& cors,
                               std::string_view origin);

}  // namespace portico::gateway
