#include "filters/route_transformations.h"

#include <re2/re2.h>

#include "router/route_conditions.h"

namespace portico::filters {

namespace {

/// Gloo 0.x: each `{name}` parameter matches this (letters, digits, '-', '.', '_').
constexpr const char* kParameterRegex = "([\\-._[:alnum:]]+)";

void compileStage(const config::TransformationStage& stage, RouteTransformations::Stage& out,
                  bool& hasResponse, config::Errors& errors) {
  for (const config::RequestTransformRule& rule : stage.requestTransforms) {
    RouteTransformations::RequestRule r;
    if (rule.matcher) r.matcher = router::compilePathMatcher(*rule.matcher);
    r.clearRouteCache = rule.clearRouteCache;
    if (rule.request) r.request = Transformation::compile(*rule.request, errors);
    if (rule.response) {
      r.response = Transformation::compile(*rule.response, errors);
      hasResponse = true;
    }
    out.requestRules.push_back(std::move(r));
  }
  for (const config::ResponseTransformRule& rule : stage.responseTransforms) {
    RouteTransformations::ResponseRule r;
    for (const config::HeaderMatcher& h : rule.matchers) {
      RouteTransformations::HeaderCondition c{h.name, h.value, nullptr, h.invertMatch};
      if (h.regex) {
        RE2::Options o;
        o.set_log_errors(false);
        c.regex = std::make_shared<const re2::RE2>(h.value, o);
      }
      r.conditions.push_back(std::move(c));
    }
    r.response = Transformation::compile(rule.response, errors);
    hasResponse = true;
    out.responseRules.push_back(std::move(r));
  }
}

bool conditionHolds(const RouteTransformations::HeaderCondition& c, const Message& m) {
  std::string status;
  const std::string* value = nullptr;
  if (c.name == ":status") {
    status = std::to_string(m.status);
    value = &status;
  } else {
    value = m.headers.get(c.name);
  }
  bool match;
  if (!value) match = false;
  else if (c.regex) match = RE2::FullMatch(*value, *c.regex);
  else match = c.value.empty() || *value == c.value;
  return match != c.invert;
}

/// Splits a parameter pattern into extractors on `source` (":path" or a header).
void addPatternExtractors(std::string_view pattern, const std::string& source, bool isPath,
                          std::vector<config::Extractor>& out) {
  if (pattern.find('{') == std::string_view::npos) {
    if (isPath) return;  // a literal path extracts nothing
    config::Extractor e;
    e.name = std::string(pattern);
    e.header = source;
    e.regex = "(.*)";
    e.subgroup = 1;
    e.optional = true;
    out.push_back(std::move(e));
    return;
  }
  std::string regex;
  std::vector<std::string> names;
  size_t i = 0;
  while (i < pattern.size()) {
    size_t open = pattern.find('{', i);
    if (open == std::string_view::npos) open = pattern.size();
    regex += RE2::QuoteMeta(re2::StringPiece(pattern.data() + i, open - i));
    if (open == pattern.size()) break;
    size_t close = pattern.find('}', open);  // balanced: checked by the decoder
    names.emplace_back(pattern.substr(open + 1, close - open - 1));
    regex += kParameterRegex;
    i = close + 1;
  }
  if (isPath) regex += "(?:\\?.*)?";
  for (size_t g = 0; g < names.size(); ++g) {
    config::Extractor e;
    e.name = names[g];
    e.header = source;
    e.regex = regex;
    e.subgroup = static_cast<uint32_t>(g + 1);
    e.optional = true;
    out.push_back(std::move(e));
  }
}

}  // namespace

std::vector<config::Extractor> restParameterExtractors(const config::RestDestination& rest) {
  std::vector<config::Extractor> out;
  if (!rest.pathParameter.empty()) addPatternExtractors(rest.pathParameter, ":path", true, out);
  for (const auto& [header, pattern] : rest.headerParameters)
    addPatternExtractors(pattern, header, false, out);
  return out;
}

std::shared_ptr<const RouteTransformations> RouteTransformations::compile(
    const config::Transformations* staged, const config::TransformationTemplate* function,
    const config::RestDestination* rest, config::Errors& errors, const LambdaCall* lambda) {
  auto out = std::make_shared<RouteTransformations>();
  if (staged) {
    compileStage(staged->early, out->stages_[0], out->hasResponse_, errors);
    compileStage(staged->regular, out->stages_[1], out->hasResponse_, errors);
  }
  if (function && rest) {
    config::Transformation t;
    t.tmpl = *function;
    t.fieldPath = function->fieldPath;
    t.restFunction = true;
    out->function_ = Transformation::compile(t, errors, restParameterExtractors(*rest));
  }
  if (lambda) out->compileLambda(*lambda, errors);
  return out;
}

void RouteTransformations::compileLambda(const LambdaCall& call, config::Errors& errors) {
  const config::AwsDestination& d = call.destination;
  std::vector<std::shared_ptr<const Transformation>> request;
  if (d.requestTransformation) {
    // Gloo: the headers and body become JSON {headers, body}, then the path, query string and
    // method are merged into it.
    config::Transformation headerBody;
    headerBody.type = config::Transformation::Type::HeaderBody;
    request.push_back(Transformation::compile(headerBody, errors));
    config::Transformation merge;
    merge.fieldPath = merge.tmpl.fieldPath = d.fieldPath + ".requestTransformation";
    merge.tmpl.body = config::TransformationTemplate::Body::MergeExtractorsToBody;
    auto extractor = [](const char* name, const char* header, const char* regex, uint32_t group) {
      config::Extractor e;
      e.name = name;
      e.header = header;
      e.regex = regex;
      e.subgroup = group;
      return e;
    };
    merge.tmpl.extractors = {extractor("path", ":path", "([^?]+)(\\?.*)?", 1),
                             extractor("queryString", ":path", "([^?]+)(\\?(.*))?", 3),
                             extractor("httpMethod", ":method", "(.*)", 1)};
    request.push_back(Transformation::compile(merge, errors));
  }
  request.push_back(Transformation::fromStage(std::make_shared<LambdaRequestStage>(call)));
  function_ = request.size() == 1 ? request[0] : Transformation::chain(std::move(request));

  std::vector<std::shared_ptr<const Transformation>> response{
      Transformation::fromStage(std::make_shared<LambdaResponseStage>(d))};
  if (d.responseTransformation) {
    // Gloo: the body becomes the "body" field of the function's JSON answer.
    config::Transformation body;
    body.fieldPath = body.tmpl.fieldPath = d.fieldPath + ".responseTransformation";
    body.tmpl.body = config::TransformationTemplate::Body::Text;
    body.tmpl.bodyText = {"{{ body }}", body.fieldPath};
    if (d.htmlContentTypeHeader)
      body.tmpl.headers.emplace_back("content-type", config::TemplateText{"text/html", body.fieldPath});
    response.push_back(Transformation::compile(body, errors));
  }
  lambdaResponse_ = response.size() == 1 ? response[0] : Transformation::chain(std::move(response));
  for (const Stage& stage : stages_) {
    auto add = [&](const std::shared_ptr<const Transformation>& t) {
      if (t) afterLambda_.emplace_back(t.get(), Transformation::chain({lambdaResponse_, t}));
    };
    for (const RequestRule& r : stage.requestRules) add(r.response);
    for (const ResponseRule& r : stage.responseRules) add(r.response);
  }
  hasResponse_ = true;
}

void RouteTransformations::select(const router::RequestView& request, Selection& out) const {
  out = Selection{};
  for (size_t s = 0; s < 2; ++s) {
    for (const RequestRule& rule : stages_[s].requestRules) {
      if (rule.matcher && !(router::pathMatches(*rule.matcher, request.path) &&
                            router::conditionsHold(*rule.matcher, request)))
        continue;
      if (rule.request) out.request[out.requestCount++] = rule.request.get();
      out.response[1 - s] = rule.response.get();
      out.requestRuleMatched[1 - s] = true;
      out.clearRouteCache |= rule.clearRouteCache;
      break;
    }
  }
  if (function_) out.request[out.requestCount++] = function_.get();
  for (size_t i = 0; i < out.requestCount; ++i) out.needsRequestBody |= out.request[i]->needsBody();
}

size_t RouteTransformations::responseTransformations(const Selection& sel, const Message& response,
                                                     const Transformation* out[2]) const {
  size_t n = 0;
  for (size_t i = 0; i < 2; ++i) {  // regular (stage 1) first on the way back, then early
    const Stage& stage = stages_[1 - i];
    if (sel.requestRuleMatched[i]) {
      if (sel.response[i]) out[n++] = sel.response[i];
      continue;
    }
    for (const ResponseRule& rule : stage.responseRules) {
      bool all = true;
      for (const HeaderCondition& c : rule.conditions) all = all && conditionHolds(c, response);
      if (!all) continue;
      out[n++] = rule.response.get();
      break;
    }
  }
  if (!lambdaResponse_) return n;
  // The Lambda answer is mapped first: chained in front of the first staged transformation.
  if (n == 0) {
    out[n++] = lambdaResponse_.get();
    return n;
  }
  for (const auto& [staged, chained] : afterLambda_) {
    if (staged == out[0]) {
      out[0] = chained.get();
      break;
    }
  }
  return n;
}

}  // namespace portico::filters
