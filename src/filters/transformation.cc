#include "filters/transformation.h"

#include <cstring>

#include <nlohmann/json.hpp>
#include <re2/re2.h>

#include "router/query.h"

namespace portico::filters {

using config::TransformationTemplate;
using json = nlohmann::json;

namespace {

/// Upper bound on regex groups an extractor captures (RE2 needs a fixed array).
constexpr int kMaxGroups = 16;

std::optional<std::string_view> lookupHeader(const Message& m, std::string_view name,
                                             std::string& scratch) {
  if (!name.empty() && name[0] == ':') {
    if (name == ":path") return std::string_view(m.path);
    if (name == ":method") return std::string_view(m.method);
    if (name == ":authority") return std::string_view(m.authority);
    if (name == ":status" && m.status) {
      scratch = std::to_string(m.status);
      return std::string_view(scratch);
    }
    return std::nullopt;
  }
  std::string lower(name);
  http::toLowerInPlace(lower);
  const std::string* v = m.headers.get(lower);
  if (!v) return std::nullopt;
  return std::string_view(*v);
}

class MessageContext final : public tmpl::RenderContext {
public:
  MessageContext(const Message& msg, const Message* request, const json& data,
                 const std::vector<Transformation::CompiledExtractor>& extractors,
                 const std::vector<std::string>& extractions)
      : msg_(msg), request_(request), data_(data), extractors_(extractors),
        extractions_(extractions) {}

  const json& data() const override { return data_; }
  std::optional<std::string_view> header(std::string_view name) const override {
    return lookupHeader(msg_, name, scratch_);
  }
  std::optional<std::string_view> requestHeader(std::string_view name) const override {
    return lookupHeader(request_ ? *request_ : msg_, name, scratch_);
  }
  std::optional<std::string_view> extraction(std::string_view name) const override {
    for (size_t i = 0; i < extractors_.size(); ++i)
      if (extractors_[i].spec.name == name) return std::string_view(extractions_[i]);
    return std::nullopt;
  }
  std::string_view body() const override { return msg_.body; }

private:
  const Message& msg_;
  const Message* request_;
  const json& data_;
  const std::vector<Transformation::CompiledExtractor>& extractors_;
  const std::vector<std::string>& extractions_;
  mutable std::string scratch_;
};

std::string extract(const Transformation::CompiledExtractor& e, std::string_view source) {
  const re2::RE2& re = *e.regex;
  using Mode = config::Extractor::Mode;
  if (e.spec.mode == Mode::ReplaceAll) {
    std::string out(source);
    RE2::GlobalReplace(&out, re, e.spec.replacementText);
    return out;
  }
  re2::StringPiece groups[kMaxGroups + 1];
  int n = static_cast<int>(e.spec.subgroup) + 1;
  if (!re.Match(re2::StringPiece(source.data(), source.size()), 0, source.size(),
                RE2::ANCHOR_BOTH, groups, n))
    return e.spec.mode == Mode::Extract ? std::string() : std::string(source);
  const re2::StringPiece& g = groups[e.spec.subgroup];
  if (e.spec.mode == Mode::Extract) return std::string(g.data() ? g.data() : "", g.size());
  if (!g.data()) return std::string(source);  // the group took no part in the match
  size_t at = static_cast<size_t>(g.data() - source.data());
  std::string out(source.substr(0, at));
  out += e.spec.replacementText;
  out.append(source.substr(at + g.size()));
  return out;
}

/// Sets `value` at the dotted path `name` ("host.name" → {"host": {"name": value}}).
void setDotted(json& root, std::string_view name, json value) {
  json* current = &root;
  for (size_t dot = name.find('.'); dot != std::string_view::npos; dot = name.find('.')) {
    json& child = (*current)[std::string(name.substr(0, dot))];
    if (!child.is_object()) child = json::object();
    current = &child;
    name.remove_prefix(dot + 1);
  }
  (*current)[std::string(name)] = std::move(value);
}

/// A header value a template produced must not break the message framing.
bool validHeaderValue(std::string_view v) {
  for (char c : v)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

bool validPath(std::string_view p) {
  if (p.empty() || p[0] != '/') return false;
  for (char c : p)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  return true;
}

bool validMethod(std::string_view m) {
  if (m.empty()) return false;
  for (char c : m)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || std::strchr("!#$%&'*+-.^_`|~", c)))
      return false;
  return true;
}

/// Deepest JSON nesting a transformation accepts in a body (printing and walking JSON recurse).
constexpr int kMaxJsonDepth = 128;

/// True when `text`, read as JSON, nests arrays/objects deeper than kMaxJsonDepth.
bool nestsTooDeep(std::string_view text) {
  int depth = 0;
  bool inString = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (inString) {
      if (c == '\\') ++i;
      else if (c == '"') inString = false;
    } else if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

/// JSON text; invalid UTF-8 from a client is replaced (U+FFFD), never an exception.
std::string dumpJson(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

std::shared_ptr<const Transformation> Transformation::compile(
    const config::Transformation& t, config::Errors& errors,
    const std::vector<config::Extractor>& extraExtractors) {
  std::shared_ptr<Transformation> out(new Transformation());
  out->type_ = t.type;
  out->restFunction_ = !extraExtractors.empty() || t.restFunction;
  if (t.type == config::Transformation::Type::HeaderBody) {
    out->needsBody_ = true;
    out->addRequestMetadata_ = t.addRequestMetadata;
    return out;
  }
  const TransformationTemplate& spec = t.tmpl;
  out->advanced_ = spec.advancedTemplates;
  out->ignoreErrorOnParse_ = spec.ignoreErrorOnParse;
  out->bodyMode_ = spec.body;
  tmpl::CompileOptions options;
  options.advancedTemplates = spec.advancedTemplates;
  options.escapeStrings = spec.escapeCharacters;
  bool readsRawBody = false, rootsKnown = true;
  std::vector<std::string> roots;  // top-level variables the templates look up
  auto compileOne = [&](const config::TemplateText& text) -> tmpl::Template {
    auto compiled = tmpl::Template::compile(text.text, options);
    if (!compiled.ok()) {
      errors.add(text.fieldPath, "invalid template: " + compiled.error());
      return tmpl::Template();
    }
    readsRawBody |= compiled->readsRawBody();
    if (compiled->readsData()) {
      auto r = compiled->dataRoots();
      if (!r) rootsKnown = false;
      else roots.insert(roots.end(), r->begin(), r->end());
    }
    return *compiled;
  };

  std::vector<config::Extractor> all = extraExtractors;
  all.insert(all.end(), spec.extractors.begin(), spec.extractors.end());
  for (const config::Extractor& e : all) {
    RE2::Options o;
    o.set_log_errors(false);
    auto re = std::make_shared<const re2::RE2>(e.regex, o);
    std::string path = spec.fieldPath + ".extractors." + e.name;
    if (!re->ok()) {
      errors.add(path + ".regex", "invalid regex: " + re->error());
      continue;
    }
    if (static_cast<int>(e.subgroup) > re->NumberOfCapturingGroups() || e.subgroup > kMaxGroups) {
      errors.add(path + ".subgroup", "the regex has only " +
                                         std::to_string(re->NumberOfCapturingGroups()) +
                                         " capturing groups");
      continue;
    }
    readsRawBody |= e.fromBody;
    out->extractors_.push_back({e, std::move(re)});
  }
  for (const auto& [name, text] : spec.headers) out->headers_.emplace_back(name, compileOne(text));
  for (const auto& [name, text] : spec.headersToAppend)
    out->headersToAppend_.emplace_back(name, compileOne(text));
  out->headersToRemove_ = spec.headersToRemove;
  using Body = TransformationTemplate::Body;
  if (spec.body == Body::Text) out->bodyTemplate_.push_back(compileOne(spec.bodyText));
  for (const config::MergeJsonKey& k : spec.mergeJsonKeys)
    out->mergeJsonKeys_.emplace_back(k, compileOne(k.tmpl));
  for (const config::DynamicMetadataValue& d : spec.dynamicMetadataValues)
    out->metadata_.push_back({d.metadataNamespace, d.key, compileOne(d.value)});
  // Variables come from the JSON body unless every one is an extraction that is always set
  // (non-advanced mode merges extractions into the data; REST parameters that are not found
  // fall back to the body, so they do not count).
  bool dataFromBody = false;
  for (const std::string& root : roots) {
    bool extracted = false;
    for (const CompiledExtractor& e : out->extractors_) {
      std::string_view name = e.spec.name;
      extracted |= !e.spec.optional && name.substr(0, name.find('.')) == root;
    }
    dataFromBody |= !extracted;
  }
  if (!rootsKnown || (spec.advancedTemplates && !roots.empty())) dataFromBody = true;
  bool rebuildsBody = spec.body == Body::MergeExtractorsToBody || spec.body == Body::MergeJsonKeys;
  out->parseJson_ = spec.parseBodyAsJson && spec.body != Body::Passthrough &&
                    (dataFromBody || rebuildsBody);
  out->needsBody_ = readsRawBody || rebuildsBody || out->parseJson_;
  return out;
}

std::shared_ptr<const Transformation> Transformation::fromStage(
    std::shared_ptr<const MessageStage> stage) {
  std::shared_ptr<Transformation> out(new Transformation());
  out->needsBody_ = stage->needsBody();
  out->stage_ = std::move(stage);
  return out;
}

std::shared_ptr<const Transformation> Transformation::chain(
    std::vector<std::shared_ptr<const Transformation>> parts) {
  std::shared_ptr<Transformation> out(new Transformation());
  for (const auto& p : parts) out->needsBody_ |= p->needsBody();
  out->chain_ = std::move(parts);
  return out;
}

Status Transformation::apply(Message& msg, const Message* request) const {
  if (stage_) return stage_->apply(msg, request);
  if (!chain_.empty()) {
    for (const auto& part : chain_) {
      Status st = part->apply(msg, request);
      if (!st.ok()) return st;
    }
    return Status();
  }
  if (type_ == config::Transformation::Type::HeaderBody) {
    applyHeaderBody(msg);
    return Status();
  }
  return applyTemplate(msg, request);
}

Status Transformation::applyTemplate(Message& msg, const Message* request) const {
  // 1. extractors, on the message as it arrived
  std::vector<std::string> extractions;
  extractions.reserve(extractors_.size());
  std::string scratch;
  for (const CompiledExtractor& e : extractors_) {
    std::optional<std::string_view> source =
        e.spec.fromBody ? std::optional<std::string_view>(msg.body)
                        : lookupHeader(msg, e.spec.header, scratch);
    extractions.push_back(source ? extract(e, *source) : std::string());
  }
  // 2. the data templates see: the JSON body, plus the extractions (dotted names nest)
  json data = json::object();
  if (parseJson_ && !msg.body.empty()) {
    if (nestsTooDeep(msg.body)) return Status::error("body JSON is nested too deeply");
    json parsed = json::parse(msg.body, nullptr, false);
    if (parsed.is_discarded()) {
      if (!ignoreErrorOnParse_) return Status::error("body is not valid JSON");
    } else {
      data = std::move(parsed);
    }
  }
  if (!advanced_ && data.is_object()) {
    for (size_t i = 0; i < extractors_.size(); ++i) {
      if (extractions[i].empty() && extractors_[i].spec.optional) continue;  // left to the body
      setDotted(data, extractors_[i].spec.name, extractions[i]);
    }
  }
  // 3. render everything against the original message, then apply
  MessageContext ctx(msg, request, data, extractors_, extractions);
  auto render = [&](const tmpl::Template& t, std::string& out) -> Status {
    Status st = t.render(ctx, out);
    if (st.ok()) return st;
    if (restFunction_) {
      // A REST function's variables are its parameters: say which one the request lacks.
      const std::string& m = st.message();
      size_t at = m.find("variable '");
      size_t end = at == std::string::npos ? at : m.find("' not found", at + 10);
      if (end != std::string::npos)
        return Status::error("missing parameter: " + m.substr(at + 10, end - at - 10));
    }
    return Status::error("transformation failed: " + st.message());
  };
  std::vector<std::string> headerValues(headers_.size());
  for (size_t i = 0; i < headers_.size(); ++i) {
    Status st = render(headers_[i].second, headerValues[i]);
    if (!st.ok()) return st;
    if (!validHeaderValue(headerValues[i]))
      return Status::error("transformation produced an invalid value for header " +
                           headers_[i].first);
  }
  std::vector<std::string> appendValues(headersToAppend_.size());
  for (size_t i = 0; i < headersToAppend_.size(); ++i) {
    Status st = render(headersToAppend_[i].second, appendValues[i]);
    if (!st.ok()) return st;
    if (!validHeaderValue(appendValues[i]))
      return Status::error("transformation produced an invalid value for header " +
                           headersToAppend_[i].first);
  }
  std::string newBody;
  bool replaceBody = false;
  using Body = TransformationTemplate::Body;
  if (bodyMode_ == Body::Text) {
    Status st = render(bodyTemplate_[0], newBody);
    if (!st.ok()) return st;
    replaceBody = true;
  } else if (bodyMode_ == Body::MergeExtractorsToBody) {
    if (advanced_ && data.is_object()) {
      for (size_t i = 0; i < extractors_.size(); ++i)
        setDotted(data, extractors_[i].spec.name, extractions[i]);
    }
    newBody = dumpJson(data);
    replaceBody = true;
  } else if (bodyMode_ == Body::MergeJsonKeys) {
    if (!data.is_object()) data = json::object();
    for (const auto& [key, t] : mergeJsonKeys_) {
      std::string rendered;
      Status st = render(t, rendered);
      if (!st.ok()) return st;
      if (rendered.empty() && !key.overrideEmpty) continue;
      json value = nestsTooDeep(rendered) ? json(json::value_t::discarded)
                                          : json::parse(rendered, nullptr, false);
      setDotted(data, key.key, value.is_discarded() ? json(rendered) : std::move(value));
    }
    newBody = dumpJson(data);
    replaceBody = true;
  }
  // Metadata values see the same message as the headers (rendered before any is applied).
  std::vector<std::string> metadataValues(metadata_.size());
  for (size_t i = 0; i < metadata_.size(); ++i) {
    Status st = render(metadata_[i].value, metadataValues[i]);
    if (!st.ok()) return st;
  }

  for (size_t i = 0; i < headers_.size(); ++i) {
    const std::string& name = headers_[i].first;
    std::string& value = headerValues[i];
    if (name == ":path") {
      if (!validPath(value)) return Status::error("transformation produced an invalid :path");
      msg.path = std::move(value);
    } else if (name == ":method") {
      if (!validMethod(value)) return Status::error("transformation produced an invalid :method");
      msg.method = std::move(value);
    } else if (name == ":authority") {
      if (value.empty()) return Status::error("transformation produced an empty :authority");
      msg.authority = std::move(value);
    } else if (name == ":status") {
      int code = 0;
      for (char c : value) code = (c >= '0' && c <= '9' && code < 1000) ? code * 10 + (c - '0') : 1000;
      if (code < 100 || code > 599) return Status::error("transformation produced an invalid :status");
      msg.status = code;
    } else {
      // Gloo: a header template that renders empty removes the header.
      msg.headers.remove(name);
      if (!value.empty()) msg.headers.add(name, value);
    }
  }
  for (size_t i = 0; i < headersToAppend_.size(); ++i)
    msg.headers.add(headersToAppend_[i].first, appendValues[i]);
  for (const std::string& name : headersToRemove_) msg.headers.remove(name);
  if (replaceBody) {
    msg.body = std::move(newBody);
    msg.bodyChanged = true;
  }
  if (msg.metadata)
    for (size_t i = 0; i < metadata_.size(); ++i)
      msg.metadata->set(metadata_[i].ns, metadata_[i].key, metadataValues[i]);
  return Status();
}

namespace {

/// addRequestMetadata's view of a repeated name (header or query parameter), as envoy-gloo
/// builds it: `single[name]` holds the last value, `multi[name]` every value, but only for
/// names that occur more than once.
void addValue(json& single, json& multi, const std::string& name, std::string_view value) {
  auto it = single.find(name);
  if (it == single.end()) {
    single[name] = value;
    return;
  }
  json& all = multi[name];
  if (all.is_null()) all.push_back(it->get<std::string>());
  all.push_back(value);
  *it = value;
}

/// The request metadata envoy-gloo's headerBodyTransform adds for addRequestMetadata.
void addRequestMetadata(const Message& msg, json& out) {
  std::string_view target = msg.path;
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  out["httpMethod"] = msg.method;
  out["path"] = path;
  out["queryString"] = query;
  json params = json::object(), multiParams = json::object();
  router::DecodeBuffer nameScratch, valueScratch;
  router::QueryItems items(query);
  std::string_view rawName, rawValue;
  while (items.next(rawName, rawValue))
    addValue(params, multiParams, std::string(nameScratch.decode(rawName)),
             valueScratch.decode(rawValue));
  out["queryStringParameters"] = std::move(params);
  out["multiValueQueryStringParameters"] = std::move(multiParams);
}

}  // namespace

void Transformation::applyHeaderBody(Message& msg) const {
  json headers = json::object();
  const bool requestMetadata = addRequestMetadata_ && !msg.method.empty() && !msg.status;
  if (!msg.method.empty()) {
    headers[":method"] = msg.method;
    headers[":path"] = msg.path;
    if (!msg.authority.empty()) headers[":authority"] = msg.authority;
  }
  if (msg.status) headers[":status"] = std::to_string(msg.status);
  json multiHeaders = json::object();
  for (const http::HeaderEntry& h : msg.headers) {
    if (requestMetadata) {  // envoy-gloo: the last value, and all of them in multiValueHeaders
      addValue(headers, multiHeaders, h.name, h.value);
      continue;
    }
    auto it = headers.find(h.name);
    if (it == headers.end()) headers[h.name] = h.value;
    else *it = it->get<std::string>() + "," + h.value;
  }
  json out = json::object();
  out["headers"] = std::move(headers);
  out["body"] = msg.body;
  if (requestMetadata) {
    out["multiValueHeaders"] = std::move(multiHeaders);
    addRequestMetadata(msg, out);
  }
  msg.body = dumpJson(out);
  msg.bodyChanged = true;
  msg.headers.set("content-type", "application/json");
}

}  // namespace portico::filters
