// Building and changing config objects for porticoctl: static upstreams, virtual services,
// routes from glooctl's flags, and route sorting — pure functions over JSON documents.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/json.h"
#include "common/status.h"

namespace portico::cli {

/// "Upstream" for "upstream" (the kinds of kindWords()); the apiVersion that goes with it.
std::string kindName(const std::string& kind);
std::string apiVersionOf(const std::string& kind);

/// A gloo.solo.io/v1 Upstream with spec.static.hosts from "host:port" items ("host" = port 80,
/// "[v6]:port"). Errors name --static-hosts.
Result<Json> staticUpstream(const std::string& name, const std::string& ns,
                            const std::vector<std::string>& hosts);
/// A gateway.solo.io/v1 VirtualService with spec.virtualHost.domains (empty = ["*"]) and no routes.
Json virtualService(const std::string& name, const std::string& ns,
                    const std::vector<std::string>& domains);

/// What `add route` was given (glooctl's flag names).
struct RouteFlags {
  std::string pathExact, pathPrefix, pathRegex;
  std::vector<std::string> methods;
  std::vector<std::string> headers;          ///< "name=value" or "name" (present)
  std::vector<std::string> queryParameters;  ///< "name=value" or "name"
  std::string destName, destNamespace;
  std::string prefixRewrite;
  std::string restFunctionName;
  std::vector<std::string> restParameters;  ///< "name=value": destinationSpec.rest.parameters.headers
};
/// One route; errors name the flag.
Result<Json> buildRoute(const RouteFlags& flags);

/// The routes list of a VirtualService or RouteTable document (created when absent).
Json& routesOf(Json& object);
/// Inserts at `index` (default 0, as glooctl); an index past the end is an error naming --index.
Status insertRoute(Json& object, Json route, std::optional<size_t> index);
/// Removes routes[index]; errors name --index.
Status removeRoute(Json& object, size_t index);
/// Orders the routes most specific first (exact, regex, then longest prefix), with the
/// router's own rule (router::sortRoutesMostSpecificFirst). Returns whether the order changed.
bool sortRoutes(Json& object);

/// A one-line summary of a route for tables: "exact:/x -> petstore".
std::string routeSummary(const Json& route);

}  // namespace portico::cli
