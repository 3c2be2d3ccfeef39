#include "gateway/route_actions.h"

#include <re2/re2.h>

namespace portico::gateway {

namespace {
void appendHeader(Buffer& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

/// prefixRewrite: `rewrite` + what followed the matched prefix, never producing "//" at the
/// junction nor an empty path.
void appendPrefixRewrite(Buffer& out, std::string_view rewrite, std::string_view remainder) {
  if (!rewrite.empty() && rewrite.back() == '/' && !remainder.empty() && remainder[0] == '/')
    rewrite.remove_suffix(1);
  if (rewrite.empty() && (remainder.empty() || remainder[0] != '/')) out.append('/');
  out.append(rewrite);
  out.append(remainder);
}
}  // namespace

void appendRewrittenPath(Buffer& out, const router::RouteEntry& route, std::string_view path,
                         size_t matchedLength) {
  if (route.hasPrefixRewrite) {
    appendPrefixRewrite(out, route.prefixRewrite, path.substr(std::min(matchedLength, path.size())));
  } else if (route.regexRewrite) {
    std::string rewritten(path);
    RE2::GlobalReplace(&rewritten, *route.regexRewrite, route.regexSubstitution);
    out.append(rewritten.empty() ? std::string_view("/") : std::string_view(rewritten));
  } else {
    out.append(path);
  }
}

std::string redirectLocation(const router::RedirectConfig& redirect, std::string_view host,
                             std::string_view path, std::string_view query, size_t matchedLength) {
  std::string location = redirect.httpsRedirect ? "https://" : "http://";
  if (!redirect.hostRedirect.empty()) {
    location += redirect.hostRedirect;
  } else {
    // An https redirect drops the request's explicit port (it was the plain-HTTP one).
    std::string_view h = host;
    if (redirect.httpsRedirect) {
      size_t colon = h.rfind(':');
      if (colon != std::string_view::npos && h.find(']', colon) == std::string_view::npos)
        h = h.substr(0, colon);
    }
    location += h;
  }
  Buffer p;
  if (redirect.hasPathRedirect) {
    p.append(redirect.pathRedirect);
  } else if (redirect.hasPrefixRewrite) {
    appendPrefixRewrite(p, redirect.prefixRewrite, path.substr(std::min(matchedLength, path.size())));
  } else {
    p.append(path);
  }
  location.append(p.view());
  if (!redirect.stripQuery) location.append(query);
  return location;
}

bool headerDroppedByOps(const router::HeaderOps& ops, std::string_view lowerName) {
  for (const std::string& r : ops.remove)
    if (r == lowerName) return true;
  for (const router::HeaderToAdd& a : ops.add)
    if (!a.append && a.name == lowerName) return true;
  return false;
}

void appendAddedHeaders(Buffer& out, const router::HeaderOps& ops) {
  for (const router::HeaderToAdd& a : ops.add) appendHeader(out, a.name, a.value);
}

bool corsOriginAllowed(const router::CorsConfig& cors, std::string_view origin) {
  for (const std::string& o : cors.allowOrigin)
    if (o == "*" || o == origin) return true;
  for (const auto& re : cors.allowOriginRegex)
    if (RE2::FullMatch(re2::StringPiece(origin.data(), origin.size()), *re)) return true;
  return false;
}

bool isCorsPreflight(std::string_view method, const http::HeaderMap& headers) {
  return method == "OPTIONS" && headers.has("origin") &&
         headers.has("access-control-request-method");
}

void appendCorsPreflightHeaders(Buffer& out, const router::CorsConfig& cors,
                                std::string_view origin) {
  appendHeader(out, "access-control-allow-origin", origin);
  if (cors.allowCredentials) appendHeader(out, "access-control-allow-credentials", "true");
  if (!cors.allowMethods.empty()) appendHeader(out, "access-control-allow-methods", cors.allowMethods);
  if (!cors.allowHeaders.empty()) appendHeader(out, "access-control-allow-headers", cors.allowHeaders);
  if (!cors.maxAge.empty()) appendHeader(out, "access-control-max-age", cors.maxAge);
}

void appendCorsResponseHeaders(Buffer& out, const router::CorsConfig& cors,
                               std::string_view origin) {
  appendHeader(out, "access-control-allow-origin", origin);
  if (cors.allowCredentials) appendHeader(out, "access-control-allow-credentials", "true");
  if (!cors.exposeHeaders.empty()) appendHeader(out, "access-control-expose-headers", cors.exposeHeaders);
}

}  // namespace portico::gateway
