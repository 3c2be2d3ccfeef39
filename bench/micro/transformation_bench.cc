// Cost of applying a transformation per request, on top of the template render: the Gloo
// extract-query-parameter example (an extractor + a header template, body untouched), a REST
// function call with a path parameter, and a JSON body rewrite of a small request.
#include <benchmark/benchmark.h>

#include "filters/route_transformations.h"
#include "filters/transformation.h"

namespace portico::filters {
namespace {

config::TemplateText text(std::string t) { return {std::move(t), "t"}; }

Message request(std::string path, std::string body = "") {
  Message m;
  m.method = "GET";
  m.path = std::move(path);
  m.authority = "api.example.com";
  m.headers.add("user-agent", "wrk/4.1");
  m.headers.add("accept", "*/*");
  m.body = std::move(body);
  return m;
}

std::shared_ptr<const Transformation> compile(const config::TransformationTemplate& t) {
  config::Transformation tr;
  tr.tmpl = t;
  config::Errors errors;
  return Transformation::compile(tr, errors);
}

void BM_HeaderFromQueryParameter(benchmark::State& state) {
  config::TransformationTemplate t;
  config::Extractor e;
  e.name = "foo";
  e.header = ":path";
  e.regex = "(.*foo=([^&]*).*)";
  e.subgroup = 2;
  t.extractors.push_back(e);
  t.headers.push_back({"foo", text("{{ foo }}")});
  auto tr = compile(t);
  for (auto _ : state) {
    Message m = request("/get?a=1&foo=bar&b=2");
    Status st = tr->apply(m, nullptr);
    benchmark::DoNotOptimize(st);
  }
}
BENCHMARK(BM_HeaderFromQueryParameter);

void BM_RestFunctionPathParameter(benchmark::State& state) {
  config::TransformationTemplate fn;
  fn.headers.push_back({":path", text("/api/pets/{{ default(id, \"\") }}")});
  fn.headers.push_back({":method", text("GET")});
  config::RestDestination rest;
  rest.pathParameter = "/petstore/findPet/{id}";
  config::Errors errors;
  auto rt = RouteTransformations::compile(nullptr, &fn, &rest, errors);
  RouteTransformations::Selection sel;
  rt->select({"/petstore/findPet/42", "", "GET", nullptr}, sel);
  for (auto _ : state) {
    Message m = request("/petstore/findPet/42");
    Status st = sel.request[0]->apply(m, nullptr);
    benchmark::DoNotOptimize(st);
  }
}
BENCHMARK(BM_RestFunctionPathParameter);

void BM_JsonBodyRewrite(benchmark::State& state) {
  config::TransformationTemplate t;
  t.body = config::TransformationTemplate::Body::Text;
  t.bodyText = text(R"({"user": "{{ name }}", "total": {{ price * qty }}, "tags": {{ length(tags) }}})");
  auto tr = compile(t);
  const std::string body = R"({"name": "ada", "price": 12.5, "qty": 3, "tags": ["a", "b"]})";
  for (auto _ : state) {
    Message m = request("/orders", body);
    Status st = tr->apply(m, nullptr);
    benchmark::DoNotOptimize(st);
  }
}
BENCHMARK(BM_JsonBodyRewrite);

}  // namespace
}  // namespace portico::filters
