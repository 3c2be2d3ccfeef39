// Program: the compiled form of a template (statement and expression trees), built by the parser
// and walked by the evaluator. Immutable once built and shared by every copy of a Template.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace portico::tmpl {

using Json = nlohmann::json;

/// Source position, 1-based, in bytes; every runtime error names one.
struct Pos {
  uint32_t line = 1;
  uint32_t column = 1;
};

/// Built-in functions (inja 3.4 and Gloo's custom ones). functions.cc holds the name table.
enum class Fn : uint8_t {
  // inja 3.4
  At, Capitalize, Default, DivisibleBy, Even, Exists, ExistsIn, First, Float, Int, IsArray,
  IsBoolean, IsFloat, IsInteger, IsNumber, IsObject, IsString, Join, Last, Length, Lower, Max,
  Min, Odd, Range, Round, Sort, Upper,
  // Gloo (envoy-gloo inja_transformer.cc)
  Header, RequestHeader, Extraction, Body, Context, Env, Base64Encode, Base64Decode,
  Base64UrlEncode, Base64UrlDecode, Substring, Trim, ReplaceWithRandom, RawString, WordCount,
};

enum class Op : uint8_t {
  Or, And, Not, Neg,
  Eq, Ne, Lt, Le, Gt, Ge, In,
  Add, Sub, Mul, Div, Mod, Pow,
};

/// Where a variable's first segment binds, decided at compile time (loops scope lexically).
enum class Binding : uint8_t {
  Data,       ///< `set` variables first, then data() (then a 0-argument function: body, context)
  LoopValue,  ///< the value variable of the enclosing loop `loopDepth`
  LoopKey,    ///< the key variable of an object loop
  LoopMeta,   ///< `loop` (index, index1, is_first, is_last, parent)
};

struct Expr {
  enum class Kind : uint8_t { Literal, Variable, Unary, Binary, Call, Array, Object };
  Kind kind = Kind::Literal;
  Op op = Op::Or;          ///< Unary, Binary
  Fn fn = Fn::At;          ///< Call
  Binding binding = Binding::Data;
  uint16_t loopDepth = 0;  ///< Loop*: index into the evaluator's loop stack
  uint16_t height = 1;     ///< tree height, bounded by Template::kMaxDepth
  Pos pos;
  Json literal;                    ///< Literal (also: folded constant argument)
  std::string name;                ///< Variable: as written, for messages
  std::vector<std::string> path;   ///< Variable: segments (JSON-pointer unescaped)
  std::vector<Expr> args;          ///< operands, call arguments, array items, object values
  std::vector<std::string> keys;   ///< Object: keys, parallel to args
};

struct Stmt {
  enum class Kind : uint8_t { Text, Output, If, For, Set };
  Kind kind = Kind::Text;
  Pos pos;
  std::string text;                 ///< Text
  std::vector<Expr> exprs;          ///< Output: [value]; If: conditions; For: [iterable]; Set: [value]
  std::vector<std::vector<Stmt>> bodies;  ///< If: one per condition (+1 for else); For: [body]
  std::string valueVar, keyVar;     ///< For: `for value in` / `for key, value in`
  std::vector<std::string> target;  ///< Set: path being assigned
};

struct Program {
  std::string source;
  std::vector<Stmt> body;
  bool advanced = false;            ///< JSON-pointer variables
  bool escapeStrings = false;       ///< output strings JSON-escaped (escapeCharacters)
  bool readsBody = false;
  bool readsData = false;
  bool readsRawBody = false;           ///< body() or context()
  std::vector<std::string> dataRoots;  ///< first segment of every data() lookup
  bool dataRootsKnown = true;          ///< false: context() or exists() of a computed name
  bool hasSet = false;              ///< any {% set %}: lookups consult the set overlay
  std::array<uint64_t, 2> randomKey{};  ///< replace_with_random
};

}  // namespace portico::tmpl
