// Evaluator: renders a Program against one RenderContext: statements, expressions, variable
// lookup, operators and resource limits. Built-in functions live in functions.cc.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/status.h"
#include "template/program.h"
#include "template/template.h"

namespace portico::tmpl {

/// Limits that keep a hostile body or template from taking the worker hostage.
inline constexpr size_t kMaxOutputBytes = 64u << 20;   ///< per render() call
inline constexpr size_t kMaxStringBytes = 16u << 20;   ///< any string value
inline constexpr size_t kMaxWork = 20'000'000;         ///< loop iterations + values walked + bytes/16
inline constexpr size_t kMaxValueDepth = 128;          ///< nesting of values built by the template
inline constexpr int64_t kMaxRange = 1'000'000;        ///< range(n)

/// An expression result: a reference into data()/locals when possible, else an owned value.
class Value {
public:
  const Json& get() const { return ref_ ? *ref_ : own_; }
  void ref(const Json* j) { ref_ = j; }
  void own(Json j) {
    ref_ = nullptr;
    own_ = std::move(j);
  }
  Json take() && { return ref_ ? *ref_ : std::move(own_); }
  /// True when get() refers to storage that outlives this Value (data, loop values, literals).
  bool isRef() const { return ref_ != nullptr; }

private:
  const Json* ref_ = nullptr;
  Json own_;
};

class Evaluator {
public:
  Evaluator(const Program& program, const RenderContext& ctx, std::string& out)
      : program_(program), ctx_(ctx), out_(out), outStart_(out.size()) {}

  /// Renders the whole program; never throws.
  Status run();

private:
  struct Loop {
    const Json* value = nullptr;
    const std::string* key = nullptr;  ///< object loops
    size_t index = 0;
    size_t size = 0;
  };

  bool execBlock(const std::vector<Stmt>& block);
  bool exec(const Stmt& stmt);
  bool execFor(const Stmt& stmt);
  bool execSet(const Stmt& stmt);
  bool eval(const Expr& e, Value& out);
  bool evalBinary(const Expr& e, Value& out);
  bool arithmetic(const Expr& e, const Json& a, const Json& b, Value& out);
  bool evalCall(const Expr& e, Value& out);  // functions.cc
  /// nullptr when the variable does not exist (no error set). `scratch` holds computed values.
  const Json* lookup(const Expr& var, Json& scratch);
  const Json* lookupPath(const std::vector<std::string>& path);
  const Json* loopMeta(size_t depth, const std::vector<std::string>& path, size_t from, Json& scratch);
  bool exists(std::string_view name);
  bool emit(const Json& v);
  bool appendOut(std::string_view s);

  bool fail(Pos pos, std::string message);
  bool charge(size_t units);
  bool checkString(Pos pos, const Json& v);
  bool checkDepth(Pos pos, const Json& v, size_t extra);

  const Program& program_;
  const RenderContext& ctx_;
  std::string& out_;
  size_t outStart_;
  std::vector<Loop> loops_;
  Json sets_;  ///< {% set %} variables (an object once the first set runs)
  size_t work_ = 0;
  Pos pos_;    ///< position of the expression being evaluated, for library exceptions
  std::string error_;
  bool failed_ = false;
};

/// Truthiness as in inja: false, 0, null, "" and empty arrays/objects are false.
bool truthy(const Json& v);
/// Splits a variable name into path segments (dots and slashes, or slashes only when
/// `pointer`), undoing JSON-pointer escapes (~0, ~1). False on a bad escape.
bool splitPath(std::string_view name, bool pointer, std::vector<std::string>& out);
/// Array index per RFC 6901: "0" or digits without a leading zero.
bool arrayIndex(std::string_view seg, size_t& out);

}  // namespace portico::tmpl
