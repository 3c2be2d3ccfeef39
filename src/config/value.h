// Value: the generic document tree every config object is decoded from (YAML or JSON),
// with source positions so that errors can point at a line. Keeps yaml-cpp out of headers.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico::config {

class Value {
public:
  enum class Type { Null, Bool, Number, String, List, Map };

  // Spelled out: clang (the fuzz build) otherwise instantiates the vector of pairs' default
  // constructor while the pair's Value is still incomplete, and rejects it.
  Value() = default;

  Type type = Type::Null;
  /// Text of a scalar exactly as written (Bool/Number/String); empty for Null/List/Map.
  std::string scalar;
  std::vector<Value> list;
  /// Map entries in document order; keys are unique (the loader rejects duplicates).
  std::vector<std::pair<std::string, Value>> map;
  /// 1-based source position; 0 when unknown (e.g. built in code).
  int line = 0;
  int column = 0;

  bool isNull() const { return type == Type::Null; }
  bool isMap() const { return type == Type::Map; }
  bool isList() const { return type == Type::List; }
  bool isScalar() const { return type == Type::Bool || type == Type::Number || type == Type::String; }
  /// Map lookup; nullptr when absent or when this is not a map.
  const Value* find(std::string_view key) const;

  static Value makeString(std::string s);
  static Value makeMap();
  static Value makeList();
  /// Map insert-or-replace, keeping order.
  Value& set(std::string key, Value v);
};

/// Type name for error messages: "null", "boolean", "number", "string", "list", "map".
const char* typeName(Value::Type t);

}  // namespace portico::config
