// Transformation: one compiled Gloo transformation (transformationTemplate or
// headerBodyTransform) and how it rewrites an HTTP message — extractors, header templates,
// body modes — with Gloo's error semantics (invalid JSON or a failing template: 400).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/errors.h"
#include "config/model.h"
#include "filters/dynamic_metadata.h"
#include "http/header_map.h"
#include "template/template.h"

namespace re2 {
class RE2;
}

namespace portico::filters {

/// The message a transformation reads and rewrites. Requests use method/path/authority,
/// responses use status; both have headers (lowercase names) and the whole body when the
/// transformation needs it (needsBody()), else an empty body that is left alone.
struct Message {
  std::string method;
  std::string path;  ///< with the query
  std::string authority;
  int status = 0;
  http::HeaderMap headers;
  std::string body;
  bool bodyChanged = false;  ///< set by apply() when `body` replaces the original
  /// Where apply() stores dynamicMetadataValues (the request's store, shared by its request and
  /// response messages); nullptr: they are rendered and dropped.
  DynamicMetadata* metadata = nullptr;
};

/// A rewrite step that is not a Gloo template (an AWS Lambda call, its response mapping): the
/// same contract as Transformation::apply/needsBody. Immutable, shared across workers.
class MessageStage {
public:
  virtual ~MessageStage() = default;
  virtual Status apply(Message& msg, const Message* request) const = 0;
  virtual bool needsBody() const = 0;
};

class Transformation {
public:
  /// Compiles `t` (templates, extractor regexes). Problems go to `errors` at their field paths.
  /// `extraExtractors` are added in front of the template's own (REST function parameters).
  static std::shared_ptr<const Transformation> compile(
      const config::Transformation& t, config::Errors& errors,
      const std::vector<config::Extractor>& extraExtractors = {});

  /// A transformation that runs `stage`.
  static std::shared_ptr<const Transformation> fromStage(std::shared_ptr<const MessageStage> stage);
  /// A transformation that applies `parts` in order and stops at the first error.
  static std::shared_ptr<const Transformation> chain(
      std::vector<std::shared_ptr<const Transformation>> parts);

  /// True when apply() must see the whole body (a template or extractor reads it, or the
  /// body is rebuilt from it). False: the body streams through untouched.
  bool needsBody() const { return needsBody_; }

  /// Rewrites `msg`. `request` is the request (for request_header() on the response side;
  /// nullptr on the request side). An error is the short reason of a 400 answer.
  Status apply(Message& msg, const Message* request) const;

  struct CompiledExtractor {
    config::Extractor spec;
    std::shared_ptr<const re2::RE2> regex;
  };
  using CompiledTemplate = tmpl::Template;

private:
  Transformation() = default;
  Status applyTemplate(Message& msg, const Message* request) const;
  void applyHeaderBody(Message& msg) const;

  config::Transformation::Type type_ = config::Transformation::Type::Template;
  bool advanced_ = false;
  bool parseJson_ = false;  ///< parse the body as JSON before rendering
  bool ignoreErrorOnParse_ = false;
  bool needsBody_ = false;
  bool restFunction_ = false;
  bool addRequestMetadata_ = false;  ///< headerBodyTransform.addRequestMetadata  ///< errors name the missing parameter
  config::TransformationTemplate::Body bodyMode_ = config::TransformationTemplate::Body::Keep;
  std::vector<CompiledExtractor> extractors_;
  std::vector<std::pair<std::string, CompiledTemplate>> headers_;
  std::vector<std::pair<std::string, CompiledTemplate>> headersToAppend_;
  std::vector<std::string> headersToRemove_;
  std::vector<CompiledTemplate> bodyTemplate_;  ///< one entry for Body::Text
  std::vector<std::pair<config::MergeJsonKey, CompiledTemplate>> mergeJsonKeys_;
  struct MetadataTemplate {
    std::string ns, key;
    CompiledTemplate value;
  };
  std::vector<MetadataTemplate> metadata_;  ///< dynamicMetadataValues
  std::shared_ptr<const MessageStage> stage_;                ///< set: apply() runs it
  std::vector<std::shared_ptr<const Transformation>> chain_;  ///< non-empty: apply() runs them
};

}  // namespace portico::filters
