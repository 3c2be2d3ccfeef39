// Test helpers for the template engine: an in-memory RenderContext and render-to-string.
// Shared by the tests/unit/template/*_test.cc suites.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "template/template.h"

namespace portico::tmpl::testing {

/// A RenderContext over plain maps. Header names are matched case-insensitively.
class FakeContext : public RenderContext {
public:
  nlohmann::json json = nlohmann::json::object();
  std::map<std::string, std::string> headers, requestHeaders, extractions;
  std::string bodyText;

  const nlohmann::json& data() const override { return json; }
  std::optional<std::string_view> header(std::string_view name) const override { return find(headers, name, true); }
  std::optional<std::string_view> requestHeader(std::string_view name) const override {
    return find(requestHeaders, name, true);
  }
  std::optional<std::string_view> extraction(std::string_view name) const override {
    return find(extractions, name, false);
  }
  std::string_view body() const override { return bodyText; }

private:
  static std::optional<std::string_view> find(const std::map<std::string, std::string>& m, std::string_view name,
                                              bool fold) {
    std::string key(name);
    if (fold)
      for (char& c : key) c = (c >= 'A' && c <= 'Z') ? char(c + 32) : c;
    auto it = m.find(key);
    if (it == m.end()) return std::nullopt;
    return std::string_view(it->second);
  }
};

/// Compiles and renders; a failure comes back as "COMPILE: <message>" or "RENDER: <message>".
inline std::string render(std::string_view source, const FakeContext& ctx, CompileOptions options = {}) {
  auto t = Template::compile(source, options);
  if (!t.ok()) return "COMPILE: " + t.error();
  std::string out;
  Status st = t->render(ctx, out);
  if (!st.ok()) return "RENDER: " + st.message();
  return out;
}

inline std::string render(std::string_view source, const nlohmann::json& data = nlohmann::json::object(),
                          CompileOptions options = {}) {
  FakeContext ctx;
  ctx.json = data;
  return render(source, ctx, options);
}

}  // namespace portico::tmpl::testing
