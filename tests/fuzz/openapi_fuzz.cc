// libFuzzer target: the OpenAPI → REST functions converter (src/discovery/openapi.cc) on JSON or
// YAML documents. Checks: no crash or hang whatever the $refs, names unique and sorted, and every
// template text it generates compiles with the template engine (discovered functions must never
// be rejected by the config they are merged into).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "discovery/openapi.h"
#include "template/template.h"

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "INVARIANT: %s\n", what);
    abort();
  }
}

void checkTexts(const portico::config::Value& v) {
  if (const portico::config::Value* t = v.find("text")) {
    auto compiled = portico::tmpl::Template::compile(t->scalar, {});
    if (!compiled.ok()) fprintf(stderr, "template %s: %s\n", t->scalar.c_str(), compiled.error().c_str());
    check(compiled.ok(), "a generated template compiles");
  }
  for (const auto& [k, child] : v.map) checkTexts(child);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto result = portico::discovery::functionsFromOpenApi(text);
  if (!result.ok()) {
    check(!result.error().empty(), "an error has a reason");
    return 0;
  }
  const auto& fns = result->functions;
  for (size_t i = 0; i < fns.size(); ++i) {
    if (i) check(fns[i - 1].name < fns[i].name, "names are unique and sorted");
    checkTexts(fns[i].tmpl);
  }
  return 0;
}
