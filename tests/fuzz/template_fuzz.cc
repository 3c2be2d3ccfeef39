// libFuzzer target: the template engine. Byte 0 picks the variable notation (bit 0: JSON
// pointers); the rest is template source. Every input is compiled; a template that compiles is
// rendered against two fixed contexts and checked: errors carry a position, rendering is
// deterministic, and a template that says it does not read the body renders the same whatever
// the body and data are.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "template/template.h"

namespace {

using portico::tmpl::CompileOptions;
using portico::tmpl::RenderContext;
using portico::tmpl::Template;

class Context : public RenderContext {
public:
  Context(const char* json, std::string body) : data_(nlohmann::json::parse(json)), body_(std::move(body)) {}
  const nlohmann::json& data() const override { return data_; }
  std::optional<std::string_view> header(std::string_view name) const override { return get(headers_, name); }
  std::optional<std::string_view> requestHeader(std::string_view name) const override {
    return get(requestHeaders_, name);
  }
  std::optional<std::string_view> extraction(std::string_view name) const override { return get(extractions_, name); }
  std::string_view body() const override { return body_; }

private:
  static std::optional<std::string_view> get(const std::map<std::string, std::string, std::less<>>& m,
                                             std::string_view k) {
    auto it = m.find(k);
    if (it == m.end()) return std::nullopt;
    return std::string_view(it->second);
  }
  nlohmann::json data_;
  std::string body_;
  std::map<std::string, std::string, std::less<>> headers_{
      {":path", "/api/pets/7?x=1"}, {":method", "POST"}, {"x-b64", "aGVsbG8="}, {"x-bad", "\xff\xfe"}};
  std::map<std::string, std::string, std::less<>> requestHeaders_{{"x-request-id", "abc-123"}, {"baz", "a b a"}};
  std::map<std::string, std::string, std::less<>> extractions_{{"foo", "bar"}, {"empty", ""}};
};

const Context& contextA() {
  static const Context ctx(
      R"({"id": 7, "name": "doggie", "f": 2.5, "neg": -3, "big": 18446744073709551615, "t": true,
          "n": null, "s": "  a b\tc ", "tags": ["x", "y", "z"], "nums": [3, 1.5, -2, 0],
          "nested": {"a": {"b": [1, {"c": "deep"}]}}, "mixed": [null, true, "s", 1, [2], {"k": 3}],
          "uni": "caf\u00e9 \ud83d\ude00", "a.b": "dot", "sl/ash": "slash", "empty": "", "obj": {}})",
      R"({"id": 7, "name": "doggie"})");
  return ctx;
}

const Context& contextB() {
  static const Context ctx(R"({"other": [1, 2, 3], "id": "seven"})", "completely different body \xff");
  return ctx;
}

[[noreturn]] void violated(const char* what, std::string_view source, const std::string& detail) {
  std::fprintf(stderr, "INVARIANT: %s\nsource: %.*s\ndetail: %s\n", what, static_cast<int>(source.size()),
               source.data(), detail.c_str());
  std::abort();
}

bool positioned(const std::string& message) {
  return message.rfind("line ", 0) == 0 || message.rfind("render error: ", 0) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  CompileOptions options;
  options.advancedTemplates = (data[0] & 1) != 0;
  options.randomKey = std::array<uint64_t, 2>{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  std::string_view source(reinterpret_cast<const char*>(data + 1), size - 1);

  auto compiled = Template::compile(source, options);
  if (!compiled.ok()) {
    if (!positioned(compiled.error())) violated("compile error without a position", source, compiled.error());
    return 0;
  }
  const Template& t = *compiled;
  if (t.readsData() && !t.readsBody()) violated("readsData without readsBody", source, "");

  std::string out1, out2;
  portico::Status s1 = t.render(contextA(), out1);
  portico::Status s2 = Template(t).render(contextA(), out2);
  if (!s1.ok() && !positioned(s1.message())) violated("render error without a position", source, s1.message());
  if (s1.ok() != s2.ok() || out1 != out2 || s1.message() != s2.message())
    violated("rendering twice differs", source, out1 + " | " + out2);

  if (!t.readsBody()) {
    std::string out3;
    portico::Status s3 = t.render(contextB(), out3);
    if (s3.ok() != s1.ok() || out3 != out1)
      violated("a template that does not read the body depends on it", source, out1 + " | " + out3);
  }
  return 0;
}
