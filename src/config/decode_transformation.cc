// Transformations (options.transformations, options.stagedTransformations) and REST functions
// (an upstream's serviceSpec.rest, a route's destinationSpec.rest). Templates are kept as text
// here; the controller compiles them and reports syntax errors at the template's field path.
#include "config/decode.h"
#include "config/decode_internal.h"
#include "config/field_reader.h"

namespace portico::config::detail {

namespace {

constexpr const char* kTokenForm = "expected a token (letters, digits and !#$%&'*+-.^_`|~)";

/// Header names a template may set: tokens and the pseudo-headers the gateway rewrites.
bool checkTemplateHeaderName(const std::string& name, const std::string& path, Errors& errors) {
  if (name == ":path" || name == ":method" || name == ":authority" || name == ":status")
    return true;
  if (name.empty() || !isToken(name)) {
    errors.add(path, "invalid header name " + jsonQuote(name) + ": " + kTokenForm +
                         " or one of :path, :method, :authority, :status");
    return false;
  }
  std::string lower = lowerAscii(name);
  if (lower == "content-length" || lower == "transfer-encoding" || lower == "connection") {
    errors.add(path, jsonQuote(lower) + " is set by Portico from the message; a template "
                                        "cannot set it");
    return false;
  }
  return true;
}

/// {text: "..."} (InjaTemplate).
void decodeInjaTemplate(const Value& v, const std::string& path, TemplateText& out,
                        Errors& errors) {
  MapReader r(v, path, errors);
  out.fieldPath = r.pathOf("text");
  r.readString("text", out.text);
}

void decodeExtractor(const Value& v, const std::string& path, Extractor& out, Errors& errors) {
  MapReader r(v, path, errors);
  size_t sources = r.has("header") + r.has("body");
  if (sources != 1) errors.add(path, "exactly one of header, body is required");
  if (r.readString("header", out.header)) {
    if (out.header.empty()) errors.add(r.pathOf("header"), "required");
    out.header = lowerAscii(out.header);
  }
  if (r.take("body")) out.fromBody = true;
  if (!r.requireString("regex", out.regex)) {
    // Gloo requires it too; ".*" takes the whole source.
  } else {
    checkRegex(out.regex, r.pathOf("regex"), errors);
  }
  int64_t subgroup = 0;
  if (r.readInt("subgroup", 0, 1000, subgroup)) out.subgroup = static_cast<uint32_t>(subgroup);
  std::string mode;
  if (r.readString("mode", mode)) {
    if (mode == "EXTRACT" || mode == "0") out.mode = Extractor::Mode::Extract;
    else if (mode == "SINGLE_REPLACE" || mode == "1") out.mode = Extractor::Mode::SingleReplace;
    else if (mode == "REPLACE_ALL" || mode == "2") out.mode = Extractor::Mode::ReplaceAll;
    else
      errors.add(r.pathOf("mode"), "unknown mode " + jsonQuote(mode) +
                                       ": expected EXTRACT, SINGLE_REPLACE or REPLACE_ALL");
  }
  bool hasReplacement = r.readString("replacementText", out.replacementText);
  if (out.mode == Extractor::Mode::Extract && hasReplacement)
    errors.add(r.pathOf("replacementText"), "only allowed with mode SINGLE_REPLACE or REPLACE_ALL");
  if (out.mode != Extractor::Mode::Extract && !hasReplacement)
    errors.add(r.pathOf("replacementText"), "required with mode SINGLE_REPLACE or REPLACE_ALL");
  if (out.mode == Extractor::Mode::ReplaceAll && out.subgroup != 0)
    errors.add(r.pathOf("subgroup"), "must be 0 with mode REPLACE_ALL (the whole match is replaced)");
}

void decodeTemplateMap(const Value& v, const std::string& path,
                       std::vector<std::pair<std::string, TemplateText>>& out, Errors& errors) {
  if (!expectMap(v, path, errors)) return;
  for (const auto& [name, value] : v.map) {
    std::string itemPath = joinPath(path, name);
    if (!checkTemplateHeaderName(name, itemPath, errors)) continue;
    TemplateText t;
    decodeInjaTemplate(value, itemPath, t, errors);
    out.emplace_back(name[0] == ':' ? name : lowerAscii(name), std::move(t));
  }
}

void decodeHeadersToAppend(const Value& v, const std::string& path,
                           std::vector<std::pair<std::string, TemplateText>>& out, Errors& errors) {
  if (!expectList(v, path, errors)) return;
  for (size_t i = 0; i < v.list.size(); ++i) {
    MapReader r(v.list[i], indexPath(path, i), errors);
    std::string key;
    if (!r.requireString("key", key)) continue;
    if (key[0] == ':' || !checkTemplateHeaderName(key, r.pathOf("key"), errors)) {
      if (key[0] == ':') errors.add(r.pathOf("key"), "a pseudo-header cannot be appended");
      continue;
    }
    TemplateText t;
    if (const Value* value = r.take("value")) decodeInjaTemplate(*value, r.pathOf("value"), t, errors);
    else errors.add(r.pathOf("value"), "required");
    out.emplace_back(lowerAscii(key), std::move(t));
  }
}

void decodeMergeJsonKeys(const Value& v, const std::string& path, std::vector<MergeJsonKey>& out,
                         Errors& errors) {
  MapReader r(v, path, errors);
  const Value* keys = r.take("jsonKeys");
  if (!keys) {
    errors.add(r.pathOf("jsonKeys"), "required");
    return;
  }
  std::string keysPath = r.pathOf("jsonKeys");
  if (!expectMap(*keys, keysPath, errors)) return;
  for (const auto& [key, value] : keys->map) {
    MergeJsonKey k;
    k.key = key;
    std::string itemPath = joinPath(keysPath, key);
    MapReader item(value, itemPath, errors);
    if (const Value* tmpl = item.take("tmpl")) decodeInjaTemplate(*tmpl, item.pathOf("tmpl"), k.tmpl, errors);
    else errors.add(item.pathOf("tmpl"), "required");
    item.readBool("overrideEmpty", k.overrideEmpty);
    out.push_back(std::move(k));
  }
}

/// dynamicMetadataValues[]: {metadataNamespace, key, value: {text}, jsonToProto}. The access
/// log addresses a value as NAMESPACE:KEY, so neither part may contain ':'.
void decodeDynamicMetadataValues(const Value& v, const std::string& path,
                                 std::vector<DynamicMetadataValue>& out, Errors& errors) {
  if (!expectList(v, path, errors)) return;
  for (size_t i = 0; i < v.list.size(); ++i) {
    MapReader r(v.list[i], indexPath(path, i), errors);
    DynamicMetadataValue d;
    if (r.readString("metadataNamespace", d.metadataNamespace) &&
        (d.metadataNamespace.empty() || d.metadataNamespace.find(':') != std::string::npos))
      errors.add(r.pathOf("metadataNamespace"), "expected a non-empty name without ':'");
    if (r.requireString("key", d.key) && (d.key.empty() || d.key.find(':') != std::string::npos))
      errors.add(r.pathOf("key"), "expected a non-empty name without ':'");
    if (const Value* value = r.take("value")) decodeInjaTemplate(*value, r.pathOf("value"), d.value, errors);
    else errors.add(r.pathOf("value"), "required");
    bool toProto = false;
    if (r.readBool("jsonToProto", toProto) && toProto)
      errors.add(r.pathOf("jsonToProto"),
                 "not supported by Portico: metadata values are kept as strings (the access "
                 "log prints them as text)");
    out.push_back(std::move(d));
  }
}

void decodeTransformation(const Value& v, const std::string& path, Transformation& out,
                          Errors& errors) {
  MapReader r(v, path, errors);
  out.fieldPath = path;
  size_t given = r.has("transformationTemplate") + r.has("headerBodyTransform") +
                 r.has("xsltTransformation");
  if (given != 1)
    errors.add(path, "exactly one of transformationTemplate, headerBodyTransform is required");
  if (const Value* t = r.take("transformationTemplate")) {
    out.type = Transformation::Type::Template;
    decodeTransformationTemplate(*t, r.pathOf("transformationTemplate"), out.tmpl, errors);
  }
  if (const Value* hb = r.take("headerBodyTransform")) {
    out.type = Transformation::Type::HeaderBody;
    MapReader h(*hb, r.pathOf("headerBodyTransform"), errors);
    h.readBool("addRequestMetadata", out.addRequestMetadata);
  }
}

/// clearRouteCache, requestTransformation, responseTransformation: shared by the legacy
/// `transformations` and each requestTransforms entry.
void decodeRuleTransformations(MapReader& r, RequestTransformRule& rule) {
  r.readBool("clearRouteCache", rule.clearRouteCache);
  if (const Value* t = r.take("requestTransformation"))
    decodeTransformation(*t, r.pathOf("requestTransformation"), rule.request.emplace(), r.errors());
  // The route is chosen again once the request transformation is applied: without one the
  // flag would do nothing.
  if (rule.clearRouteCache && !rule.request)
    r.errors().add(r.pathOf("clearRouteCache"),
                   "needs a requestTransformation (the route is chosen again after it is applied)");
  if (const Value* t = r.take("responseTransformation"))
    decodeTransformation(*t, r.pathOf("responseTransformation"), rule.response.emplace(),
                         r.errors());
}

void decodeRequestTransforms(const Value& v, const std::string& path,
                             std::vector<RequestTransformRule>& out, Errors& errors) {
  if (!expectList(v, path, errors)) return;
  for (size_t i = 0; i < v.list.size(); ++i) {
    MapReader r(v.list[i], indexPath(path, i), errors);
    RequestTransformRule rule;
    if (const Value* m = r.take("matcher"))
      decodeMatcher(*m, r.pathOf("matcher"), rule.matcher.emplace(), errors);
    decodeRuleTransformations(r, rule);
    out.push_back(std::move(rule));
  }
}

void decodeResponseTransforms(const Value& v, const std::string& path,
                              std::vector<ResponseTransformRule>& out, Errors& errors) {
  if (!expectList(v, path, errors)) return;
  for (size_t i = 0; i < v.list.size(); ++i) {
    MapReader r(v.list[i], indexPath(path, i), errors);
    ResponseTransformRule rule;
    if (const Value* m = r.take("matchers")) decodeHeaderMatchers(*m, r.pathOf("matchers"), rule.matchers, errors, true);
    if (const Value* t = r.take("responseTransformation"))
      decodeTransformation(*t, r.pathOf("responseTransformation"), rule.response, errors);
    else
      errors.add(r.pathOf("responseTransformation"), "required");
    out.push_back(std::move(rule));
  }
}

void decodeStage(const Value& v, const std::string& path, TransformationStage& out,
                 Errors& errors) {
  MapReader r(v, path, errors);
  if (const Value* t = r.take("requestTransforms"))
    decodeRequestTransforms(*t, r.pathOf("requestTransforms"), out.requestTransforms, errors);
  if (const Value* t = r.take("responseTransforms"))
    decodeResponseTransforms(*t, r.pathOf("responseTransforms"), out.responseTransforms, errors);
}

/// "{id}" placeholders: names of [A-Za-z0-9_.-], braces balanced.
void checkParameterPattern(const std::string& pattern, const std::string& path, Errors& errors) {
  size_t i = 0;
  while (i < pattern.size()) {
    if (pattern[i] == '}') {
      errors.add(path, "unbalanced '}' in " + jsonQuote(pattern));
      return;
    }
    if (pattern[i] != '{') {
      ++i;
      continue;
    }
    size_t end = pattern.find('}', i);
    if (end == std::string::npos) {
      errors.add(path, "unbalanced '{' in " + jsonQuote(pattern));
      return;
    }
    std::string_view name(pattern.data() + i + 1, end - i - 1);
    bool ok = !name.empty();
    for (char c : name)
      ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-');
    if (!ok) {
      errors.add(path, "invalid parameter name " + jsonQuote(std::string(name)) +
                           ": expected letters, digits, '_', '.' or '-' between braces");
      return;
    }
    i = end + 1;
  }
}

}  // namespace

void decodeTransformationTemplate(const Value& v, const std::string& path,
                                  TransformationTemplate& out, Errors& errors) {
  MapReader r(v, path, errors);
  out.fieldPath = path;
  r.readBool("advancedTemplates", out.advancedTemplates);
  if (const Value* extractors = r.take("extractors")) {
    std::string p = r.pathOf("extractors");
    if (expectMap(*extractors, p, errors)) {
      for (const auto& [name, value] : extractors->map) {
        Extractor e;
        e.name = name;
        decodeExtractor(value, joinPath(p, name), e, errors);
        out.extractors.push_back(std::move(e));
      }
    }
  }
  if (const Value* headers = r.take("headers"))
    decodeTemplateMap(*headers, r.pathOf("headers"), out.headers, errors);
  if (const Value* append = r.take("headersToAppend"))
    decodeHeadersToAppend(*append, r.pathOf("headersToAppend"), out.headersToAppend, errors);
  std::vector<std::string> remove;
  if (r.readStringList("headersToRemove", remove)) {
    for (size_t i = 0; i < remove.size(); ++i) {
      if (remove[i].empty() || !isToken(remove[i])) {
        errors.add(indexPath(r.pathOf("headersToRemove"), i),
                   "invalid header name " + jsonQuote(remove[i]) + ": " + kTokenForm);
        continue;
      }
      out.headersToRemove.push_back(lowerAscii(remove[i]));
    }
  }
  size_t bodies = r.has("body") + r.has("passthrough") + r.has("mergeExtractorsToBody") +
                  r.has("mergeJsonKeys");
  if (bodies > 1)
    errors.add(path, "only one of body, passthrough, mergeExtractorsToBody, mergeJsonKeys may be set");
  if (const Value* body = r.take("body")) {
    out.body = TransformationTemplate::Body::Text;
    decodeInjaTemplate(*body, r.pathOf("body"), out.bodyText, errors);
  }
  if (r.take("passthrough")) out.body = TransformationTemplate::Body::Passthrough;
  if (r.take("mergeExtractorsToBody")) out.body = TransformationTemplate::Body::MergeExtractorsToBody;
  if (const Value* merge = r.take("mergeJsonKeys")) {
    out.body = TransformationTemplate::Body::MergeJsonKeys;
    decodeMergeJsonKeys(*merge, r.pathOf("mergeJsonKeys"), out.mergeJsonKeys, errors);
  }
  std::string parse;
  if (r.readString("parseBodyBehavior", parse)) {
    if (parse == "ParseAsJson" || parse == "0") out.parseBodyAsJson = true;
    else if (parse == "DontParse" || parse == "1") out.parseBodyAsJson = false;
    else
      errors.add(r.pathOf("parseBodyBehavior"),
                 "unknown value " + jsonQuote(parse) + ": expected ParseAsJson or DontParse");
  }
  r.readBool("ignoreErrorOnParse", out.ignoreErrorOnParse);
  r.readBool("escapeCharacters", out.escapeCharacters);
  if (const Value* values = r.take("dynamicMetadataValues"))
    decodeDynamicMetadataValues(*values, r.pathOf("dynamicMetadataValues"),
                                out.dynamicMetadataValues, errors);
}

void decodeTransformations(const Value& v, const std::string& path, Transformations& out,
                           Errors& errors) {
  MapReader r(v, path, errors);
  RequestTransformRule rule;
  decodeRuleTransformations(r, rule);
  if (rule.request || rule.response) out.regular.requestTransforms.push_back(std::move(rule));
}

void decodeStagedTransformations(const Value& v, const std::string& path, Transformations& out,
                                 Errors& errors) {
  MapReader r(v, path, errors);
  if (const Value* s = r.take("early")) decodeStage(*s, r.pathOf("early"), out.early, errors);
  if (const Value* s = r.take("regular")) decodeStage(*s, r.pathOf("regular"), out.regular, errors);
  r.readBool("inheritTransformation", out.inheritTransformation);
  // postRouting (an Enterprise stage) and logRequestResponseInfo stay unread: reported.
}

void decodeRestDestination(const Value& v, const std::string& path, RestDestination& out,
                           Errors& errors) {
  MapReader r(v, path, errors);
  out.fieldPath = path;
  r.requireString("functionName", out.functionName);
  if (const Value* params = r.take("parameters")) {
    MapReader p(*params, r.pathOf("parameters"), errors);
    if (const Value* headers = p.take("headers")) {
      std::string hp = p.pathOf("headers");
      if (expectMap(*headers, hp, errors)) {
        for (const auto& [name, value] : headers->map) {
          std::string itemPath = joinPath(hp, name);
          std::string pattern;
          if (!readStringValue(value, itemPath, errors, pattern)) continue;
          if (name.empty() || (!isToken(name) && name != ":path" && name != ":method" &&
                               name != ":authority")) {
            errors.add(itemPath, "invalid header name " + jsonQuote(name) + ": " + kTokenForm);
            continue;
          }
          checkParameterPattern(pattern, itemPath, errors);
          out.headerParameters.emplace_back(lowerAscii(name), std::move(pattern));
        }
      }
    }
    if (p.readString("path", out.pathParameter))
      checkParameterPattern(out.pathParameter, p.pathOf("path"), errors);
  }
}

void decodeAwsDestination(const Value& v, const std::string& path, AwsDestination& out,
                          Errors& errors) {
  MapReader r(v, path, errors);
  out.fieldPath = path;
  r.requireString("logicalName", out.logicalName);
  // invocationStyle: SYNC | ASYNC, or the enum's numbers (the CRD allows int-or-string).
  if (const Value* style = r.take("invocationStyle")) {
    const std::string& s = style->scalar;
    bool scalar = style->type == Value::Type::String || style->type == Value::Type::Number;
    if (scalar && (s == "SYNC" || s == "0")) out.async = false;
    else if (scalar && (s == "ASYNC" || s == "1")) out.async = true;
    else errors.add(r.pathOf("invocationStyle"), "expected SYNC or ASYNC");
  }
  r.readBool("requestTransformation", out.requestTransformation);
  r.readBool("responseTransformation", out.responseTransformation);
  r.readBool("htmlContentTypeHeader", out.htmlContentTypeHeader);
  r.readBool("unwrapAsAlb", out.unwrapAsAlb);
  r.readBool("unwrapAsApiGateway", out.unwrapAsApiGateway);
  r.readBool("wrapAsApiGateway", out.wrapAsApiGateway);
  if (out.requestTransformation && out.wrapAsApiGateway)
    errors.add(path, "only one of requestTransformation, wrapAsApiGateway may be set");
  if (out.responseTransformation && (out.unwrapAsAlb || out.unwrapAsApiGateway))
    errors.add(path, "responseTransformation cannot be combined with unwrapAsAlb or unwrapAsApiGateway");
}

void decodeServiceSpec(const Value& v, const std::string& path, Upstream& out, Errors& errors) {
  MapReader r(v, path, errors);
  out.hasServiceSpec = true;
  const Value* rest = r.take("rest");
  if (!rest) return;  // grpc, grpcJsonTranscoder, graphql: reported as unsupported
  MapReader rr(*rest, r.pathOf("rest"), errors);
  if (const Value* fns = rr.take("transformations")) {
    std::string p = rr.pathOf("transformations");
    if (expectMap(*fns, p, errors)) {
      for (const auto& [name, value] : fns->map) {
        TransformationTemplate t;
        decodeTransformationTemplate(value, joinPath(p, name), t, errors);
        out.restFunctions.emplace_back(name, std::move(t));
      }
    }
  }
  // swaggerInfo {url | inline}: the OpenAPI document function discovery reads (src/discovery).
  if (const Value* info = rr.take("swaggerInfo")) {
    Upstream::SwaggerInfo s;
    s.fieldPath = rr.pathOf("swaggerInfo");
    MapReader sr(*info, s.fieldPath, errors);
    if (sr.has("url") == sr.has("inline")) errors.add(s.fieldPath, "exactly one of url, inline is required");
    if (sr.readString("url", s.url)) {
      bool http = s.url.rfind("http://", 0) == 0 && s.url.size() > 7;
      bool https = s.url.rfind("https://", 0) == 0 && s.url.size() > 8;
      if (!http && !https) errors.add(sr.pathOf("url"), "expected an http:// or https:// URL");
    }
    if (sr.readString("inline", s.inlineDoc) && s.inlineDoc.empty())
      errors.add(sr.pathOf("inline"), "required: the OpenAPI document (JSON or YAML)");
    out.swaggerInfo = std::move(s);
  }
}

}  // namespace portico::config::detail
