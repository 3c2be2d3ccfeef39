// Tree-walking evaluator. Expression results are references into data()/literals/loop values
// whenever possible, so rendering a typical body template copies only the bytes it appends.
// Errors are values: every step returns false after fail() recorded "line L, column C: ...";
// exceptions from nlohmann (e.g. dumping invalid UTF-8) are caught once, in run().
#include "template/evaluator.h"

#include <cmath>
#include <exception>

#include "template/lexer.h"
#include "template/text_util.h"

namespace portico::tmpl {

namespace {

const Json* walk(const Json* cur, const std::vector<std::string>& path, size_t from) {
  for (size_t i = from; i < path.size() && cur; ++i) {
    if (cur->is_object()) {
      auto it = cur->find(path[i]);
      cur = it == cur->end() ? nullptr : &*it;
    } else if (cur->is_array()) {
      size_t idx = 0;
      cur = arrayIndex(path[i], idx) && idx < cur->size() ? &(*cur)[idx] : nullptr;
    } else {
      cur = nullptr;
    }
  }
  return cur;
}

const char* opSymbol(Op op) {
  switch (op) {
    case Op::Add: return "+";
    case Op::Sub: return "-";
    case Op::Mul: return "*";
    case Op::Div: return "/";
    case Op::Mod: return "%";
    case Op::Pow: return "^";
    default: return "?";
  }
}

// Truncating double → int64 that never overflows (inja converts with get<int>()).
int64_t toInt64(double d) {
  if (!(d == d)) return 0;
  if (d >= 9.2e18) return INT64_MAX;
  if (d <= -9.2e18) return INT64_MIN;
  return static_cast<int64_t>(d);
}

}  // namespace

bool truthy(const Json& v) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer()) return v.get<int64_t>() != 0;
  if (v.is_number()) return v.get<double>() != 0.0;
  if (v.is_null()) return false;
  if (v.is_string()) return !v.get_ref<const std::string&>().empty();
  return !v.empty();
}

bool splitPath(std::string_view name, bool pointer, std::vector<std::string>& out) {
  out.clear();
  std::string seg;
  for (size_t i = 0; i <= name.size(); ++i) {
    char c = i < name.size() ? name[i] : '/';
    if (c == '/' || (c == '.' && !pointer)) {
      out.push_back(std::move(seg));
      seg.clear();
    } else if (c == '~') {
      if (i + 1 >= name.size() || (name[i + 1] != '0' && name[i + 1] != '1')) return false;
      seg += name[++i] == '0' ? '~' : '/';
    } else {
      seg += c;
    }
  }
  return true;
}

bool arrayIndex(std::string_view seg, size_t& out) {
  if (seg.empty() || seg.size() > 18 || (seg.size() > 1 && seg[0] == '0')) return false;
  size_t v = 0;
  for (char c : seg) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + size_t(c - '0');
  }
  out = v;
  return true;
}

Status Evaluator::run() {
  try {
    if (!execBlock(program_.body)) return Status::error(error_);
  } catch (const std::exception& e) {
    return Status::error(positioned(pos_, std::string("render error: ") + e.what()));
  }
  return {};
}

bool Evaluator::fail(Pos pos, std::string message) {
  if (!failed_) {
    failed_ = true;
    error_ = positioned(pos, message);
  }
  return false;
}

bool Evaluator::charge(size_t units) {
  work_ += units;
  if (work_ <= kMaxWork) return true;
  return fail(pos_, "template exceeded its evaluation budget (loop iterations and data size)");
}

bool Evaluator::checkString(Pos pos, const Json& v) {
  if (v.is_string() && v.get_ref<const std::string&>().size() > kMaxStringBytes)
    return fail(pos, "string value larger than 16 MiB");
  return true;
}

// Values the template builds (array/object literals, set) are walked once to bound their
// nesting, which nlohmann's recursive dump() and comparisons would otherwise follow into a
// stack overflow; the walk is charged to the work budget.
bool Evaluator::checkDepth(Pos pos, const Json& v, size_t extra) {
  if (!v.is_structured()) return true;
  std::vector<std::pair<const Json*, size_t>> stack{{&v, 1 + extra}};
  while (!stack.empty()) {
    auto [j, d] = stack.back();
    stack.pop_back();
    if (d > kMaxValueDepth) return fail(pos, "value nested too deeply (limit 128)");
    if (!charge(1 + j->size() / 8)) return false;
    for (const Json& child : *j)
      if (child.is_structured()) stack.push_back({&child, d + 1});
  }
  return true;
}

bool Evaluator::appendOut(std::string_view s) {
  if (out_.size() - outStart_ + s.size() > kMaxOutputBytes) return fail(pos_, "output larger than 64 MiB");
  out_.append(s);
  return true;
}

bool Evaluator::emit(const Json& v) {
  if (v.is_string() && program_.escapeStrings) {
    auto escaped = jsonEscape(v.get_ref<const std::string&>());
    if (!escaped) return fail(pos_, "escapeCharacters: output is not valid UTF-8");
    return appendOut(*escaped);
  }
  if (v.is_string()) return appendOut(v.get_ref<const std::string&>());
  return appendOut(v.dump());
}

bool Evaluator::execBlock(const std::vector<Stmt>& block) {
  for (const Stmt& s : block)
    if (!exec(s)) return false;
  return true;
}

bool Evaluator::exec(const Stmt& s) {
  switch (s.kind) {
    case Stmt::Kind::Text:
      return appendOut(s.text);
    case Stmt::Kind::Output: {
      Value v;
      if (!eval(s.exprs[0], v)) return false;
      return emit(v.get());
    }
    case Stmt::Kind::If: {
      for (size_t i = 0; i < s.exprs.size(); ++i) {
        Value c;
        if (!eval(s.exprs[i], c)) return false;
        if (truthy(c.get())) return execBlock(s.bodies[i]);
      }
      if (s.bodies.size() > s.exprs.size()) return execBlock(s.bodies.back());
      return true;
    }
    case Stmt::Kind::For:
      return execFor(s);
    case Stmt::Kind::Set:
      return execSet(s);
  }
  return true;
}

bool Evaluator::execFor(const Stmt& s) {
  Value it;
  if (!eval(s.exprs[0], it)) return false;
  if (program_.hasSet && it.isRef()) {
    // A {% set %} in the body may replace the value being iterated: iterate a copy.
    if (!checkDepth(s.pos, it.get(), 0)) return false;
    it.own(Json(it.get()));
  }
  const Json& coll = it.get();
  bool objectLoop = !s.keyVar.empty();
  if (objectLoop ? !coll.is_object() : !coll.is_array())
    return fail(s.pos, std::string("for loop over ") + coll.type_name() + (objectLoop ? ", expected an object" : ", expected an array"));
  loops_.push_back(Loop{nullptr, nullptr, 0, coll.size()});
  size_t index = 0;
  for (auto i = coll.begin(); i != coll.end(); ++i, ++index) {
    pos_ = s.pos;
    if (!charge(1)) return false;
    Loop& l = loops_.back();
    l.index = index;
    l.value = &*i;
    l.key = objectLoop ? &i.key() : nullptr;
    if (!execBlock(s.bodies[0])) return false;
  }
  loops_.pop_back();
  return true;
}

bool Evaluator::execSet(const Stmt& s) {
  Value v;
  if (!eval(s.exprs[0], v)) return false;
  Json value = std::move(v).take();
  if (!checkDepth(s.pos, value, s.target.size())) return false;
  if (!sets_.is_object()) sets_ = Json::object();
  Json* cur = &sets_;
  for (size_t i = 0; i + 1 < s.target.size(); ++i) {
    Json& next = (*cur)[s.target[i]];
    if (!next.is_object()) next = Json::object();
    cur = &next;
  }
  (*cur)[s.target.back()] = std::move(value);
  return true;
}

const Json* Evaluator::lookupPath(const std::vector<std::string>& path) {
  if (program_.hasSet && sets_.is_object()) {
    if (const Json* p = walk(&sets_, path, 0)) return p;
  }
  return walk(&ctx_.data(), path, 0);
}

const Json* Evaluator::loopMeta(size_t depth, const std::vector<std::string>& path, size_t from,
                                Json& scratch) {
  const Loop& l = loops_[depth];
  if (from == path.size()) {
    scratch = Json::object();
    Json* cur = &scratch;
    for (size_t d = depth + 1; d-- > 0;) {
      const Loop& ld = loops_[d];
      (*cur)["index"] = ld.index;
      (*cur)["index1"] = ld.index + 1;
      (*cur)["is_first"] = ld.index == 0;
      (*cur)["is_last"] = ld.index + 1 == ld.size;
      if (d > 0) cur = &(*cur)["parent"];
    }
    return &scratch;
  }
  const std::string& seg = path[from];
  if (seg == "parent") return depth == 0 ? nullptr : loopMeta(depth - 1, path, from + 1, scratch);
  if (from + 1 != path.size()) return nullptr;
  if (seg == "index") scratch = l.index;
  else if (seg == "index1") scratch = l.index + 1;
  else if (seg == "is_first") scratch = l.index == 0;
  else if (seg == "is_last") scratch = l.index + 1 == l.size;
  else return nullptr;
  return &scratch;
}

const Json* Evaluator::lookup(const Expr& var, Json& scratch) {
  switch (var.binding) {
    case Binding::LoopValue:
      return walk(loops_[var.loopDepth].value, var.path, 1);
    case Binding::LoopKey:
      if (var.path.size() > 1) return nullptr;
      scratch = *loops_[var.loopDepth].key;
      return &scratch;
    case Binding::LoopMeta:
      return loopMeta(var.loopDepth, var.path, 1, scratch);
    case Binding::Data:
      break;
  }
  if (const Json* p = lookupPath(var.path)) return p;
  // inja falls back to a 0-argument callback of the same name: {{ body }}, {{ context }}.
  if (var.path.size() == 1 && var.path[0] == "body") {
    scratch = std::string(ctx_.body());
    return &scratch;
  }
  if (var.path.size() == 1 && var.path[0] == "context") return &ctx_.data();
  return nullptr;
}

bool Evaluator::exists(std::string_view name) {
  std::vector<std::string> path;
  if (!splitPath(name, program_.advanced, path)) return false;
  return lookupPath(path) != nullptr;
}

bool Evaluator::eval(const Expr& e, Value& out) {
  pos_ = e.pos;
  switch (e.kind) {
    case Expr::Kind::Literal:
      out.ref(&e.literal);
      return true;
    case Expr::Kind::Variable: {
      Json scratch;
      const Json* p = lookup(e, scratch);
      if (!p) return fail(e.pos, "variable '" + e.name + "' not found");
      if (p == &scratch)
        out.own(std::move(scratch));
      else
        out.ref(p);
      return true;
    }
    case Expr::Kind::Unary: {
      Value v;
      if (!eval(e.args[0], v)) return false;
      const Json& j = v.get();
      if (e.op == Op::Not) {
        out.own(Json(!truthy(j)));
      } else if (j.is_number_integer()) {
        out.own(Json(static_cast<int64_t>(0 - static_cast<uint64_t>(j.get<int64_t>()))));
      } else if (j.is_number()) {
        out.own(Json(-j.get<double>()));
      } else {
        return fail(e.pos, std::string("cannot negate a ") + j.type_name());
      }
      return true;
    }
    case Expr::Kind::Binary:
      return evalBinary(e, out);
    case Expr::Kind::Call:
      return evalCall(e, out);
    case Expr::Kind::Array:
    case Expr::Kind::Object: {
      Json result = e.kind == Expr::Kind::Array ? Json::array() : Json::object();
      for (size_t i = 0; i < e.args.size(); ++i) {
        Value v;
        if (!eval(e.args[i], v)) return false;
        if (e.kind == Expr::Kind::Array)
          result.push_back(std::move(v).take());
        else
          result[e.keys[i]] = std::move(v).take();
      }
      if (!checkDepth(e.pos, result, 0)) return false;
      out.own(std::move(result));
      return true;
    }
  }
  return true;
}

bool Evaluator::evalBinary(const Expr& e, Value& out) {
  Value a;
  if (!eval(e.args[0], a)) return false;
  // and / or short-circuit, so "exists(x) and x > 1" is safe.
  if (e.op == Op::And || e.op == Op::Or) {
    bool left = truthy(a.get());
    if (left == (e.op == Op::Or)) {
      out.own(Json(left));
      return true;
    }
    Value b;
    if (!eval(e.args[1], b)) return false;
    out.own(Json(truthy(b.get())));
    return true;
  }
  Value b;
  if (!eval(e.args[1], b)) return false;
  pos_ = e.pos;
  const Json& x = a.get();
  const Json& y = b.get();
  // Comparing or searching big values costs in proportion to their size.
  if ((x.is_structured() || y.is_structured()) && !charge(x.size() + y.size())) return false;
  switch (e.op) {
    case Op::Eq: out.own(Json(x == y)); return true;
    case Op::Ne: out.own(Json(x != y)); return true;
    case Op::Lt: out.own(Json(x < y)); return true;
    case Op::Le: out.own(Json(x <= y)); return true;
    case Op::Gt: out.own(Json(x > y)); return true;
    case Op::Ge: out.own(Json(x >= y)); return true;
    case Op::In: {
      // As inja: an element of an array, a value of an object, or equal to a scalar.
      bool found = false;
      if (y.is_structured()) {
        for (const Json& item : y)
          if (item == x) {
            found = true;
            break;
          }
      } else {
        found = x == y;
      }
      out.own(Json(found));
      return true;
    }
    default:
      return arithmetic(e, x, y, out);
  }
}

bool Evaluator::arithmetic(const Expr& e, const Json& a, const Json& b, Value& out) {
  if (e.op == Op::Add && a.is_string() && b.is_string()) {
    const std::string& x = a.get_ref<const std::string&>();
    const std::string& y = b.get_ref<const std::string&>();
    if (x.size() + y.size() > kMaxStringBytes) return fail(e.pos, "string value larger than 16 MiB");
    if (!charge((x.size() + y.size()) / 16)) return false;
    out.own(Json(x + y));
    return true;
  }
  if (!a.is_number() || !b.is_number())
    return fail(e.pos, std::string("cannot apply '") + opSymbol(e.op) + "' to " + a.type_name() + " and " + b.type_name());
  if (a.is_number_integer() && b.is_number_integer()) {
    // Integer arithmetic wraps (two's complement) instead of overflowing.
    int64_t x = a.get<int64_t>(), y = b.get<int64_t>();
    uint64_t ux = static_cast<uint64_t>(x), uy = static_cast<uint64_t>(y);
    switch (e.op) {
      case Op::Add: out.own(Json(static_cast<int64_t>(ux + uy))); return true;
      case Op::Sub: out.own(Json(static_cast<int64_t>(ux - uy))); return true;
      case Op::Mul: out.own(Json(static_cast<int64_t>(ux * uy))); return true;
      case Op::Div:
        if (y == 0) return fail(e.pos, "division by zero");
        out.own(Json(static_cast<double>(x) / static_cast<double>(y)));
        return true;
      case Op::Mod:
        if (y == 0) return fail(e.pos, "division by zero");
        out.own(Json(y == -1 ? int64_t{0} : x % y));
        return true;
      case Op::Pow: {
        if (y < 0) break;
        uint64_t result = 1, base = ux;
        for (uint64_t n = uy; n; n >>= 1) {
          if (n & 1) result *= base;
          base *= base;
        }
        out.own(Json(static_cast<int64_t>(result)));
        return true;
      }
      default: break;
    }
  }
  double x = a.get<double>(), y = b.get<double>();
  switch (e.op) {
    case Op::Add: out.own(Json(x + y)); return true;
    case Op::Sub: out.own(Json(x - y)); return true;
    case Op::Mul: out.own(Json(x * y)); return true;
    case Op::Div:
      if (y == 0) return fail(e.pos, "division by zero");
      out.own(Json(x / y));
      return true;
    case Op::Mod: {
      int64_t ix = toInt64(x), iy = toInt64(y);
      if (iy == 0) return fail(e.pos, "division by zero");
      out.own(Json(iy == -1 ? int64_t{0} : ix % iy));
      return true;
    }
    case Op::Pow: out.own(Json(std::pow(x, y))); return true;
    default: break;
  }
  return fail(e.pos, "unsupported operator");
}

}  // namespace portico::tmpl
