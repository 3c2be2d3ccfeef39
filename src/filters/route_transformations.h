// RouteTransformations: everything a route transforms — its staged rules (early, regular; the
// first matching request rule per stage wins) and the REST function or Lambda its destination calls —
// and the per-request choice of which transformations apply.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "config/errors.h"
#include "config/model.h"
#include "filters/aws_lambda.h"
#include "filters/transformation.h"
#include "router/request_view.h"
#include "router/route_entry.h"

namespace portico::filters {

class RouteTransformations final : public router::RouteFilterConfig {
public:
  /// `staged` may be null; `function` is the upstream's REST function template and `rest` the
  /// route's destinationSpec.rest (both null, or both set). Errors go to `errors` by path.
  /// `lambda` (instead of a REST function): the route's destination is an AWS Lambda call,
  /// its last request stage; the answer's mapping is the first response stage.
  static std::shared_ptr<const RouteTransformations> compile(
      const config::Transformations* staged, const config::TransformationTemplate* function,
      const config::RestDestination* rest, config::Errors& errors,
      const LambdaCall* lambda = nullptr);

  /// What applies to one request, chosen from its head.
  struct Selection {
    static constexpr size_t kMax = 3;
    const Transformation* request[kMax] = {};  ///< early, regular, REST function / Lambda call
    size_t requestCount = 0;
    /// Response transformations from the matched request rules, per stage (regular, early);
    /// nullptr = look at the stage's responseTransforms when the response arrives.
    const Transformation* response[2] = {};
    bool requestRuleMatched[2] = {};
    bool needsRequestBody = false;
    /// A matched rule has clearRouteCache: the route is chosen again once the request
    /// transformations are applied.
    bool clearRouteCache = false;
  };
  void select(const router::RequestView& request, Selection& out) const;

  /// The response transformations for a response (in order of application), given the
  /// request's selection: a matched request rule's own, else the stage's first matching
  /// responseTransforms entry.
  size_t responseTransformations(const Selection& sel, const Message& response,
                                 const Transformation* out[2]) const;
  /// True when some response transformation could apply (the gateway then reads the response
  /// head before relaying it).
  bool hasResponseTransformations() const { return hasResponse_; }

  struct HeaderCondition {
    std::string name;
    std::string value;
    std::shared_ptr<const re2::RE2> regex;
    bool invert = false;
  };
  struct RequestRule {
    std::optional<router::PathMatcher> matcher;
    std::shared_ptr<const Transformation> request;
    std::shared_ptr<const Transformation> response;
    bool clearRouteCache = false;
  };
  struct ResponseRule {
    std::vector<HeaderCondition> conditions;
    std::shared_ptr<const Transformation> response;
  };
  struct Stage {
    std::vector<RequestRule> requestRules;
    std::vector<ResponseRule> responseRules;
  };

private:
  void compileLambda(const LambdaCall& call, config::Errors& errors);

  Stage stages_[2];  ///< [0] early, [1] regular
  std::shared_ptr<const Transformation> function_;
  /// A Lambda destination's response mapping, applied before any other response
  /// transformation. The gateway takes at most two response transformations, so each staged
  /// one also exists pre-chained behind this mapping (`afterLambda_`).
  std::shared_ptr<const Transformation> lambdaResponse_;
  std::vector<std::pair<const Transformation*, std::shared_ptr<const Transformation>>> afterLambda_;
  bool hasResponse_ = false;
};

/// The extractors that pull a REST function's parameters out of the request: `{name}` in
/// destinationSpec.rest.parameters.path (matched against :path, a query allowed after it) and
/// .headers; a header pattern without braces names a variable holding the whole value.
std::vector<config::Extractor> restParameterExtractors(const config::RestDestination& rest);

}  // namespace portico::filters
