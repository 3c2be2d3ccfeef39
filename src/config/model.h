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

  ObjectKey key() const { return {kind, meta.ns, meta.name}; }
};

struct ResourceRef {
  std::string name;
  std::string ns;  ///< defaults to the referencing object's namespace
  bool operator==(const ResourceRef&) const = default;
};

// ---- VirtualService -------------------------------------------------------------------------

struct Matcher {
  enum class Type { Prefix, Exact, Regex };
  Type type = Type::Prefix;
  std::string value;  ///< the prefix, exact path or RE2 pattern (already validated)
  bool caseSensitive = true;
};

struct RouteOptions {
  std::optional<int64_t> timeoutMs;        ///< options.timeout ("15s", "250ms", "1.5s")
  std::optional<std::string> prefixRewrite;  ///< options.prefixRewrite
};

struct RouteAction {
  ResourceRef upstream;    ///< routeAction.single.upstream
  std::string fieldPath;   ///< "spec.virtualHost.routes[2].routeAction.single.upstream", for errors
};

struct Route {
  std::string name;
  std::vector<Matcher> matchers;  ///< empty = prefix "/"
  RouteAction action;
  RouteOptions options;
};

struct VirtualService {
  Metadata meta;
  std::vector<std::string> domains;  ///< empty = ["*"]
  std::vector<Route> routes;
};

// ---- Gateway --------------------------------------------------------------------------------

struct Gateway {
  Metadata meta;
  std::string bindAddress = "::";
  uint16_t bindPort = 8080;
  /// httpGateway.virtualServices; empty with no selector/namespaces = every virtual service.
  std::vector<ResourceRef> virtualServices;
  /// httpGateway.virtualServiceSelector (labels that must all match).
  std::vector<std::pair<std::string, std::string>> virtualServiceSelector;
  /// httpGateway.virtualServiceNamespaces ("*" = all).
  std::vector<std::string> virtualServiceNamespaces;
};

// ---- Upstream -------------------------------------------------------------------------------

struct Upstream {
  Metadata meta;
  /// The oneof field that names the upstream type ("static", later "aws", "kube", ...).
  std::string type;
  /// spec.<type>: decoded by the plugin registered for `type`.
  Value typeSpec;
  /// connectionConfig.connectTimeout; Gloo's default is 5 s.
  int64_t connectTimeoutMs = 5000;
};

}  // namespace portico::config
