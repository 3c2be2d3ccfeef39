// Pieces shared by the route and upstream decoders (VirtualService, RouteTable, UpstreamGroup,
// options, Upstream): internal to src/config — the public API is decode.h. No yaml-cpp or RE2.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/errors.h"
#include "config/field_reader.h"
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
/// True when `v` is a map; otherwise reports "<path>: expected a map, got <type>" (also for
/// null: for list items, where null is not "unset").
inline bool expectMap(const Value& v, std::string_view path, Errors& errors) {
  if (v.isMap()) return true;
  errors.add(path, std::string("expected a map, got ") + typeName(v.type));
  return false;
}

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

/// matchers[]: prefix | exact | regex, caseSensitive, headers, queryParameters, methods.
void decodeMatcher(const Value& v, const std::string& path, Matcher& out, Errors& errors);
/// headers[] of a matcher: {name, value, regex, invertMatch}.
/// `responseMatchers`: ":status" is a valid name (stagedTransformations responseTransforms).
void decodeHeaderMatchers(const Value& v, const std::string& path, std::vector<HeaderMatcher>& out,
                          Errors& errors, bool responseMatchers = false);

// ---- Transformations and REST functions (decode_transformation.cc) --------------------------

/// options.transformations {requestTransformation, responseTransformation, clearRouteCache}.
void decodeTransformations(const Value& v, const std::string& path, Transformations& out,
                           Errors& errors);
/// options.stagedTransformations {early, regular, inheritTransformation}.
void decodeStagedTransformations(const Value& v, const std::string& path, Transformations& out,
                                 Errors& errors);
/// A transformationTemplate.
void decodeTransformationTemplate(const Value& v, const std::string& path,
                                  TransformationTemplate& out, Errors& errors);
/// destinationSpec.aws {logicalName, invocationStyle, requestTransformation,
/// responseTransformation, htmlContentTypeHeader, unwrapAsAlb, unwrapAsApiGateway,
/// wrapAsApiGateway}.
void decodeAwsDestination(const Value& v, const std::string& path, AwsDestination& out,
                          Errors& errors);
/// destinationSpec.rest {functionName, parameters{headers, path}}.
void decodeRestDestination(const Value& v, const std::string& path, RestDestination& out,
                           Errors& errors);
/// spec.<type>.serviceSpec {rest: {transformations, swaggerInfo}}: the REST functions.
void decodeServiceSpec(const Value& v, const std::string& path, Upstream& out, Errors& errors);

/// The `transformations` / `stagedTransformations` keys of an options map, into
/// `out.transformations` (routes, virtual hosts, weighted destinations).
void decodeTransformationOptions(MapReader& r, RouteOptions& out);

/// Route `options` (RouteOptions).
void decodeRouteOptions(const Value& v, const std::string& path, const std::string& defaultNs,
                        RouteOptions& out, Errors& errors);
/// spec.virtualHost.options: headerManipulation, cors, retries and sortRoutes.
void decodeVirtualHostOptions(const Value& v, const std::string& path, VirtualService& out,
                              Errors& errors);

// ---- Upstream resilience fields (decode_upstream_options.cc) --------------------------------
// Each reads one spec field found at `path` ("spec.loadBalancerConfig", ...) into the model,
// whose defaults are Envoy's; what Portico does not implement is reported by path.

/// spec.loadBalancerConfig: healthyPanicThreshold (a number or {value: N}, 0..100), at most one
/// of roundRobin (the default), leastRequest{choiceCount}, random, ringHash{ringHashConfig},
/// maglev; updateMergeWindow is checked and ignored.
void decodeLoadBalancerConfig(const Value& v, const std::string& path, LoadBalancerConfig& out,
                              Errors& errors);
/// spec.healthChecks: at most one entry (as in Envoy) with timeout and interval required, and
/// httpHealthCheck{path, host, expectedStatuses} or tcpHealthCheck{send, receive} (hex payloads
/// decoded to bytes).
void decodeHealthChecks(const Value& v, const std::string& path, std::vector<HealthCheck>& out,
                        Errors& errors);
/// spec.outlierDetection (present, even as {}, = enabled). An unset maxEjectionTime becomes
/// max(300 s, baseEjectionTime), as in Envoy.
void decodeOutlierDetection(const Value& v, const std::string& path, OutlierDetection& out,
                            Errors& errors);
/// spec.circuitBreakers: maxConnections, maxPendingRequests, maxRequests, maxRetries (each >= 1).
void decodeCircuitBreakers(const Value& v, const std::string& path, CircuitBreakers& out,
                           Errors& errors);
/// spec.connectionConfig: connectTimeout, maxRequestsPerConnection, tcpKeepalive (durations
/// rounded up to whole seconds), perConnectionBufferLimitBytes (>= 1024).
void decodeConnectionConfig(const Value& v, const std::string& path, Upstream& out,
                            Errors& errors);

}  // namespace portico::config::detail
