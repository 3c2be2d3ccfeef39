// The typed config objects Portico serves, decoded from Gloo v1 YAML (gloo.solo.io/v1 Upstream,
// gateway.solo.io/v1 VirtualService and Gateway). Plain data: no behaviour, no library types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/value.h"

namespace portico::config {

/// Namespace used when metadata.namespace is absent (Gloo installs into gloo-system).
inline constexpr const char* kDefaultNamespace = "gloo-system";

/// Identity of an object in the store. `kind` is the YAML kind ("Upstream", "VirtualService", ...).
struct ObjectKey {
  std::string kind;
  std::string ns;
  std::string name;

  /// "virtualservice default.gloo-system": the prefix of every status reason and log line.
  std::string display() const;
  bool operator==(const ObjectKey&) const = default;
  auto operator<=>(const ObjectKey&) const = default;
};

struct Metadata {
  std::string name;
  std::string ns;
  std::vector<std::pair<std::string, std::string>> labels;
  std::string resourceVersion;
};

/// One YAML document that has apiVersion/kind/metadata, before its spec is decoded.
struct RawObject {
  std::string apiVersion;
  std::string kind;
  Metadata meta;
  Value doc;           ///< the whole document (spec, status, ...)
  std::string source;  ///< "path/file.yaml:LINE", for messages
  /// Gloo 0.x documents only: what convertGloo0x could not convert ("functions: field not
  /// supported by Portico yet"). The typed decoders report these, and only these, when present.
  std::vector<std::string> conversionErrors;

  ObjectKey key() const { return {kind, meta.ns, meta.name}; }
};

struct ResourceRef {
  std::string name;
  std::string ns;  ///< defaults to the referencing object's namespace
  bool operator==(const ResourceRef&) const = default;
};

// ---- VirtualService / RouteTable ---------------------------------------------------------------

/// matchers[].headers[]: name only = present; value = exact; regex = value is an RE2 pattern.
struct HeaderMatcher {
  std::string name;  ///< lowercased
  std::string value;
  bool regex = false;
  bool invertMatch = false;
};

/// matchers[].queryParameters[]: name only = present.
struct QueryParameterMatcher {
  std::string name;
  std::string value;
  bool regex = false;
};

struct Matcher {
  enum class Type { Prefix, Exact, Regex };
  Type type = Type::Prefix;
  std::string value;  ///< the prefix, exact path or RE2 pattern (already validated)
  bool caseSensitive = true;
  std::vector<HeaderMatcher> headers;
  std::vector<QueryParameterMatcher> queryParameters;
  std::vector<std::string> methods;  ///< uppercase; empty = any
};

/// headerManipulation.{request,response}HeadersToAdd[]: {header: {key, value}, append}.
struct HeaderValueOption {
  std::string key;  ///< lowercased
  std::string value;
  bool append = true;  ///< false: replace existing values
};

struct HeaderManipulation {
  std::vector<HeaderValueOption> requestHeadersToAdd;
  std::vector<std::string> requestHeadersToRemove;  ///< lowercased
  std::vector<HeaderValueOption> responseHeadersToAdd;
  std::vector<std::string> responseHeadersToRemove;  ///< lowercased
};

struct RetryPolicy {
  /// Comma-separated Envoy conditions: 5xx, gateway-error, connect-failure, reset,
  /// retriable-4xx (validated by the decoder).
  std::string retryOn = "5xx";
  uint32_t numRetries = 1;
  int64_t perTryTimeoutMs = 0;  ///< 0 = only the route timeout
};

struct CorsPolicy {
  std::vector<std::string> allowOrigin;       ///< exact origins; "*" allowed
  std::vector<std::string> allowOriginRegex;  ///< RE2, full match (validated)
  std::vector<std::string> allowMethods;
  std::vector<std::string> allowHeaders;
  std::vector<std::string> exposeHeaders;
  std::string maxAge;  ///< seconds, as text (sent verbatim in access-control-max-age)
  bool allowCredentials = false;
};

struct FaultAbort {
  double percentage = 0;  ///< 0..100
  uint32_t httpStatus = 0;
};

struct FaultDelay {
  double percentage = 0;  ///< 0..100
  int64_t fixedDelayMs = 0;
};

struct Faults {
  std::optional<FaultAbort> abort;
  std::optional<FaultDelay> delay;
};

struct Shadowing {
  ResourceRef upstream;
  double percentage = 100;  ///< 0..100
  std::string fieldPath;    ///< "...options.shadowing.upstream", for errors
};

struct RegexRewrite {
  std::string pattern;  ///< RE2 (validated)
  std::string substitution;
};

/// options.lbHash.hashPolicies[]: what a ringHash/maglev upstream hashes to pick a host.
struct HashPolicy {
  enum class Type { Header, Cookie, SourceIp };
  Type type = Type::Header;
  std::string name;  ///< header (lowercased) or cookie name
  bool terminal = false;
  int64_t cookieTtlMs = 0;  ///< cookie.ttl: when set, Portico issues the cookie if absent
  std::string cookiePath;
};

// ---- Transformations (options.transformations / stagedTransformations, REST functions) ------

/// transformationTemplate.extractors.<name>: a value taken out of a header or the body by an RE2
/// pattern that must match the whole source.
struct Extractor {
  enum class Mode { Extract, SingleReplace, ReplaceAll };
  std::string name;
  bool fromBody = false;
  std::string header;  ///< lowercased; pseudo-headers (":path", ":method") allowed
  std::string regex;   ///< validated
  uint32_t subgroup = 0;
  std::string replacementText;  ///< SingleReplace / ReplaceAll
  Mode mode = Mode::Extract;
  /// REST function parameters: no match leaves the variable to the JSON body (Gloo 0.x).
  bool optional = false;
};

/// A template's source text and where it came from (templates are compiled by the translator,
/// which reports syntax errors at `fieldPath`).
struct TemplateText {
  std::string text;
  std::string fieldPath;
};

/// mergeJsonKeys.jsonKeys.<key>: {tmpl: {text}, overrideEmpty}.
struct MergeJsonKey {
  std::string key;  ///< a dotted path into the body ("a.b")
  TemplateText tmpl;
  bool overrideEmpty = false;  ///< an empty rendering still replaces the key
};

/// transformationTemplate.dynamicMetadataValues[]: a (namespace, key) value rendered per request
/// and kept on it for the access log (%DYNAMIC_METADATA(NAMESPACE:KEY)%).
struct DynamicMetadataValue {
  std::string metadataNamespace = "io.solo.transformation";
  std::string key;
  TemplateText value;
};

/// transformationTemplate.
struct TransformationTemplate {
  bool advancedTemplates = false;
  std::vector<Extractor> extractors;
  std::vector<std::pair<std::string, TemplateText>> headers;          ///< name lowercased
  std::vector<std::pair<std::string, TemplateText>> headersToAppend;  ///< name lowercased
  std::vector<std::string> headersToRemove;                           ///< lowercased
  enum class Body { Keep, Text, Passthrough, MergeExtractorsToBody, MergeJsonKeys };
  Body body = Body::Keep;  ///< Keep: none of body/passthrough/merge* set
  TemplateText bodyText;
  std::vector<MergeJsonKey> mergeJsonKeys;
  bool parseBodyAsJson = true;  ///< parseBodyBehavior ParseAsJson (default) / DontParse
  bool ignoreErrorOnParse = false;
  bool escapeCharacters = false;
  std::vector<DynamicMetadataValue> dynamicMetadataValues;
  std::string fieldPath;
};

/// A Transformation: a template, or headerBodyTransform (the message becomes JSON
/// {"headers": {...}, "body": "..."}).
struct Transformation {
  enum class Type { Template, HeaderBody };
  Type type = Type::Template;
  TransformationTemplate tmpl;
  /// headerBodyTransform.addRequestMetadata: a request's JSON also gets httpMethod, path,
  /// queryString, queryStringParameters, multiValueQueryStringParameters, multiValueHeaders.
  bool addRequestMetadata = false;
  std::string fieldPath;
  bool restFunction = false;  ///< a REST function's template (its variables are parameters)
};

/// stagedTransformations.<stage>.requestTransforms[]: the first whose matcher matches applies.
struct RequestTransformRule {
  std::optional<Matcher> matcher;  ///< absent = every request
  std::optional<Transformation> request;
  std::optional<Transformation> response;
  bool clearRouteCache = false;  ///< the route is chosen again after `request` was applied
};

/// stagedTransformations.<stage>.responseTransforms[]: used when no requestTransform matched.
struct ResponseTransformRule {
  std::vector<HeaderMatcher> matchers;  ///< response headers (":status" allowed); all must hold
  Transformation response;
};

struct TransformationStage {
  std::vector<RequestTransformRule> requestTransforms;
  std::vector<ResponseTransformRule> responseTransforms;
};

/// options.transformations (one unconditional rule of the regular stage) or
/// options.stagedTransformations.
struct Transformations {
  TransformationStage early;
  TransformationStage regular;
  bool inheritTransformation = false;  ///< a child's rules come before its parent's, not instead
  bool empty() const {
    return early.requestTransforms.empty() && early.responseTransforms.empty() &&
           regular.requestTransforms.empty() && regular.responseTransforms.empty();
  }
};

/// destinationSpec.rest: call one function of the upstream's serviceSpec.rest.
struct RestDestination {
  std::string functionName;
  std::vector<std::pair<std::string, std::string>> headerParameters;  ///< name lowercased -> "{id}"
  std::string pathParameter;  ///< "/users/{id}"; empty = none
  std::string fieldPath;      ///< "...destinationSpec.rest", for errors
};

/// destinationSpec.aws: invoke one Lambda function of an aws upstream (spec.aws.lambdaFunctions).
struct AwsDestination {
  std::string logicalName;
  bool async = false;  ///< invocationStyle ASYNC (x-amz-invocation-type: Event)
  /// Send {headers, body, path, queryString, httpMethod} as the event (Gloo's early
  /// headerBodyTransform plus a path/query/method extraction merged into the body).
  bool requestTransformation = false;
  /// The response body is the "body" field of the function's JSON answer.
  bool responseTransformation = false;
  bool htmlContentTypeHeader = true;  ///< with responseTransformation: content-type text/html
  bool unwrapAsAlb = false;         ///< the answer is an ALB target response (wins over API GW)
  bool unwrapAsApiGateway = false;  ///< the answer is an API Gateway proxy response
  bool wrapAsApiGateway = false;    ///< the request becomes an API Gateway proxy event
  std::string fieldPath;            ///< "...destinationSpec.aws", for errors
};

/// spec.aws.lambdaFunctions[].
struct LambdaFunction {
  std::string logicalName;   ///< what routes name; defaults to lambdaFunctionName[:qualifier]
  std::string functionName;  ///< lambdaFunctionName
  std::string qualifier;     ///< empty = $LATEST
};

/// spec.aws, as the aws plugin decodes it: where the functions live and whose keys sign calls.
struct AwsUpstream {
  std::string region;
  std::string host;  ///< lambda.<region>.amazonaws.com
  ResourceRef secretRef;
  std::string awsAccountId;  ///< set: functions are called by ARN in that account
  std::vector<LambdaFunction> functions;
  std::string fieldPath = "spec.aws";
};

/// Route options (and, for the fields that apply, virtual-host options).
struct RouteOptions {
  std::optional<int64_t> timeoutMs;          ///< options.timeout ("15s", "250ms", "1.5s")
  std::optional<std::string> prefixRewrite;  ///< options.prefixRewrite
  std::optional<RegexRewrite> regexRewrite;
  std::optional<std::string> hostRewrite;
  std::optional<bool> autoHostRewrite;
  std::optional<RetryPolicy> retries;
  std::optional<HeaderManipulation> headerManipulation;
  std::optional<CorsPolicy> cors;
  std::optional<Faults> faults;
  std::optional<Shadowing> shadowing;
  std::vector<HashPolicy> hashPolicies;  ///< lbHash.hashPolicies
  std::optional<Transformations> transformations;  ///< transformations / stagedTransformations
};

/// A destination of routeAction.single / multi / an UpstreamGroup.
struct Destination {
  ResourceRef upstream;
  std::string fieldPath;  ///< "spec.virtualHost.routes[2].routeAction.single.upstream", for errors
  std::optional<RestDestination> rest;  ///< destinationSpec.rest
  std::optional<AwsDestination> aws;    ///< destinationSpec.aws
};

struct WeightedDestination {
  Destination destination;
  uint32_t weight = 0;  ///< > 0 (validated)
  /// options.transformations / stagedTransformations (Gloo's WeightedDestinationOptions).
  std::optional<Transformations> transformations;
};

struct RedirectAction {
  std::string hostRedirect;                  ///< empty = keep the host
  std::optional<std::string> pathRedirect;   ///< whole path
  std::optional<std::string> prefixRewrite;  ///< replaces the matched prefix
  uint32_t responseCode = 301;  ///< MOVED_PERMANENTLY 301, FOUND 302, SEE_OTHER 303,
                                ///< TEMPORARY_REDIRECT 307, PERMANENT_REDIRECT 308
  bool httpsRedirect = false;
  bool stripQuery = false;
};

struct DirectResponseAction {
  uint32_t status = 200;
  std::string body;
};

/// delegateAction: `ref`/`name` (one RouteTable) or `selector` (labels, namespaces).
struct DelegateAction {
  bool bySelector = false;
  ResourceRef ref;
  std::vector<std::pair<std::string, std::string>> selectorLabels;
  std::vector<std::string> selectorNamespaces;  ///< empty = the delegating object's namespace
  std::string fieldPath;  ///< "...routes[1].delegateAction", for errors
};

struct RouteAction {
  enum class Type { Single, Multi, UpstreamGroup, Redirect, DirectResponse, Delegate };
  Type type = Type::Single;
  ResourceRef upstream;   ///< Single: routeAction.single.upstream
  std::optional<RestDestination> rest;  ///< Single: routeAction.single.destinationSpec.rest
  std::optional<AwsDestination> aws;    ///< Single: routeAction.single.destinationSpec.aws
  std::string fieldPath;  ///< Single: "...routeAction.single.upstream"; others: the action's path
  std::vector<WeightedDestination> multi;  ///< Multi: routeAction.multi.destinations
  ResourceRef upstreamGroup;               ///< UpstreamGroup: routeAction.upstreamGroup
  RedirectAction redirect;
  DirectResponseAction directResponse;
  DelegateAction delegate;
};

struct Route {
  std::string name;
  std::vector<Matcher> matchers;  ///< empty = prefix "/"
  RouteAction action;
  RouteOptions options;
  std::string fieldPath;  ///< "spec.virtualHost.routes[2]" / "spec.routes[0]", for errors
};

/// VirtualService.sslConfig: the certificate an HTTPS gateway serves for this virtual service.
struct SslConfig {
  std::optional<ResourceRef> secretRef;  ///< a Secret with tls{certChain, privateKey, rootCa}
  /// sslFiles: PEM file paths (relative ones are relative to the gateway's working directory).
  std::string tlsCert;
  std::string tlsKey;
  std::string rootCa;  ///< sslFiles.rootCa; non-empty = client certificates required
  /// SNI names this certificate answers; empty = the virtual service's domains (ports dropped).
  std::vector<std::string> sniDomains;
  std::vector<std::string> verifySubjectAltName;  ///< client certificate SANs accepted
};

struct VirtualService {
  Metadata meta;
  std::vector<std::string> domains;  ///< empty = ["*"]
  std::vector<Route> routes;
  /// virtualHost.options: headerManipulation, cors, retries apply to every route unless the
  /// route sets its own.
  RouteOptions options;
  /// virtualHost.options.sortRoutes (Portico extension): most specific route first.
  bool sortRoutes = false;
  /// spec.sslConfig: served only by ssl gateways (and then only with it), as in Gloo.
  std::optional<SslConfig> sslConfig;
};

/// gateway.solo.io/v1 RouteTable: routes a VirtualService delegates to.
struct RouteTable {
  Metadata meta;
  std::vector<Route> routes;
  int32_t weight = 0;  ///< tables selected together are concatenated by ascending weight
};

/// gloo.solo.io/v1 UpstreamGroup: a reusable weighted destination list.
struct UpstreamGroup {
  Metadata meta;
  std::vector<WeightedDestination> destinations;
};

// ---- Gateway --------------------------------------------------------------------------------

/// One spec.options.accessLoggingService.accessLog[] entry (Gloo's AccessLog with a fileSink).
struct AccessLogSpec {
  std::string path;          ///< fileSink.path ("/dev/stdout" works)
  std::string stringFormat;  ///< fileSink.stringFormat; empty = Envoy's default format
  std::vector<std::pair<std::string, std::string>> jsonFormat;  ///< fileSink.jsonFormat
  bool json = false;         ///< jsonFormat was given
  std::string fieldPath;     ///< "spec.options.accessLoggingService.accessLog[0].fileSink"
};

struct Gateway {
  Metadata meta;
  /// spec.options.accessLoggingService.accessLog (empty: no access log, or --access-log).
  std::vector<AccessLogSpec> accessLogs;
  std::string bindAddress = "::";
  uint16_t bindPort = 8080;
  /// httpGateway.virtualServices; empty with no selector/namespaces = every virtual service.
  std::vector<ResourceRef> virtualServices;
  /// httpGateway.virtualServiceSelector (labels that must all match).
  std::vector<std::pair<std::string, std::string>> virtualServiceSelector;
  /// httpGateway.virtualServiceNamespaces ("*" = all).
  std::vector<std::string> virtualServiceNamespaces;
  /// spec.ssl: HTTPS, serving only virtual services with sslConfig (plain: only those without).
  bool ssl = false;
};

// ---- Secret ---------------------------------------------------------------------------------

/// gloo.solo.io/v1 Secret, or a Kubernetes v1 Secret (kubernetes.io/tls, or Opaque with AWS
/// keys). Values are credentials: never logged, dumped or put in a status.
struct Secret {
  enum class Type { Tls, Aws, Header, Extensions };
  Metadata meta;
  Type type = Type::Tls;
  // tls (Kubernetes: data tls.crt, tls.key, ca.crt)
  std::string certChain;
  std::string privateKey;
  std::string rootCa;
  // aws (Kubernetes: data aws_access_key_id, aws_secret_access_key, aws_session_token)
  std::string accessKey;
  std::string secretKey;
  std::string sessionToken;
  /// header.headers, or extensions.configs flattened to name → JSON text.
  std::vector<std::pair<std::string, std::string>> values;
};

/// "tls", "aws", "header", "extensions".
const char* toString(Secret::Type t);

// ---- Upstream -------------------------------------------------------------------------------

/// One entry of spec.healthChecks (Envoy's HealthCheck as Gloo exposes it).
struct HealthCheck {
  enum class Type { Http, Tcp };
  Type type = Type::Http;
  int64_t timeoutMs = 1000;   ///< timeout (required by Gloo)
  int64_t intervalMs = 5000;  ///< interval (required by Gloo)
  int64_t intervalJitterMs = 0;
  uint32_t intervalJitterPercent = 0;
  int64_t initialJitterMs = 0;
  uint32_t unhealthyThreshold = 3;
  uint32_t healthyThreshold = 2;
  // httpHealthCheck
  std::string httpPath = "/";
  std::string httpHost;  ///< empty: the upstream host's address
  /// expectedStatuses[{start, end}]: [start, end); empty = 200 only.
  std::vector<std::pair<uint32_t, uint32_t>> expectedStatuses;
  // tcpHealthCheck: send/receive payloads ({text: hex}), already decoded to bytes
  std::string tcpSend;
  std::vector<std::string> tcpReceive;
};

/// spec.outlierDetection (Envoy's OutlierDetection; defaults are Envoy's).
struct OutlierDetection {
  uint32_t consecutive5xx = 5;
  uint32_t consecutiveGatewayFailure = 5;
  uint32_t enforcingConsecutive5xx = 100;            ///< percent
  uint32_t enforcingConsecutiveGatewayFailure = 0;   ///< percent
  int64_t intervalMs = 10000;
  int64_t baseEjectionTimeMs = 30000;
  int64_t maxEjectionTimeMs = 300000;
  uint32_t maxEjectionPercent = 10;
  uint32_t enforcingSuccessRate = 100;  ///< percent
  uint32_t successRateMinimumHosts = 5;
  uint32_t successRateRequestVolume = 100;
  uint32_t successRateStdevFactor = 1900;  ///< divided by 1000
};

/// spec.circuitBreakers (Envoy's defaults).
struct CircuitBreakers {
  uint32_t maxConnections = 1024;
  uint32_t maxPendingRequests = 1024;
  uint32_t maxRequests = 1024;
  uint32_t maxRetries = 3;
};

/// spec.loadBalancerConfig.
struct LoadBalancerConfig {
  enum class Policy { RoundRobin, LeastRequest, Random, RingHash, Maglev };
  Policy policy = Policy::RoundRobin;
  uint32_t choiceCount = 2;           ///< leastRequest.choiceCount
  uint64_t minimumRingSize = 1024;    ///< ringHash.ringHashConfig.minimumRingSize
  uint64_t maximumRingSize = 8388608; ///< ringHash.ringHashConfig.maximumRingSize
  double healthyPanicThreshold = 50;  ///< percent; 0 disables panic mode
};

struct TcpKeepalive {
  uint32_t probes = 0;      ///< keepaliveProbes; 0 = system default
  int64_t timeMs = 0;       ///< keepaliveTime
  int64_t intervalMs = 0;   ///< keepaliveInterval
};

/// Upstream.sslConfig (Gloo's UpstreamSslConfig): TLS to the upstream's hosts.
struct UpstreamSslConfig {
  std::optional<ResourceRef> secretRef;  ///< tls{certChain, privateKey, rootCa}; any part optional
  /// sslFiles: PEM paths; tlsCert + tlsKey = client certificate, rootCa = verify the server.
  std::string tlsCert;
  std::string tlsKey;
  std::string rootCa;
  std::string sni;  ///< empty: the host's sniAddr, else its hostname, else none
  std::vector<std::string> verifySubjectAltName;  ///< server SANs accepted (needs a root CA)
};

struct Upstream {
  Metadata meta;
  /// spec.sslConfig: connect with TLS.
  std::optional<UpstreamSslConfig> sslConfig;
  /// The oneof field that names the upstream type ("static", later "aws", "kube", ...).
  std::string type;
  /// spec.<type>: decoded by the plugin registered for `type`.
  Value typeSpec;
  /// connectionConfig.connectTimeout; Gloo's default is 5 s.
  int64_t connectTimeoutMs = 5000;
  uint32_t maxRequestsPerConnection = 0;  ///< connectionConfig; 0 = unlimited
  std::optional<TcpKeepalive> tcpKeepalive;  ///< connectionConfig.tcpKeepalive
  uint32_t perConnectionBufferLimitBytes = 0;  ///< connectionConfig; 0 = Portico's default
  /// spec.useHttp2: HTTP/2 to the hosts (h2c, or ALPN h2 over TLS), multiplexed; gRPC needs it.
  bool useHttp2 = false;
  LoadBalancerConfig loadBalancer;
  std::vector<HealthCheck> healthChecks;
  std::optional<OutlierDetection> outlierDetection;
  CircuitBreakers circuitBreakers;
  /// spec.<type>.serviceSpec.rest.transformations: function name -> request template.
  std::vector<std::pair<std::string, TransformationTemplate>> restFunctions;
  /// spec.<type>.serviceSpec is set (any kind): function discovery does not probe such an
  /// upstream unless it has swaggerInfo.
  bool hasServiceSpec = false;
  /// serviceSpec.rest.swaggerInfo: where the OpenAPI document is (exactly one is set).
  struct SwaggerInfo {
    std::string url;         ///< swaggerInfo.url (http://...)
    std::string inlineDoc;   ///< swaggerInfo.inline (JSON or YAML text)
    std::string fieldPath;   ///< "spec.static.serviceSpec.rest.swaggerInfo"
  };
  std::optional<SwaggerInfo> swaggerInfo;
};

}  // namespace portico::config
