#include "config/value.h"

namespace portico::config {

const Value* Value::find(std::string_view key) const {
  if (type != Type::Map) return nullptr;
  for (const auto& [k, v] : map)
    if (k == key) return &v;
  return nullptr;
}

Value Value::makeString(std::string s) {
  Value v;
  v.type = Type::String;
  v.scalar = std::move(s);
  return v;
}

Value Value::makeMap() {
  Value v;
  v.type = Type::Map;
  return v;
}

Value Value::makeList() {
  Value v;
  v.type = Type::List;
  return v;
}

Value& Value::set(std::string key, Value v) {
  type = Type::Map;
  for (auto& [k, existing] : map) {
    if (k == key) {
      existing = std::move(v);
      return existing;
    }
  }
  map.emplace_back(std::move(key), std::move(v));
  return map.back().second;
}

const char* typeName(Value::Type t) {
  switch (t) {
  case Value::Type::Null: return "null";
  case Value::Type::Bool: return "boolean";
  case Value::Type::Number: return "number";
  case Value::Type::String: return "string";
  case Value::Type::List: return "list";
  case Value::Type::Map: return "map";
  }
  return "?";
}

}  // namespace portico::config
