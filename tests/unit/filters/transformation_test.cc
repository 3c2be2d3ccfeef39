// Transformation::apply on messages: extractor modes, header templates (set, append, remove,
// pseudo-headers, empty = removed), body modes, Gloo's error answers, and what needs the body.
#include <gtest/gtest.h>

#include "filters/route_transformations.h"
#include "filters/transformation.h"

namespace portico::filters {
namespace {

config::TemplateText text(std::string t) { return {std::move(t), "t"}; }

config::Extractor extractor(std::string name, std::string header, std::string regex,
                            uint32_t subgroup = 0) {
  config::Extractor e;
  e.name = std::move(name);
  e.header = std::move(header);
  e.regex = std::move(regex);
  e.subgroup = subgroup;
  return e;
}

std::shared_ptr<const Transformation> compileOk(const config::TransformationTemplate& t) {
  config::Transformation tr;
  tr.tmpl = t;
  config::Errors errors;
  auto out = Transformation::compile(tr, errors);
  EXPECT_TRUE(errors.empty()) << errors.toString();
  return out;
}

Message request(std::string path, std::string body = "") {
  Message m;
  m.method = "GET";
  m.path = std::move(path);
  m.authority = "example.com";
  m.headers.add("user-agent", "curl/8");
  m.headers.add("x-remove", "1");
  m.body = std::move(body);
  return m;
}

TEST(TransformationTest, ExtractorModes) {
  config::TransformationTemplate t;
  t.extractors.push_back(extractor("foo", ":path", "(.*foo=([^&]*).*)", 2));
  t.extractors.push_back(extractor("nomatch", ":path", "/nothing"));
  auto replace = extractor("masked", "user-agent", "curl/([0-9]+)", 1);
  replace.mode = config::Extractor::Mode::SingleReplace;
  replace.replacementText = "X";
  t.extractors.push_back(replace);
  auto all = extractor("dashes", ":path", "[/?=&]");
  all.mode = config::Extractor::Mode::ReplaceAll;
  all.replacementText = "-";
  t.extractors.push_back(all);
  t.headers.push_back({"x-foo", text("{{ foo }}")});
  t.headers.push_back({"x-none", text("[{{ nomatch }}]")});
  t.headers.push_back({"x-masked", text("{{ masked }}")});
  t.headers.push_back({"x-dashes", text("{{ dashes }}")});
  auto tr = compileOk(t);
  // Every variable is an extraction: the body is not needed (it streams).
  EXPECT_FALSE(tr->needsBody());
  Message m = request("/p?a=1&foo=bar");
  ASSERT_TRUE(tr->apply(m, nullptr).ok());
  EXPECT_EQ(*m.headers.get("x-foo"), "bar");
  EXPECT_EQ(*m.headers.get("x-none"), "[]");  // no match: empty (Gloo)
  EXPECT_EQ(*m.headers.get("x-masked"), "curl/X");
  EXPECT_EQ(*m.headers.get("x-dashes"), "-p-a-1-foo-bar");
}

TEST(TransformationTest, WhatNeedsTheBody) {
  auto needs = [](std::string text, bool advanced = false, bool passthrough = false) {
    config::TransformationTemplate t;
    t.advancedTemplates = advanced;
    t.extractors.push_back(extractor("ex.a", ":path", ".*"));
    t.headers.push_back({"x", {std::move(text), "t"}});
    if (passthrough) t.body = config::TransformationTemplate::Body::Passthrough;
    return compileOk(t)->needsBody();
  };
  EXPECT_FALSE(needs("{{ header(\"a\") }}"));
  EXPECT_FALSE(needs("{{ ex.a }}"));
  EXPECT_FALSE(needs("{% if exists(\"ex.a\") %}1{% endif %}"));
  EXPECT_TRUE(needs("{{ other }}"));
  EXPECT_TRUE(needs("{{ body() }}"));
  EXPECT_TRUE(needs("{{ context() }}"));
  EXPECT_TRUE(needs("{{ extraction(\"ex.a\") }}{{ ex/a }}", true));
  EXPECT_FALSE(needs("{{ other }}", false, true));  // passthrough: the body is not parsed
  EXPECT_TRUE(needs("{{ body() }}", false, true));
}

TEST(TransformationTest, HeadersPseudoHeadersAndRemoval) {
  config::TransformationTemplate t;
  t.headers.push_back({":path", text("/new{{ header(\":path\") }}")});
  t.headers.push_back({":method", text("POST")});
  t.headers.push_back({"user-agent", text("")});  // renders empty: removed
  t.headersToAppend.push_back({"x-multi", text("a")});
  t.headersToAppend.push_back({"x-multi", text("b")});
  t.headersToRemove.push_back("x-remove");
  t.parseBodyAsJson = false;
  auto tr = compileOk(t);
  Message m = request("/old");
  ASSERT_TRUE(tr->apply(m, nullptr).ok());
  EXPECT_EQ(m.path, "/new/old");
  EXPECT_EQ(m.method, "POST");
  EXPECT_FALSE(m.headers.has("user-agent"));
  EXPECT_FALSE(m.headers.has("x-remove"));
  size_t multi = 0;
  for (const auto& h : m.headers) multi += h.name == "x-multi";
  EXPECT_EQ(multi, 2u);
  EXPECT_FALSE(m.bodyChanged);
}

TEST(TransformationTest, InjectedLineBreaksAndBadPathsAre400) {
  config::TransformationTemplate t;
  t.headers.push_back({"x-h", text("{{ header(\"x-in\") }}")});
  auto tr = compileOk(t);
  Message m = request("/");
  m.headers.add("x-in", "a\r\nevil: 1");
  Status st = tr->apply(m, nullptr);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "transformation produced an invalid value for header x-h");

  config::TransformationTemplate p;
  p.headers.push_back({":path", text("no-slash")});
  Message m2 = request("/");
  EXPECT_EQ(compileOk(p)->apply(m2, nullptr).message(), "transformation produced an invalid :path");
}

TEST(TransformationTest, JsonBodyTemplateAndErrors) {
  config::TransformationTemplate t;
  t.body = config::TransformationTemplate::Body::Text;
  t.bodyText = text("{{ a.b }}-{{ length(list) }}");
  auto tr = compileOk(t);
  EXPECT_TRUE(tr->needsBody());
  Message m = request("/", R"({"a": {"b": "x"}, "list": [1, 2, 3]})");
  ASSERT_TRUE(tr->apply(m, nullptr).ok());
  EXPECT_EQ(m.body, "x-3");
  EXPECT_TRUE(m.bodyChanged);

  Message deep = request("/", std::string(100000, '[') + std::string(100000, ']'));
  EXPECT_EQ(tr->apply(deep, nullptr).message(), "body JSON is nested too deeply");
  Message bad = request("/", "{oops");
  EXPECT_EQ(tr->apply(bad, nullptr).message(), "body is not valid JSON");
  Message missing = request("/", "{}");
  Status st = tr->apply(missing, nullptr);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("transformation failed: "), std::string::npos) << st.message();

  config::TransformationTemplate lenient = t;
  lenient.ignoreErrorOnParse = true;
  lenient.bodyText = text("raw={{ body() }}");
  Message m2 = request("/", "{oops");
  ASSERT_TRUE(compileOk(lenient)->apply(m2, nullptr).ok());
  EXPECT_EQ(m2.body, "raw={oops");
}

TEST(TransformationTest, MergeModesNestDottedNames) {
  config::TransformationTemplate t;
  t.extractors.push_back(extractor("host.name", ":authority", ".*"));
  t.body = config::TransformationTemplate::Body::MergeExtractorsToBody;
  auto tr = compileOk(t);
  Message m = request("/", R"({"keep": 1})");
  ASSERT_TRUE(tr->apply(m, nullptr).ok());
  EXPECT_EQ(m.body, R"({"host":{"name":"example.com"},"keep":1})");

  config::TransformationTemplate k;
  k.body = config::TransformationTemplate::Body::MergeJsonKeys;
  k.mergeJsonKeys.push_back({"a.b", text("{{ 1 + 1 }}"), false});
  k.mergeJsonKeys.push_back({"s", text("\"str\""), false});
  k.mergeJsonKeys.push_back({"skip", text(""), false});
  Message m2 = request("/", R"({"a": {"c": true}})");
  ASSERT_TRUE(compileOk(k)->apply(m2, nullptr).ok());
  EXPECT_EQ(m2.body, R"({"a":{"b":2,"c":true},"s":"str"})");
}

TEST(TransformationTest, HeaderBodyTransformSurvivesInvalidUtf8) {
  config::Transformation tr;
  tr.type = config::Transformation::Type::HeaderBody;
  config::Errors errors;
  auto t = Transformation::compile(tr, errors);
  EXPECT_TRUE(t->needsBody());
  Message m = request("/x", std::string("\xff\xfe", 2));
  ASSERT_TRUE(t->apply(m, nullptr).ok());
  EXPECT_NE(m.body.find(R"("headers":{":authority":"example.com",":method":"GET",":path":"/x")"),
            std::string::npos)
      << m.body;
  EXPECT_EQ(*m.headers.get("content-type"), "application/json");
}

TEST(TransformationTest, HeaderBodyTransformAddsRequestMetadata) {
  // envoy-gloo's addRequestMetadata: last value wins in headers / queryStringParameters, every
  // value of a repeated name in the multiValue maps, names and values percent-decoded.
  config::Transformation tr;
  tr.type = config::Transformation::Type::HeaderBody;
  tr.addRequestMetadata = true;
  config::Errors errors;
  auto t = Transformation::compile(tr, errors);
  Message m = request("/pets/1?a=1&b=x%20y&a=2&flag", "{}");
  m.headers.add("x-dup", "one");
  m.headers.add("x-dup", "two");
  ASSERT_TRUE(t->apply(m, nullptr).ok());
  auto has = [&](const char* part) {
    EXPECT_NE(m.body.find(part), std::string::npos) << part << " in " << m.body;
  };
  has(R"("httpMethod":"GET")");
  has(R"("path":"/pets/1")");
  has(R"("queryString":"a=1&b=x%20y&a=2&flag")");
  has(R"("queryStringParameters":{"a":"2","b":"x y","flag":""})");
  has(R"("multiValueQueryStringParameters":{"a":["1","2"]})");
  has(R"("multiValueHeaders":{"x-dup":["one","two"]})");
  has(R"("x-dup":"two")");

  // Without it: no metadata, repeated headers joined as before.
  config::Transformation plain;
  plain.type = config::Transformation::Type::HeaderBody;
  Message m2 = request("/pets/1?a=1", "{}");
  m2.headers.add("x-dup", "one");
  m2.headers.add("x-dup", "two");
  ASSERT_TRUE(Transformation::compile(plain, errors)->apply(m2, nullptr).ok());
  EXPECT_EQ(m2.body.find("httpMethod"), std::string::npos) << m2.body;
  EXPECT_NE(m2.body.find(R"("x-dup":"one,two")"), std::string::npos) << m2.body;
}

TEST(TransformationTest, CompileErrorsNameTheTemplateField) {
  config::Transformation tr;
  tr.tmpl.headers.push_back({"x", {"{{ unknown_fn(1) }}", "spec.h.x.text"}});
  tr.tmpl.extractors.push_back(extractor("e", ":path", "(a)", 3));
  tr.tmpl.fieldPath = "spec.t";
  config::Errors errors;
  Transformation::compile(tr, errors);
  ASSERT_EQ(errors.items().size(), 2u) << errors.toString();
  EXPECT_EQ(errors.items()[0], "spec.t.extractors.e.subgroup: the regex has only 1 capturing groups");
  EXPECT_EQ(errors.items()[1].rfind("spec.h.x.text: invalid template: line 1, column", 0), 0u)
      << errors.items()[1];
}

TEST(RestParametersTest, PatternsBecomeExtractors) {
  config::RestDestination rest;
  rest.pathParameter = "/pets/{id}/x.{fmt}";
  rest.headerParameters.push_back({"x-owner", "{owner}"});
  rest.headerParameters.push_back({"x-whole", "whole"});
  auto ex = restParameterExtractors(rest);
  ASSERT_EQ(ex.size(), 4u);
  EXPECT_EQ(ex[0].name, "id");
  EXPECT_EQ(ex[0].subgroup, 1u);
  EXPECT_EQ(ex[1].name, "fmt");
  EXPECT_EQ(ex[1].subgroup, 2u);
  EXPECT_EQ(ex[0].regex, "\\/pets\\/([\\-._[:alnum:]]+)\\/x\\.([\\-._[:alnum:]]+)(?:\\?.*)?");
  EXPECT_EQ(ex[3].name, "whole");
  EXPECT_EQ(ex[3].regex, "(.*)");

  config::TransformationTemplate fn;
  fn.headers.push_back({":path", text("/api/{{ id }}/{{ fmt }}/{{ owner }}")});
  config::Errors errors;
  auto rt = RouteTransformations::compile(nullptr, &fn, &rest, errors);
  ASSERT_TRUE(errors.empty()) << errors.toString();
  RouteTransformations::Selection sel;
  rt->select({"/pets/7/x.json", "q=1", "GET", nullptr}, sel);
  ASSERT_EQ(sel.requestCount, 1u);
  Message m = request("/pets/7/x.json?q=1");
  m.headers.add("x-owner", "ann");
  ASSERT_TRUE(sel.request[0]->apply(m, nullptr).ok());
  EXPECT_EQ(m.path, "/api/7/json/ann");
}

}  // namespace
}  // namespace portico::filters
