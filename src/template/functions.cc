// Built-in functions. inja 3.4's semantics come from its README and behaviour; Gloo's from
// envoy-gloo's inja_transformer.cc (its custom callbacks) and the Gloo transformation docs.
// Where an argument has the wrong type, inja/Gloo throw and Gloo answers 400: here that is a
// runtime error with the function's name and position.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <optional>
#include <cstdlib>

#include "template/evaluator.h"
#include "template/functions.h"
#include "template/text_util.h"

namespace portico::tmpl {

namespace {

// Sorted by name for binary search.
constexpr FunctionSpec kFunctions[] = {
    {"at", Fn::At, 2, 2},                        // at(array, i) / at(object, "key"): error if absent
    {"base64_decode", Fn::Base64Decode, 1, 1},   // Gloo: standard alphabet, padded; invalid → ""
    {"base64_encode", Fn::Base64Encode, 1, 1},   // Gloo: standard alphabet with '=' padding
    {"base64url_decode", Fn::Base64UrlDecode, 1, 1},  // Gloo: URL alphabet, padding optional; invalid → ""
    {"base64url_encode", Fn::Base64UrlEncode, 1, 1},  // Gloo: URL alphabet, no padding
    {"body", Fn::Body, 0, 0},                    // Gloo: the raw body text
    {"capitalize", Fn::Capitalize, 1, 1},        // first byte upper-case, the rest lower (ASCII)
    {"context", Fn::Context, 0, 0},              // Gloo: the whole JSON context (parsed body), even an array
    {"default", Fn::Default, 2, 2},              // default(var, v): v when the variable does not exist
    {"divisibleBy", Fn::DivisibleBy, 2, 2},      // integers; divisor 0 → false
    {"env", Fn::Env, 1, 1},                      // Gloo: environment variable or ""; literal names read at compile
    {"even", Fn::Even, 1, 1},
    {"exists", Fn::Exists, 1, 1},                // exists("a.b"): variable path exists (set vars, then data)
    {"existsIn", Fn::ExistsIn, 2, 2},            // existsIn(object, "key")
    {"extraction", Fn::Extraction, 1, 1},        // Gloo: named extractor's value or ""
    {"first", Fn::First, 1, 1},                  // first element; error on empty / non-array
    {"float", Fn::Float, 1, 1},                  // number or numeric string → float
    {"header", Fn::Header, 1, 1},                // Gloo: header of the transformed message or ""
    {"int", Fn::Int, 1, 1},                      // number (truncated) or numeric string → integer
    {"isArray", Fn::IsArray, 1, 1},
    {"isBoolean", Fn::IsBoolean, 1, 1},
    {"isFloat", Fn::IsFloat, 1, 1},
    {"isInteger", Fn::IsInteger, 1, 1},
    {"isNumber", Fn::IsNumber, 1, 1},
    {"isObject", Fn::IsObject, 1, 1},
    {"isString", Fn::IsString, 1, 1},
    {"join", Fn::Join, 2, 2},                    // join(array, sep): strings as is, others as JSON
    {"last", Fn::Last, 1, 1},
    {"length", Fn::Length, 1, 1},                // bytes of a string, size of array/object
    {"lower", Fn::Lower, 1, 1},                  // ASCII
    {"max", Fn::Max, 1, 1},                      // largest element of a non-empty array
    {"min", Fn::Min, 1, 1},
    {"odd", Fn::Odd, 1, 1},
    {"range", Fn::Range, 1, 1},                  // [0, 1, ..., n-1]; n <= 1,000,000
    {"raw_string", Fn::RawString, 1, 1},         // Gloo: string JSON-escaped without the quotes
    {"replace_with_random", Fn::ReplaceWithRandom, 2, 2},  // Gloo: every pattern → a random string
    {"request_header", Fn::RequestHeader, 1, 1},  // Gloo: the request's header or ""
    {"round", Fn::Round, 2, 2},                  // round(x, digits); digits 0 → integer
    {"sort", Fn::Sort, 1, 1},                    // sorted copy of an array (JSON ordering)
    {"substring", Fn::Substring, 2, 3},          // Gloo: substring(s, start[, len])
    {"trim", Fn::Trim, 1, 1},                    // Gloo: strip leading/trailing whitespace
    {"upper", Fn::Upper, 1, 1},                  // ASCII
    {"word_count", Fn::WordCount, 1, 1},         // Gloo: words in a string (or in all strings of a JSON value)
};

bool isUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool isLower(char c) { return c >= 'a' && c <= 'z'; }
char toUpper(char c) { return isLower(c) ? char(c - 'a' + 'A') : c; }
char toLower(char c) { return isUpper(c) ? char(c - 'A' + 'a') : c; }

int64_t truncated(const Json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  double d = v.get<double>();
  if (!(d == d)) return 0;
  if (d >= 9.2e18) return INT64_MAX;
  if (d <= -9.2e18) return INT64_MIN;
  return static_cast<int64_t>(d);
}

// Gloo's word_count over JSON: strings count their words, object keys too, numbers and
// booleans one each, null none. Iterative, so deep bodies cannot overflow the stack.
int64_t jsonWords(const Json& root, size_t& visited) {
  int64_t total = 0;
  std::vector<const Json*> stack{&root};
  while (!stack.empty()) {
    const Json* j = stack.back();
    stack.pop_back();
    ++visited;
    if (j->is_string()) {
      total += countWords(j->get_ref<const std::string&>());
    } else if (j->is_number() || j->is_boolean()) {
      total += 1;
    } else if (j->is_object()) {
      for (auto it = j->begin(); it != j->end(); ++it) {
        total += countWords(it.key());
        stack.push_back(&it.value());
      }
    } else if (j->is_array()) {
      for (const Json& item : *j) stack.push_back(&item);
    }
  }
  return total;
}

}  // namespace

const FunctionSpec* findFunction(std::string_view name) {
  auto it = std::lower_bound(std::begin(kFunctions), std::end(kFunctions), name,
                             [](const FunctionSpec& f, std::string_view n) { return f.name < n; });
  return it != std::end(kFunctions) && it->name == name ? it : nullptr;
}

std::string_view functionName(Fn fn) {
  for (const FunctionSpec& f : kFunctions)
    if (f.fn == fn) return f.name;
  return "?";
}

bool Evaluator::evalCall(const Expr& e, Value& out) {
  if (e.fn == Fn::Default) {
    // inja: only a variable that does not exist falls back; other errors propagate.
    const Expr& test = e.args[0];
    if (test.kind != Expr::Kind::Variable) return eval(test, out);
    Json scratch;
    const Json* p = lookup(test, scratch);
    if (!p) return eval(e.args[1], out);
    if (p == &scratch)
      out.own(std::move(scratch));
    else
      out.ref(p);
    return true;
  }

  Value vals[3];
  for (size_t i = 0; i < e.args.size(); ++i)
    if (!eval(e.args[i], vals[i])) return false;
  pos_ = e.pos;
  const Json& a = vals[0].get();
  const Json& b = vals[1].get();
  std::string name(functionName(e.fn));
  auto bad = [&](const char* expected) { return fail(e.pos, name + ": expected " + expected); };
  auto str = [](const Json& j) -> const std::string& { return j.get_ref<const std::string&>(); };
  auto result = [&](Json j) {
    if (!checkString(e.pos, j)) return false;
    out.own(std::move(j));
    return true;
  };
  // An element of argument 0: a reference when argument 0 outlives the call, else a copy.
  auto element = [&](const Json& j) {
    if (vals[0].isRef())
      out.ref(&j);
    else
      out.own(Json(j));
    return true;
  };
  auto chargeBytes = [&](size_t n) { return charge(n / 16); };

  switch (e.fn) {
    // ---- inja 3.4 ------------------------------------------------------------------------------
    case Fn::At:
      if (a.is_array() && b.is_number_integer()) {
        int64_t i = b.get<int64_t>();
        if (b.is_number_unsigned() || i < 0 || static_cast<uint64_t>(i) >= a.size())
          return fail(e.pos, "at: index " + b.dump() + " out of range (size " + std::to_string(a.size()) + ")");
        return element(a[static_cast<size_t>(i)]);
      }
      if (a.is_object() && b.is_string()) {
        auto it = a.find(str(b));
        if (it == a.end()) return fail(e.pos, "at: key '" + str(b) + "' not found");
        return element(*it);
      }
      return bad("an array and an integer, or an object and a string");
    case Fn::Capitalize: {
      if (!a.is_string()) return bad("a string");
      std::string s = str(a);
      for (size_t i = 0; i < s.size(); ++i) s[i] = i == 0 ? toUpper(s[i]) : toLower(s[i]);
      return chargeBytes(s.size()) && result(Json(std::move(s)));
    }
    case Fn::DivisibleBy: {
      if (!a.is_number() || !b.is_number()) return bad("two numbers");
      int64_t x = truncated(a), d = truncated(b);
      out.own(Json(d != 0 && (d == -1 || x % d == 0)));
      return true;
    }
    case Fn::Even:
    case Fn::Odd: {
      if (!a.is_number()) return bad("a number");
      bool even = truncated(a) % 2 == 0;
      out.own(Json(e.fn == Fn::Even ? even : !even));
      return true;
    }
    case Fn::Exists:
      if (!a.is_string()) return bad("a variable name string");
      out.own(Json(exists(str(a))));
      return true;
    case Fn::ExistsIn:
      if (!b.is_string()) return bad("an object and a key string");
      out.own(Json(a.is_object() && a.contains(str(b))));
      return true;
    case Fn::First:
    case Fn::Last:
      if (!a.is_array()) return bad("an array");
      if (a.empty()) return fail(e.pos, name + ": empty array");
      return element(e.fn == Fn::First ? a.front() : a.back());
    case Fn::Float: {
      if (a.is_number()) return result(Json(a.get<double>()));
      if (!a.is_string()) return bad("a number or a numeric string");
      const char* begin = str(a).c_str();
      char* end = nullptr;
      double d = std::strtod(begin, &end);
      if (end == begin) return fail(e.pos, "float: cannot convert '" + str(a).substr(0, 64) + "'");
      return result(Json(d));
    }
    case Fn::Int: {
      if (a.is_number()) return result(Json(truncated(a)));
      if (!a.is_string()) return bad("a number or a numeric string");
      const char* begin = str(a).c_str();
      char* end = nullptr;
      errno = 0;
      long long v = std::strtoll(begin, &end, 10);
      if (end == begin || errno == ERANGE) return fail(e.pos, "int: cannot convert '" + str(a).substr(0, 64) + "'");
      return result(Json(static_cast<int64_t>(v)));
    }
    case Fn::IsArray: out.own(Json(a.is_array())); return true;
    case Fn::IsBoolean: out.own(Json(a.is_boolean())); return true;
    case Fn::IsFloat: out.own(Json(a.is_number_float())); return true;
    case Fn::IsInteger: out.own(Json(a.is_number_integer())); return true;
    case Fn::IsNumber: out.own(Json(a.is_number())); return true;
    case Fn::IsObject: out.own(Json(a.is_object())); return true;
    case Fn::IsString: out.own(Json(a.is_string())); return true;
    case Fn::Join: {
      if (!a.is_array() || !b.is_string()) return bad("an array and a separator string");
      if (!charge(a.size())) return false;
      std::string s;
      for (size_t i = 0; i < a.size(); ++i) {
        if (i) s += str(b);
        if (a[i].is_string())
          s += str(a[i]);
        else
          s += a[i].dump();
        if (s.size() > kMaxStringBytes) return fail(e.pos, "string value larger than 16 MiB");
      }
      return chargeBytes(s.size()) && result(Json(std::move(s)));
    }
    case Fn::Length:
      out.own(Json(static_cast<uint64_t>(a.is_string() ? str(a).size() : a.size())));
      return true;
    case Fn::Lower:
    case Fn::Upper: {
      if (!a.is_string()) return bad("a string");
      std::string s = str(a);
      for (char& c : s) c = e.fn == Fn::Upper ? toUpper(c) : toLower(c);
      return chargeBytes(s.size()) && result(Json(std::move(s)));
    }
    case Fn::Max:
    case Fn::Min: {
      if (!a.is_array()) return bad("an array");
      if (a.empty()) return fail(e.pos, name + ": empty array");
      if (!charge(a.size())) return false;
      auto it = e.fn == Fn::Max ? std::max_element(a.begin(), a.end()) : std::min_element(a.begin(), a.end());
      return element(*it);
    }
    case Fn::Range: {
      if (!a.is_number_integer()) return bad("an integer");
      int64_t n = a.get<int64_t>();
      if (a.is_number_unsigned() || n > kMaxRange) return fail(e.pos, "range: " + a.dump() + " is larger than 1000000");
      if (n < 0) n = 0;
      if (!charge(static_cast<size_t>(n))) return false;
      Json arr = Json::array();
      for (int64_t i = 0; i < n; ++i) arr.push_back(i);
      out.own(std::move(arr));
      return true;
    }
    case Fn::Round: {
      if (!a.is_number() || !b.is_number()) return bad("a number and a precision");
      int64_t digits = truncated(b);
      double factor = std::pow(10.0, static_cast<double>(std::clamp<int64_t>(digits, -400, 400)));
      double r = std::round(a.get<double>() * factor) / factor;
      if (digits == 0 && r > -9.2e18 && r < 9.2e18)
        out.own(Json(static_cast<int64_t>(r)));
      else
        out.own(Json(r));
      return true;
    }
    case Fn::Sort: {
      if (!a.is_array()) return bad("an array");
      if (!charge(a.size() * 4)) return false;
      Json copy = a;
      // stable_sort stays in bounds even if NaN makes the ordering inconsistent.
      std::stable_sort(copy.begin(), copy.end());
      out.own(std::move(copy));
      return true;
    }

    // ---- Gloo ----------------------------------------------------------------------------------
    case Fn::Header:
    case Fn::RequestHeader:
    case Fn::Extraction: {
      if (!a.is_string()) return bad("a string");
      std::optional<std::string_view> v = e.fn == Fn::Header          ? ctx_.header(str(a))
                                          : e.fn == Fn::RequestHeader ? ctx_.requestHeader(str(a))
                                                                      : ctx_.extraction(str(a));
      return result(Json(std::string(v.value_or(std::string_view()))));
    }
    case Fn::Body: {
      std::string_view body = ctx_.body();
      return chargeBytes(body.size()) && result(Json(std::string(body)));
    }
    case Fn::Context:
      out.ref(&ctx_.data());
      return true;
    case Fn::Env: {
      if (!a.is_string()) return bad("a string");
      const char* v = std::getenv(str(a).c_str());
      return result(Json(std::string(v ? v : "")));
    }
    case Fn::Base64Encode:
    case Fn::Base64UrlEncode:
      if (!a.is_string()) return bad("a string");
      if (str(a).size() > kMaxStringBytes / 4 * 3) return fail(e.pos, "string value larger than 16 MiB");
      if (!chargeBytes(str(a).size())) return false;
      return result(Json(e.fn == Fn::Base64Encode ? base64Encode(str(a)) : base64UrlEncode(str(a))));
    case Fn::Base64Decode:
    case Fn::Base64UrlDecode: {
      if (!a.is_string()) return bad("a string");
      if (!chargeBytes(str(a).size())) return false;
      auto decoded = e.fn == Fn::Base64Decode ? base64Decode(str(a)) : base64UrlDecode(str(a));
      return result(Json(decoded ? std::move(*decoded) : std::string()));
    }
    case Fn::Substring: {
      // Gloo: a start or length that is not an integer gives ""; start outside the string gives
      // ""; a length <= 0 or running past the end means "to the end".
      if (!a.is_string()) return bad("a string");
      const Json& c = vals[2].get();
      bool hasLen = e.args.size() == 3;
      if (!b.is_number_integer() || (hasLen && !c.is_number_integer())) return result(Json(""));
      const std::string& s = str(a);
      int64_t start = b.get<int64_t>();
      if (b.is_number_unsigned() || start < 0 || static_cast<uint64_t>(start) >= s.size()) return result(Json(""));
      size_t from = static_cast<size_t>(start);
      int64_t len = hasLen ? c.get<int64_t>() : -1;
      if (hasLen && c.is_number_unsigned()) len = INT64_MAX;
      if (len <= 0 || static_cast<uint64_t>(len) > s.size() - from) return result(Json(s.substr(from)));
      return result(Json(s.substr(from, static_cast<size_t>(len))));
    }
    case Fn::Trim:
      if (!a.is_string()) return bad("a string");
      return result(Json(std::string(trimSpace(str(a)))));
    case Fn::ReplaceWithRandom: {
      // Gloo keeps one random string per pattern for the life of the transformation (its
      // TransformerInstance is built at config load): 128 random bits, base64 without padding.
      // Here it is a keyed hash of the pattern under the template's random key: the same value
      // per (key, pattern), with no state shared between worker threads.
      if (!a.is_string() || !b.is_string()) return bad("two strings");
      const std::string& s = str(a);
      const std::string& pattern = str(b);
      if (pattern.empty()) return result(Json(s));
      std::string bytes(16, '\0');
      uint64_t halves[2] = {sipHash24(program_.randomKey, "0" + pattern), sipHash24(program_.randomKey, "1" + pattern)};
      for (size_t i = 0; i < 16; ++i) bytes[i] = char((halves[i / 8] >> (8 * (i % 8))) & 0xFF);
      std::string random = base64Encode(bytes);
      random.resize(22);  // drop the "==" padding
      std::string res;
      size_t pos = 0;
      for (size_t hit; (hit = s.find(pattern, pos)) != std::string::npos; pos = hit + pattern.size()) {
        res.append(s, pos, hit - pos);
        res += random;
        if (res.size() > kMaxStringBytes) return fail(e.pos, "string value larger than 16 MiB");
      }
      res.append(s, pos);
      return chargeBytes(res.size()) && result(Json(std::move(res)));
    }
    case Fn::RawString: {
      // Gloo: the string as it would appear inside a JSON string literal (dump() minus the
      // quotes), for splicing values into JSON bodies. Non-strings are an error, as in Gloo.
      if (!a.is_string()) return bad("a string");
      if (!chargeBytes(str(a).size())) return false;
      auto escaped = jsonEscape(str(a));
      if (!escaped) return fail(e.pos, "raw_string: invalid UTF-8");
      return result(Json(std::move(*escaped)));
    }
    case Fn::WordCount: {
      size_t visited = 0;
      int64_t n = jsonWords(a, visited);
      if (!charge(visited) || (a.is_string() && !chargeBytes(str(a).size()))) return false;
      out.own(Json(n));
      return true;
    }
    case Fn::Default:
      break;
  }
  return fail(e.pos, "internal error: unhandled function " + name);
}

}  // namespace portico::tmpl
