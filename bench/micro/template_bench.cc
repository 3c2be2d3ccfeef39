// Cost of rendering compiled templates per request: the Petstore path template Gloo's
// discovery writes, a 10-field JSON body template, and a loop over an array. Compile cost is
// measured once for comparison (it happens at config load, never per request).
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include <map>
#include <string>

#include "template/template.h"

namespace portico::tmpl {
namespace {

class BenchContext : public RenderContext {
public:
  nlohmann::json json;
  std::string bodyText;
  const nlohmann::json& data() const override { return json; }
  std::optional<std::string_view> header(std::string_view name) const override {
    if (name == ":path") return std::string_view("/petstore/findPet");
    if (name == "x-request-id") return std::string_view("0b9e6a8e-7c1d-4f3a");
    return std::nullopt;
  }
  std::optional<std::string_view> requestHeader(std::string_view name) const override { return header(name); }
  std::optional<std::string_view> extraction(std::string_view) const override { return std::nullopt; }
  std::string_view body() const override { return bodyText; }
};

BenchContext petContext() {
  BenchContext ctx;
  ctx.json = nlohmann::json::parse(R"({"id": 12345, "name": "doggie", "status": "available", "category": "dogs",
      "price": 19.99, "age": 3, "vaccinated": true, "owner": {"name": "Ann", "city": "Oslo"},
      "tags": ["friendly", "small", "brown"], "photo": "https://example.com/p/12345.jpg"})");
  ctx.bodyText = ctx.json.dump();
  return ctx;
}

constexpr const char* kPetstorePath = R"(/api/pets/{{ default(id, "") }})";
constexpr const char* kBody10 =
    R"({"id": {{ id }}, "name": "{{ name }}", "status": "{{ status }}", "category": "{{ category }}", )"
    R"("price": {{ price }}, "age": {{ age }}, "vaccinated": {{ vaccinated }}, "owner": "{{ owner.name }}", )"
    R"("city": "{{ owner.city }}", "request": "{{ header("x-request-id") }}"})";
constexpr const char* kLoop =
    R"([{% for t in tags %}"{{ upper(t) }}"{% if not loop.is_last %}, {% endif %}{% endfor %}])";

void renderBench(benchmark::State& state, const char* source) {
  auto t = Template::compile(source);
  if (!t.ok()) {
    state.SkipWithError(t.error().c_str());
    return;
  }
  BenchContext ctx = petContext();
  std::string out;
  for (auto _ : state) {
    out.clear();
    Status s = t->render(ctx, out);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(out.size()));
}

void BM_TemplateRenderPetstorePath(benchmark::State& state) { renderBench(state, kPetstorePath); }
BENCHMARK(BM_TemplateRenderPetstorePath);

void BM_TemplateRenderBody10Fields(benchmark::State& state) { renderBench(state, kBody10); }
BENCHMARK(BM_TemplateRenderBody10Fields);

void BM_TemplateRenderLoop(benchmark::State& state) { renderBench(state, kLoop); }
BENCHMARK(BM_TemplateRenderLoop);

void BM_TemplateCompileBody10Fields(benchmark::State& state) {
  for (auto _ : state) {
    auto t = Template::compile(kBody10);
    benchmark::DoNotOptimize(t);
  }
}
BENCHMARK(BM_TemplateCompileBody10Fields);

}  // namespace
}  // namespace portico::tmpl
