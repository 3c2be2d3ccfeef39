// RouteTranslator: turns a VirtualService's routes — with delegation to RouteTables resolved,
// upstream groups expanded and virtual-host options inherited — into compiled RouteEntries.
// Also checks every reference a route makes, reporting errors with their field paths.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "config/errors.h"
#include "config/model.h"
#include "router/route_entry.h"

namespace portico::controller {

/// The annotation toRawObject (config/raw_object.cc) puts on objects it converted from Gloo
/// 0.x; the same text is written there.
inline constexpr const char* kGloo0xAnnotation = "portico.io/converted-from";
/// True for an object loaded from a Gloo 0.x document.
bool convertedFromGloo0x(const config::RawObject& raw);

/// The accepted objects routes may refer to. Pointers: the objects are the build's, which
/// outlive the context (a copy of 10,000 routes per build is what this avoids).
struct RouteContext {
  std::map<config::ObjectKey, uint32_t> clusterIndex;  ///< Upstream key → Snapshot cluster
  std::map<config::ObjectKey, const config::UpstreamGroup*> upstreamGroups;  ///< never null
  std::map<config::ObjectKey, const config::RouteTable*> routeTables;        ///< never null
  /// Upstream key → its REST functions (serviceSpec.rest.transformations).
  std::map<config::ObjectKey,
           const std::vector<std::pair<std::string, config::TransformationTemplate>>*>
      restFunctions;
  /// Upstream key → its spec.aws (aws upstreams only; set by the aws plugin on the Cluster).
  std::map<config::ObjectKey, const config::AwsUpstream*> awsUpstreams;
  /// Accepted Secrets (aws credentials of the upstreams' secretRef); null = none.
  const std::map<config::ObjectKey, config::Secret>* secrets = nullptr;
  /// Virtual services converted from Gloo 0.x (convertedFromGloo0x): their REST function
  /// destinations on aws upstreams name Lambda functions (a 0.x route does not say the kind).
  std::set<config::ObjectKey> gloo0xVirtualServices;
};

/// A route after delegation: the route itself and the options it ends up with.
struct FlatRoute {
  const config::Route* route = nullptr;
  config::RouteOptions options;
  std::string origin;  ///< "virtualservice default.gloo-system routes[1]" / "routetable …"
  bool fromGloo0x = false;  ///< of a virtual service in RouteContext::gloo0xVirtualServices
  /// Compiled transformations and REST function (filters::RouteTransformations), if any.
  std::shared_ptr<const router::RouteFilterConfig> transformations;
  /// Per weighted destination (multi / upstream group): its own transformations or nullptr.
  std::vector<std::shared_ptr<const router::RouteFilterConfig>> weightedTransformations;
};

/// Compiles the route's transformations (its own, or inherited) and the REST function or AWS
/// Lambda its destination calls into `flat.transformations`; template and reference errors
/// (unknown function, missing credentials) by path.
void compileTransformations(FlatRoute& flat, const RouteContext& ctx, config::Errors& errors);

/// Checks one route's references with the options it ends up with (inherited shadowing too).
void checkRouteRef(const config::Route& route, const config::RouteOptions& options,
                   const RouteContext& ctx, config::Errors& errors);

/// Checks the references of `routes` (upstreams, upstream groups, shadow upstreams) — not
/// delegation, which flatten() resolves. Errors carry each route's field path.
void checkRouteRefs(const std::vector<config::Route>& routes, const RouteContext& ctx,
                    config::Errors& errors);

/// The routes of `vs` in order, each delegateAction replaced by the selected RouteTables'
/// routes (ascending weight, then namespace/name), recursively. Missing tables, delegation
/// cycles and child paths outside the delegating prefix are errors on the VirtualService.
std::vector<FlatRoute> flattenRoutes(const config::VirtualService& vs,
                                     const config::ObjectKey& vsKey, const RouteContext& ctx,
                                     config::Errors& errors);

/// The compiled route. References must have been checked.
router::RouteEntry translateRoute(const FlatRoute& flat, const RouteContext& ctx);

/// Label selector: every (key, value) of `selector` is among `labels` (an empty selector
/// matches everything).
bool labelsMatch(const std::vector<std::pair<std::string, std::string>>& selector,
                 const std::vector<std::pair<std::string, std::string>>& labels);
/// `ns` is in `namespaces`, or `namespaces` holds "*".
bool namespaceListed(const std::vector<std::string>& namespaces, const std::string& ns);

/// Per option: the route's value when set, else the parent's (virtual host or delegating route).
config::RouteOptions inheritOptions(const config::RouteOptions& own,
                                    const config::RouteOptions& parent);

}  // namespace portico::controller
