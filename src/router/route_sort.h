// Route sorting for virtualHost.options.sortRoutes: most specific route first, so that a
// catch-all written early does not shadow the routes after it.
#pragma once

#include <vector>

#include "router/route_entry.h"

namespace portico::router {

/// Reorders `routes` by their most specific matcher: routes with an Exact matcher first, then
/// routes with a Regex matcher, then prefix-only routes by descending longest prefix. Stable:
/// routes that rank equal keep their written order. Build time (controller), not per request.
void sortRoutesMostSpecificFirst(std::vector<RouteEntry>& routes);

}  // namespace portico::router
