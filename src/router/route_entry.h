// RouteEntry: one compiled route as the data plane executes it — what it matches (path,
// headers, query, method) and what it does (cluster(s), redirect, direct response, options).
// Built by the controller from config objects; immutable inside a Snapshot.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace re2 {
class RE2;
}

namespace portico::router {

/// A header condition: presence (value empty, no regex), exact value, or RE2 full match.
struct HeaderMatch {
  std::string name;  ///< lowercase
  std::string value;
  std::shared_ptr<const re2::RE2> regex;
  bool invert = false;
};

/// A query-parameter condition: presence, exact (decoded) value, or RE2 full match.
struct QueryMatch {
  std::string name;
  std::string value;
  std::shared_ptr<const re2::RE2> regex;
};

struct PathMatcher {
  enum class Type { Prefix, Exact, Regex };
  Type type = Type::Prefix;
  std::string value;  ///< lowercased when !caseSensitive (prefix/exact)
  bool caseSensitive = true;
  std::shared_ptr<const re2::RE2> regex;  ///< Regex only; full match on the path
  std::vector<HeaderMatch> headers;       ///< all must hold
  std::vector<QueryMatch> queryParameters;  ///< all must hold
  std::vector<std::string> methods;       ///< uppercase; empty = any
};

class RouteFilterConfig;

struct WeightedCluster {
  uint32_t clusterIndex = 0;
  uint32_t weight = 0;
  /// This destination's transformations (its own options or REST function), replacing the
  /// route's when set.
  std::shared_ptr<const RouteFilterConfig> transformations;
};

struct HeaderToAdd {
  std::string name;  ///< lowercase
  std::string value;
  bool append = true;  ///< false: replaces the existing values
};

struct HeaderOps {
  std::vector<HeaderToAdd> add;
  std::vector<std::string> remove;  ///< lowercase
  bool empty() const { return add.empty() && remove.empty(); }
};

struct RetryConfig {
  uint32_t numRetries = 1;
  int64_t perTryTimeoutMs = 0;  ///< 0 = none (the route timeout still applies)
  bool on5xx = false;
  bool onGatewayError = false;  ///< 502, 503, 504
  bool onConnectFailure = false;
  bool onReset = false;
  bool onRetriable4xx = false;  ///< 409
};

struct CorsConfig {
  std::vector<std::string> allowOrigin;  ///< exact; "*" = any
  std::vector<std::shared_ptr<const re2::RE2>> allowOriginRegex;
  std::string allowMethods;   ///< joined with ","
  std::string allowHeaders;   ///< joined with ","
  std::string exposeHeaders;  ///< joined with ","
  std::string maxAge;
  bool allowCredentials = false;
};

struct FaultConfig {
  uint32_t abortPerMillion = 0;  ///< share of requests aborted, in millionths
  uint32_t abortStatus = 0;
  uint32_t delayPerMillion = 0;
  int64_t delayMs = 0;
};

struct ShadowConfig {
  uint32_t clusterIndex = 0;
  uint32_t perMillion = 1000000;
};

/// lbHash: what a ringHash/maglev upstream hashes to pick a host (first producing policy wins
/// when terminal; otherwise the hashes of all producing policies are combined).
struct HashPolicyConfig {
  enum class Type { Header, Cookie, SourceIp };
  Type type = Type::Header;
  std::string name;  ///< header (lowercase) or cookie name
  bool terminal = false;
  int64_t cookieTtlMs = 0;  ///< > 0: the gateway issues the cookie when the request has none
  std::string cookiePath;
};

struct RedirectConfig {
  std::string hostRedirect;  ///< empty = keep
  bool hasPathRedirect = false;
  std::string pathRedirect;
  bool hasPrefixRewrite = false;
  std::string prefixRewrite;
  uint32_t responseCode = 301;
  bool httpsRedirect = false;
  bool stripQuery = false;
};

/// Per-route config of an HTTP filter (src/filters), opaque to the router: the filter that
/// owns it casts it back (Envoy's per-route filter config).
class RouteFilterConfig {
public:
  virtual ~RouteFilterConfig() = default;
};

struct RouteEntry {
  std::string name;                   ///< "default.gloo-system routes[0]" for logs
  std::vector<PathMatcher> matchers;  ///< any of them; never empty

  enum class Action { Cluster, WeightedClusters, Redirect, DirectResponse };
  Action action = Action::Cluster;
  uint32_t clusterIndex = 0;  ///< Cluster: index into Snapshot::clusters
  std::vector<WeightedCluster> weightedClusters;  ///< WeightedClusters
  uint32_t totalWeight = 0;
  RedirectConfig redirect;
  uint32_t directStatus = 200;
  std::string directBody;

  // ---- options ----
  int64_t timeoutMs = 15000;  ///< options.timeout; 0 = none
  bool hasPrefixRewrite = false;
  std::string prefixRewrite;
  std::shared_ptr<const re2::RE2> regexRewrite;
  std::string regexSubstitution;
  std::string hostRewrite;  ///< empty = keep the Host header
  bool autoHostRewrite = false;  ///< Host = the chosen upstream host
  std::optional<RetryConfig> retries;
  HeaderOps requestHeaders;
  HeaderOps responseHeaders;
  std::optional<CorsConfig> cors;
  std::optional<FaultConfig> faults;
  std::optional<ShadowConfig> shadow;
  std::vector<HashPolicyConfig> hashPolicies;
  /// Transformations (filters::RouteTransformations): staged rules and the REST function.
  std::shared_ptr<const RouteFilterConfig> transformations;
};

}  // namespace portico::router
