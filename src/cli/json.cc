#include "cli/json.h"

#include "config/decode.h"

namespace portico::cli {

Json parseJson(std::string_view text) { return Json::parse(text.begin(), text.end(), nullptr, false); }

const Json* member(const Json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(std::string(key));
  return it == j.end() ? nullptr : &*it;
}

std::string getString(const Json& j, std::string_view key) {
  const Json* m = member(j, key);
  return m && m->is_string() ? m->get<std::string>() : "";
}

const Json* path(const Json& j, std::string_view dotted) {
  const Json* cur = &j;
  while (cur && !dotted.empty()) {
    size_t dot = dotted.find('.');
    cur = member(*cur, dotted.substr(0, dot));
    dotted = dot == std::string_view::npos ? std::string_view() : dotted.substr(dot + 1);
  }
  return cur;
}

std::string toCompactJson(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string toPrettyJson(const Json& j) { return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n"; }

std::string toYamlText(const Json& j) {
  auto value = config::parseJson(toCompactJson(j));
  return value.ok() ? config::toYaml(*value) : toPrettyJson(j);
}

}  // namespace portico::cli
