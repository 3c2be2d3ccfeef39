// Template: the inja-compatible (v3.4) template engine behind transformations, with Gloo's custom
// functions. A template is compiled once at config load and rendered per request.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"

namespace portico::tmpl {

struct Program;

struct CompileOptions {
  /// true: variables are JSON pointers without the leading '/' ("a/b/0"); false: dot paths
  /// ("a.b.0", '/' also separates, as in inja). Gloo's transformationTemplate.advancedTemplates.
  bool advancedTemplates = false;
  /// Key for replace_with_random: templates compiled with the same key produce the same random
  /// string for the same pattern (Gloo shares one per transformation: headers, body, metadata).
  /// Unset: a fresh random key per compiled template.
  std::optional<std::array<uint64_t, 2>> randomKey;
  /// Gloo's transformationTemplate.escapeCharacters: a string an expression outputs is
  /// JSON-escaped (quotes, backslashes, control characters), so that `"{{ x }}"` in a JSON
  /// body stays valid JSON. Literal template text is not touched.
  bool escapeStrings = false;
};

/// Per-request inputs. Implemented by the transformation filter, one per request; only used
/// during render() on the calling thread.
class RenderContext {
public:
  virtual ~RenderContext() = default;
  /// Variables resolve here (parsed body, plus extractions merged by the caller).
  virtual const nlohmann::json& data() const = 0;
  /// header("x"): headers of the message being transformed, pseudo-headers (":path", ":method",
  /// ":authority", ":status") included. Names are compared case-insensitively by the
  /// implementation (literal names arrive lowercased).
  virtual std::optional<std::string_view> header(std::string_view name) const = 0;
  /// request_header("x"): the request's headers (differs from header() on the response side).
  virtual std::optional<std::string_view> requestHeader(std::string_view name) const = 0;
  /// extraction("x"): a named extractor's result.
  virtual std::optional<std::string_view> extraction(std::string_view name) const = 0;
  /// body(): raw body text.
  virtual std::string_view body() const = 0;
};

/// A compiled template. Cheap to copy (shares one immutable program); render() is const and
/// safe to call from several threads at once.
class Template {
public:
  /// An empty template (renders nothing).
  Template();

  /// Compiles `source`. Errors read "line L, column C: what is wrong" (1-based, bytes).
  /// Unknown functions, wrong arity, bad syntax and nesting deeper than kMaxDepth are errors.
  static Result<Template> compile(std::string_view source, const CompileOptions& options = {});

  /// Appends the rendering to `out`. A runtime failure (missing variable, wrong argument type,
  /// limits) returns an error Status, "line L, column C: message", and leaves `out` holding
  /// whatever was appended before the failure (callers discard it and answer 400).
  Status render(const RenderContext& ctx, std::string& out) const;

  /// True if rendering can look at the body: body(), context(), or any variable lookup.
  bool readsBody() const;
  /// True if rendering can look into data() (variables, exists(), context()): the caller must
  /// parse the body as JSON.
  bool readsData() const;
  /// True if rendering reads the raw body text: body() or context().
  bool readsRawBody() const;
  /// The top-level names every data() lookup starts with ("a" for {{ a.b }}), when they are all
  /// known at compile time (not with context() or exists() of a computed name). A caller whose
  /// data() holds all of them without the body need not read the body.
  std::optional<std::vector<std::string>> dataRoots() const;
  /// The source text this template was compiled from.
  const std::string& source() const;

  /// Nesting limit (blocks plus expression depth) checked at compile time.
  static constexpr int kMaxDepth = 64;

private:
  explicit Template(std::shared_ptr<const Program> program) : program_(std::move(program)) {}
  std::shared_ptr<const Program> program_;
};

}  // namespace portico::tmpl
