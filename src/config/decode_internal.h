// Pieces shared by the route decoders (VirtualService, RouteTable, UpstreamGroup, options):
// internal to src/config — the public decoding API is decode.h. No yaml-cpp or RE2 here.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/errors.h"
#include "config/model.h"
#include "config/value.h"

namespace portico::config::detail {

std::string lowerAscii(std::string_view s);
std::string upperAscii(std::string_view s);
/// RFC 9110 token: header names and methods (letters, digits and !#$%&'*+-.^_`|~).
bool isToken(std::string_view s);
/// "host", "host:port", "1.2.3.4:80", "[::1]:8080": a Host header value or redirect host.
bool isHostAndPort(std::string_view s);
/// "*", "host", "*.suffix", "[v6]", each optionally with ":port" (except the bare "*").
bool isValidDomain(std::string_view d);

/// Compiles `pattern` with RE2; reports "<path>: invalid regex: <RE2 error>" when it fails.
bool checkRegex(const std::string& pattern, std::string_view path, Errors& errors,
                bool caseSensitive = true);
/// RE2::CheckRewriteString: a substitution's \N references exist in `pattern` (which must
/// compile); reports "<path>: <RE2 error>".
bool checkRewrite(const std::string& pattern, const std::string& rewrite, std::string_view path,
                  Errors& errors);

/// Reports a Gloo 0.x object's RawObject::conversionErrors; true when there were any (the
/// caller then stops decoding).
bool reportConversionErrors(const RawObject& obj, Errors& errors);

/// True when `v` is a list; otherwise reports "<path>: expected a list, got <type>".
bool expectList(const Value& v, std::string_view path, Errors& errors);

/// {name, namespace}: name required; namespace defaults to `defaultNs` and must be valid.
void decodeResourceRef(const Value& v, const std::string& path, const std::string& defaultNs,
                       ResourceRef& out, Errors& errors);

/// A route list (spec.virtualHost.routes, spec.routes); each Route.fieldPath is "<path>[i]".
void decodeRoutes(const Value& v, const std::string& path, const std::string& defaultNs,
                  std::vector<Route>& out, Errors& errors);

/// destinations: [{destination: {upstream: {name, namespace}}, weight}] of routeAction.multi
/// and UpstreamGroup. At least one; every weight > 0.
void decodeWeightedDestinations(const Value& v, const std::string& path,
                                const std::string& defaultNs, std::vector<WeightedDestination>& out,
                                Errors& errors);

/// Route `options` (RouteOptions).
void decodeRouteOptions(const Value& v, const std::string& path, const std::string& defaultNs,
                        RouteOptions& out, Errors& errors);
/// spec.virtualHost.options: headerManipulation, cors, retries and sortRoutes.
void decodeVirtualHostOptions(const Value& v, const std::string& path, VirtualService& out,
                              Errors& errors);

}  // namespace portico::config::detail
