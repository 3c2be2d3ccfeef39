#include "controller/route_translator.h"

#include <algorithm>
#include <optional>
#include <re2/re2.h>
#include <set>

#include "filters/route_transformations.h"
#include "router/route_conditions.h"

namespace portico::controller {

using config::Errors;
using config::ObjectKey;

namespace {

ObjectKey upstreamKey(const config::ResourceRef& r) { return {"Upstream", r.ns, r.name}; }

std::shared_ptr<const re2::RE2> compile(const std::string& pattern, bool caseSensitive = true) {
  RE2::Options opts;
  opts.set_case_sensitive(caseSensitive);
  opts.set_log_errors(false);
  return std::make_shared<RE2>(pattern, opts);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += ",";
    out += i;
  }
  return out;
}

uint32_t perMillion(double percentage) {
  if (percentage <= 0) return 0;
  if (percentage >= 100) return 1000000;
  return static_cast<uint32_t>(percentage * 10000 + 0.5);
}

void checkDestination(const config::Destination& d, const RouteContext& ctx, Errors& errors) {
  if (!ctx.clusterIndex.count(upstreamKey(d.upstream)))
    errors.add(d.fieldPath, "upstream \"" + d.upstream.name + "\" not found in namespace \"" +
                                d.upstream.ns + "\"");
}

/// Tables a delegateAction selects, in concatenation order.
std::vector<ObjectKey> selectTables(const config::DelegateAction& d, const std::string& ownerNs,
                                    const RouteContext& ctx) {
  std::vector<std::pair<int32_t, ObjectKey>> picked;
  if (!d.bySelector) {
    ObjectKey k{"RouteTable", d.ref.ns, d.ref.name};
    if (ctx.routeTables.count(k)) return {k};
    return {};
  }
  for (const auto& [key, table] : ctx.routeTables) {
    bool nsOk = d.selectorNamespaces.empty() ? key.ns == ownerNs
                                             : namespaceListed(d.selectorNamespaces, key.ns);
    if (nsOk && labelsMatch(d.selectorLabels, table->meta.labels))
      picked.emplace_back(table->weight, key);
  }
  std::stable_sort(picked.begin(), picked.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<ObjectKey> out;
  for (auto& p : picked) out.push_back(p.second);
  return out;
}

/// The path prefix a delegating route requires of its children ("" when none is required).
std::string delegatingPrefix(const config::Route& route) {
  for (const auto& m : route.matchers)
    if (m.type == config::Matcher::Type::Prefix) return m.value;
  return route.matchers.empty() ? "/" : "";
}

void flattenInto(const std::vector<config::Route>& routes, const std::string& ownerNs,
                 const std::string& originPrefix, const config::RouteOptions& parentOptions,
                 const std::string& requiredPrefix, const RouteContext& ctx,
                 std::vector<std::string>& chain, std::vector<FlatRoute>& out,
                 const std::string& errorPath, Errors& errors) {
  for (size_t i = 0; i < routes.size(); ++i) {
    const config::Route& r = routes[i];
    config::RouteOptions options = inheritOptions(r.options, parentOptions);
    std::string origin = originPrefix + " routes[" + std::to_string(i) + "]";
    if (!requiredPrefix.empty()) {
      for (size_t m = 0; m < r.matchers.size(); ++m) {
        const auto& matcher = r.matchers[m];
        if (matcher.type != config::Matcher::Type::Regex && !matcher.value.starts_with(requiredPrefix))
          errors.add(errorPath, origin + ".matchers[" + std::to_string(m) + "]: path \"" +
                                    matcher.value + "\" does not start with the delegating prefix \"" +
                                    requiredPrefix + "\"");
      }
    }
    if (r.action.type != config::RouteAction::Type::Delegate) {
      out.push_back({&r, options, origin});
      continue;
    }
    const config::DelegateAction& d = r.action.delegate;
    std::string path = errorPath.empty() ? d.fieldPath : errorPath;
    std::vector<ObjectKey> tables = selectTables(d, ownerNs, ctx);
    if (tables.empty() && !d.bySelector) {
      errors.add(path, "route table \"" + d.ref.name + "\" not found in namespace \"" + d.ref.ns + "\"");
      continue;
    }
    std::string prefix = delegatingPrefix(r);
    for (const ObjectKey& t : tables) {
      std::string name = t.display();
      if (std::find(chain.begin(), chain.end(), name) != chain.end()) {
        std::string cycle;
        for (const auto& c : chain) cycle += c + " → ";
        errors.add(path, "delegation cycle: " + cycle + name);
        continue;
      }
      chain.push_back(name);
      flattenInto(ctx.routeTables.at(t)->routes, t.ns, name, options, prefix, ctx, chain, out, path,
                  errors);
      chain.pop_back();
    }
  }
}

router::HeaderOps translateHeaderOps(const std::vector<config::HeaderValueOption>& add,
                                     const std::vector<std::string>& remove) {
  router::HeaderOps ops;
  for (const auto& a : add) ops.add.push_back({a.key, a.value, a.append});
  ops.remove = remove;
  return ops;
}

}  // namespace

bool labelsMatch(const std::vector<std::pair<std::string, std::string>>& selector,
                 const std::vector<std::pair<std::string, std::string>>& labels) {
  for (const auto& [k, v] : selector) {
    bool found = false;
    for (const auto& [lk, lv] : labels) found |= lk == k && lv == v;
    if (!found) return false;
  }
  return true;
}

bool namespaceListed(const std::vector<std::string>& namespaces, const std::string& ns) {
  return std::find(namespaces.begin(), namespaces.end(), "*") != namespaces.end() ||
         std::find(namespaces.begin(), namespaces.end(), ns) != namespaces.end();
}

config::RouteOptions inheritOptions(const config::RouteOptions& own,
                                    const config::RouteOptions& parent) {
  config::RouteOptions o = own;
  if (!o.timeoutMs) o.timeoutMs = parent.timeoutMs;
  if (!o.prefixRewrite && !o.regexRewrite) {
    o.prefixRewrite = parent.prefixRewrite;
    o.regexRewrite = parent.regexRewrite;
  }
  if (!o.hostRewrite && !o.autoHostRewrite) {
    o.hostRewrite = parent.hostRewrite;
    o.autoHostRewrite = parent.autoHostRewrite;
  }
  if (!o.retries) o.retries = parent.retries;
  if (!o.headerManipulation) o.headerManipulation = parent.headerManipulation;
  if (!o.cors) o.cors = parent.cors;
  if (!o.faults) o.faults = parent.faults;
  if (!o.shadowing) o.shadowing = parent.shadowing;
  if (o.hashPolicies.empty()) o.hashPolicies = parent.hashPolicies;
  if (!o.transformations) {
    o.transformations = parent.transformations;
  } else if (o.transformations->inheritTransformation && parent.transformations) {
    // Gloo: with inheritTransformation the parent's rules follow the child's in each stage.
    auto append = [](config::TransformationStage& to, const config::TransformationStage& from) {
      to.requestTransforms.insert(to.requestTransforms.end(), from.requestTransforms.begin(),
                                  from.requestTransforms.end());
      to.responseTransforms.insert(to.responseTransforms.end(), from.responseTransforms.begin(),
                                   from.responseTransforms.end());
    };
    append(o.transformations->early, parent.transformations->early);
    append(o.transformations->regular, parent.transformations->regular);
  }
  return o;
}

void checkRouteRef(const config::Route& r, const config::RouteOptions& options,
                   const RouteContext& ctx, Errors& errors) {
  const config::RouteAction& a = r.action;
  switch (a.type) {
  case config::RouteAction::Type::Single:
    checkDestination({a.upstream, a.fieldPath}, ctx, errors);
    break;
  case config::RouteAction::Type::Multi:
    for (const auto& wd : a.multi) checkDestination(wd.destination, ctx, errors);
    break;
  case config::RouteAction::Type::UpstreamGroup: {
    auto group = ctx.upstreamGroups.find({"UpstreamGroup", a.upstreamGroup.ns, a.upstreamGroup.name});
    if (group == ctx.upstreamGroups.end()) {
      errors.add(a.fieldPath, "upstream group \"" + a.upstreamGroup.name +
                                  "\" not found in namespace \"" + a.upstreamGroup.ns + "\"");
    } else {
      for (const auto& wd : group->second->destinations) {
        if (!ctx.clusterIndex.count(upstreamKey(wd.destination.upstream)))
          errors.add(a.fieldPath, "upstream group \"" + a.upstreamGroup.name + "\": upstream \"" +
                                      wd.destination.upstream.name + "\" not found");
      }
    }
    break;
  }
  default:
    break;
  }
  if (options.shadowing)
    checkDestination({options.shadowing->upstream, options.shadowing->fieldPath}, ctx, errors);
}

void checkRouteRefs(const std::vector<config::Route>& routes, const RouteContext& ctx,
                    Errors& errors) {
  for (const config::Route& r : routes) checkRouteRef(r, r.options, ctx, errors);
}

std::vector<FlatRoute> flattenRoutes(const config::VirtualService& vs, const ObjectKey& vsKey,
                                     const RouteContext& ctx, Errors& errors) {
  std::vector<FlatRoute> out;
  std::vector<std::string> chain{vsKey.display()};
  flattenInto(vs.routes, vsKey.ns, vsKey.display(), vs.options, "", ctx, chain, out, "", errors);
  // Gloo 0.x had no route tables: every route of a converted virtual service is its own.
  if (ctx.gloo0xVirtualServices.count(vsKey))
    for (FlatRoute& f : out) f.fromGloo0x = true;
  return out;
}

bool convertedFromGloo0x(const config::RawObject& raw) {
  const config::Value* meta = raw.doc.find("metadata");
  const config::Value* annotations = meta ? meta->find("annotations") : nullptr;
  return annotations && annotations->find(kGloo0xAnnotation);
}

namespace {

/// The REST function `rest` names on `upstream`; reports an unknown name (with the known ones).
const config::TransformationTemplate* findRestFunction(const config::ResourceRef& upstream,
                                                       const config::RestDestination& rest,
                                                       const RouteContext& ctx, Errors& errors) {
  auto fns = ctx.restFunctions.find(upstreamKey(upstream));
  if (fns == ctx.restFunctions.end()) return nullptr;  // a missing upstream is reported elsewhere
  std::string known;
  for (const auto& [name, t] : *fns->second) {
    if (name == rest.functionName) return &t;
    known += (known.empty() ? "" : ", ") + name;
  }
  errors.add(rest.fieldPath + ".functionName",
             "function \"" + rest.functionName + "\" not found on upstream \"" + upstream.name +
                 "\"" + (known.empty() ? " (it has no REST functions)" : " (it has: " + known + ")"));
  return nullptr;
}

/// The Lambda call `aws` names on `upstream`: the function by logical name, signed with the
/// keys of the upstream's secretRef. nullopt (reported) when something is missing. `nameField`:
/// the field under aws.fieldPath that holds the name, for errors.
std::optional<filters::LambdaCall> findLambda(const config::ResourceRef& upstream,
                                              const config::AwsDestination& aws,
                                              const RouteContext& ctx, Errors& errors,
                                              std::string_view nameField = "logicalName") {
  auto it = ctx.awsUpstreams.find(upstreamKey(upstream));
  if (it == ctx.awsUpstreams.end() || !it->second) {
    if (ctx.clusterIndex.count(upstreamKey(upstream)))  // a missing one is reported elsewhere
      errors.add(aws.fieldPath, "upstream \"" + upstream.name + "\" is not an aws upstream");
    return std::nullopt;
  }
  const config::AwsUpstream& up = *it->second;
  const config::LambdaFunction* fn = nullptr;
  std::string known;
  for (const config::LambdaFunction& f : up.functions) {
    if (f.logicalName == aws.logicalName) fn = &f;
    known += (known.empty() ? "" : ", ") + f.logicalName;
  }
  if (!fn) {
    errors.add(aws.fieldPath + "." + std::string(nameField),
               "function \"" + aws.logicalName + "\" not found on upstream \"" + upstream.name +
                   "\"" + (known.empty() ? " (its spec.aws.lambdaFunctions is empty)" : " (it has: " + known + ")"));
    return std::nullopt;
  }
  std::string secretPath = "upstream \"" + upstream.name + "\" " + up.fieldPath + ".secretRef: ";
  const config::Secret* secret = nullptr;
  if (ctx.secrets) {
    auto s = ctx.secrets->find({"Secret", up.secretRef.ns, up.secretRef.name});
    if (s != ctx.secrets->end()) secret = &s->second;
  }
  if (!secret) {
    errors.add(aws.fieldPath, secretPath + "secret \"" + up.secretRef.name +
                                  "\" not found in namespace \"" + up.secretRef.ns + "\"");
    return std::nullopt;
  }
  if (secret->type != config::Secret::Type::Aws || secret->accessKey.empty() ||
      secret->secretKey.empty()) {
    errors.add(aws.fieldPath, secretPath + "secret \"" + up.secretRef.name +
                                  "\" is not an aws secret with an access key and a secret key");
    return std::nullopt;
  }
  filters::LambdaCall call;
  call.region = up.region;
  call.host = up.host;
  call.credentials = {secret->accessKey, secret->secretKey, secret->sessionToken};
  call.functionName = fn->functionName;
  if (!up.awsAccountId.empty()) {
    std::string partition = up.region.starts_with("cn-") ? "aws-cn" : "aws";
    call.functionName = "arn:" + partition + ":lambda:" + up.region + ":" + up.awsAccountId +
                        ":function:" + fn->functionName;
  }
  call.qualifier = fn->qualifier;
  call.destination = aws;
  return call;
}

/// A Gloo 0.x route names a function without its kind, which is the target upstream's type:
/// on an aws upstream, the REST function a converted 0.x destination names is the Lambda
/// function of that logical name (what `portico convert` writes when the upstream is in the
/// same file). nullopt when this does not apply. Modern REST destinations stay REST.
std::optional<config::AwsDestination> gloo0xLambda(bool fromGloo0x,
                                                   const config::ResourceRef& upstream,
                                                   const config::RestDestination* rest,
                                                   const RouteContext& ctx, Errors& errors) {
  if (!fromGloo0x || !rest || !ctx.awsUpstreams.count(upstreamKey(upstream))) return std::nullopt;
  if (!rest->headerParameters.empty() || !rest->pathParameter.empty())
    errors.add(rest->fieldPath, "extensions.parameters apply to REST functions, not to the "
                                "Lambda function of upstream \"" + upstream.name + "\"");
  config::AwsDestination aws;  // Gloo 0.x's aws plugin: a plain synchronous invoke
  aws.logicalName = rest->functionName;
  aws.fieldPath = rest->fieldPath;
  return aws;
}

/// A route to an aws upstream must name its function: Gloo answers such a request 500 at run
/// time ("no function present for AWS upstream"); here it is a config error.
bool needsLambdaDestination(const config::ResourceRef& upstream, const config::AwsDestination* aws,
                            const std::string& fieldPath, const RouteContext& ctx, Errors& errors) {
  if (aws || !ctx.awsUpstreams.count(upstreamKey(upstream))) return false;
  errors.add(fieldPath, "upstream \"" + upstream.name +
                            "\" is an aws upstream: the destination needs destinationSpec.aws");
  return true;
}

/// A weighted destination's own transformations: its options (the route's rules appended when
/// it inherits) and its REST function; nullptr when it has neither (the route's apply).
std::shared_ptr<const router::RouteFilterConfig> compileWeighted(
    const config::WeightedDestination& wd, const config::Transformations* routeRules,
    bool fromGloo0x, const RouteContext& ctx, Errors& errors) {
  const config::RestDestination* rest = wd.destination.rest ? &*wd.destination.rest : nullptr;
  const config::AwsDestination* aws = wd.destination.aws ? &*wd.destination.aws : nullptr;
  std::optional<config::AwsDestination> lambda0x =
      gloo0xLambda(fromGloo0x, wd.destination.upstream, rest, ctx, errors);
  if (lambda0x) {
    aws = &*lambda0x;
    rest = nullptr;
  }
  if (needsLambdaDestination(wd.destination.upstream, aws, wd.destination.fieldPath, ctx, errors))
    return nullptr;
  if (!wd.transformations && !rest && !aws) return nullptr;
  const config::TransformationTemplate* function =
      rest ? findRestFunction(wd.destination.upstream, *rest, ctx, errors) : nullptr;
  if (rest && !function) return nullptr;
  std::optional<filters::LambdaCall> lambda;
  if (aws) {
    lambda = findLambda(wd.destination.upstream, *aws, ctx, errors,
                        lambda0x ? "functionName" : "logicalName");
    if (!lambda) return nullptr;
  }
  config::Transformations rules;
  if (wd.transformations) {
    rules = *wd.transformations;
    if (rules.inheritTransformation && routeRules) {
      for (auto [to, from] : {std::pair{&rules.early, &routeRules->early},
                              std::pair{&rules.regular, &routeRules->regular}}) {
        to->requestTransforms.insert(to->requestTransforms.end(), from->requestTransforms.begin(),
                                     from->requestTransforms.end());
        to->responseTransforms.insert(to->responseTransforms.end(),
                                      from->responseTransforms.begin(),
                                      from->responseTransforms.end());
      }
    }
  } else if (routeRules) {
    rules = *routeRules;
  }
  return filters::RouteTransformations::compile(rules.empty() ? nullptr : &rules, function, rest,
                                                errors, lambda ? &*lambda : nullptr);
}

}  // namespace

void compileTransformations(FlatRoute& flat, const RouteContext& ctx, Errors& errors) {
  const config::Route& r = *flat.route;
  const config::Transformations* staged =
      flat.options.transformations && !flat.options.transformations->empty()
          ? &*flat.options.transformations
          : nullptr;
  const config::RouteAction& a = r.action;
  const std::vector<config::WeightedDestination>* weighted = nullptr;
  if (a.type == config::RouteAction::Type::Multi) {
    weighted = &a.multi;
  } else if (a.type == config::RouteAction::Type::UpstreamGroup) {
    auto group = ctx.upstreamGroups.find({"UpstreamGroup", a.upstreamGroup.ns, a.upstreamGroup.name});
    if (group != ctx.upstreamGroups.end()) weighted = &group->second->destinations;
  }
  if (weighted) {
    for (const config::WeightedDestination& wd : *weighted)
      flat.weightedTransformations.push_back(
          compileWeighted(wd, staged, flat.fromGloo0x, ctx, errors));
  }
  const bool single = a.type == config::RouteAction::Type::Single;
  const config::RestDestination* rest = single && a.rest ? &*a.rest : nullptr;
  const config::AwsDestination* aws = single && a.aws ? &*a.aws : nullptr;
  std::optional<config::AwsDestination> lambda0x =
      single ? gloo0xLambda(flat.fromGloo0x, a.upstream, rest, ctx, errors) : std::nullopt;
  if (lambda0x) {
    aws = &*lambda0x;
    rest = nullptr;
  }
  const config::TransformationTemplate* function = nullptr;
  if (rest) {
    function = findRestFunction(a.upstream, *rest, ctx, errors);
    if (!function) return;
  }
  std::optional<filters::LambdaCall> lambda;
  if (single) {
    if (needsLambdaDestination(a.upstream, aws, a.fieldPath, ctx, errors)) return;
    if (aws) {
      lambda = findLambda(a.upstream, *aws, ctx, errors, lambda0x ? "functionName" : "logicalName");
      if (!lambda) return;
    }
  }
  if (!staged && !function && !lambda) return;
  flat.transformations = filters::RouteTransformations::compile(staged, function, rest, errors,
                                                                lambda ? &*lambda : nullptr);
}

router::RouteEntry translateRoute(const FlatRoute& flat, const RouteContext& ctx) {
  const config::Route& r = *flat.route;
  const config::RouteOptions& o = flat.options;
  router::RouteEntry e;
  e.name = flat.origin;
  if (r.matchers.empty()) {
    config::Matcher all;
    all.value = "/";
    e.matchers.push_back(router::compilePathMatcher(all));
  }
  for (const auto& m : r.matchers) e.matchers.push_back(router::compilePathMatcher(m));

  const config::RouteAction& a = r.action;
  auto addWeighted = [&](const std::vector<config::WeightedDestination>& list) {
    e.action = router::RouteEntry::Action::WeightedClusters;
    for (size_t i = 0; i < list.size(); ++i) {
      const config::WeightedDestination& wd = list[i];
      e.weightedClusters.push_back({ctx.clusterIndex.at(upstreamKey(wd.destination.upstream)),
                                    wd.weight,
                                    i < flat.weightedTransformations.size()
                                        ? flat.weightedTransformations[i]
                                        : nullptr});
      e.totalWeight += wd.weight;
    }
  };
  switch (a.type) {
  case config::RouteAction::Type::Single:
    e.action = router::RouteEntry::Action::Cluster;
    e.clusterIndex = ctx.clusterIndex.at(upstreamKey(a.upstream));
    break;
  case config::RouteAction::Type::Multi:
    addWeighted(a.multi);
    break;
  case config::RouteAction::Type::UpstreamGroup:
    addWeighted(ctx.upstreamGroups.at({"UpstreamGroup", a.upstreamGroup.ns, a.upstreamGroup.name})->destinations);
    break;
  case config::RouteAction::Type::Redirect: {
    e.action = router::RouteEntry::Action::Redirect;
    const config::RedirectAction& rd = a.redirect;
    e.redirect.hostRedirect = rd.hostRedirect;
    e.redirect.hasPathRedirect = rd.pathRedirect.has_value();
    e.redirect.pathRedirect = rd.pathRedirect.value_or("");
    e.redirect.hasPrefixRewrite = rd.prefixRewrite.has_value();
    e.redirect.prefixRewrite = rd.prefixRewrite.value_or("");
    e.redirect.responseCode = rd.responseCode;
    e.redirect.httpsRedirect = rd.httpsRedirect;
    e.redirect.stripQuery = rd.stripQuery;
    break;
  }
  case config::RouteAction::Type::DirectResponse:
    e.action = router::RouteEntry::Action::DirectResponse;
    e.directStatus = a.directResponse.status;
    e.directBody = a.directResponse.body;
    break;
  case config::RouteAction::Type::Delegate:
    break;  // flattened away before translation
  }

  if (o.timeoutMs) e.timeoutMs = *o.timeoutMs;
  if (o.prefixRewrite) {
    e.hasPrefixRewrite = true;
    e.prefixRewrite = *o.prefixRewrite;
  } else if (o.regexRewrite) {
    e.regexRewrite = compile(o.regexRewrite->pattern);
    e.regexSubstitution = o.regexRewrite->substitution;
  }
  if (o.hostRewrite) e.hostRewrite = *o.hostRewrite;
  e.autoHostRewrite = o.autoHostRewrite.value_or(false);
  if (o.retries) {
    router::RetryConfig rc;
    rc.numRetries = o.retries->numRetries;
    rc.perTryTimeoutMs = o.retries->perTryTimeoutMs;
    std::string_view on = o.retries->retryOn;
    size_t pos = 0;
    while (pos <= on.size()) {
      size_t comma = on.find(',', pos);
      if (comma == std::string_view::npos) comma = on.size();
      std::string_view c = on.substr(pos, comma - pos);
      while (!c.empty() && c.front() == ' ') c.remove_prefix(1);
      while (!c.empty() && c.back() == ' ') c.remove_suffix(1);
      if (c == "5xx") rc.on5xx = true;
      else if (c == "gateway-error") rc.onGatewayError = true;
      else if (c == "connect-failure") rc.onConnectFailure = true;
      else if (c == "reset") rc.onReset = true;
      else if (c == "retriable-4xx") rc.onRetriable4xx = true;
      pos = comma + 1;
    }
    e.retries = rc;
  }
  if (o.headerManipulation) {
    const auto& hm = *o.headerManipulation;
    e.requestHeaders = translateHeaderOps(hm.requestHeadersToAdd, hm.requestHeadersToRemove);
    e.responseHeaders = translateHeaderOps(hm.responseHeadersToAdd, hm.responseHeadersToRemove);
  }
  if (o.cors) {
    router::CorsConfig c;
    c.allowOrigin = o.cors->allowOrigin;
    for (const auto& re : o.cors->allowOriginRegex) c.allowOriginRegex.push_back(compile(re));
    c.allowMethods = join(o.cors->allowMethods);
    c.allowHeaders = join(o.cors->allowHeaders);
    c.exposeHeaders = join(o.cors->exposeHeaders);
    c.maxAge = o.cors->maxAge;
    c.allowCredentials = o.cors->allowCredentials;
    e.cors = std::move(c);
  }
  if (o.faults) {
    router::FaultConfig f;
    if (o.faults->abort) {
      f.abortPerMillion = perMillion(o.faults->abort->percentage);
      f.abortStatus = o.faults->abort->httpStatus;
    }
    if (o.faults->delay) {
      f.delayPerMillion = perMillion(o.faults->delay->percentage);
      f.delayMs = o.faults->delay->fixedDelayMs;
    }
    e.faults = f;
  }
  for (const config::HashPolicy& hp : o.hashPolicies) {
    router::HashPolicyConfig h;
    h.type = hp.type == config::HashPolicy::Type::Header   ? router::HashPolicyConfig::Type::Header
             : hp.type == config::HashPolicy::Type::Cookie ? router::HashPolicyConfig::Type::Cookie
                                                           : router::HashPolicyConfig::Type::SourceIp;
    h.name = hp.name;
    h.terminal = hp.terminal;
    h.cookieTtlMs = hp.cookieTtlMs;
    h.cookiePath = hp.cookiePath;
    e.hashPolicies.push_back(std::move(h));
  }
  e.transformations = flat.transformations;
  if (o.shadowing) {
    e.shadow = router::ShadowConfig{ctx.clusterIndex.at(upstreamKey(o.shadowing->upstream)),
                                    perMillion(o.shadowing->percentage)};
  }
  return e;
}

}  // namespace portico::controller
