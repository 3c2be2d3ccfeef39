// dynamicMetadataValues and clearRouteCache: decoding (defaults, rejected forms), the
// DynamicMetadata store (replace, reuse, one-line values), rendering on the request and
// response side, and the clearRouteCache flag in a route's selection.
#include <gtest/gtest.h>

#include "../config/decode_test_util.h"
#include "filters/dynamic_metadata.h"
#include "filters/route_transformations.h"
#include "filters/transformation.h"

namespace portico::filters {
namespace {

using config::testing::decodeVs;
using config::testing::Strings;
using config::testing::vsErrors;
using config::testing::vsWithRoute;

config::TemplateText text(std::string t) { return {std::move(t), "t"}; }

config::DynamicMetadataValue value(std::string key, std::string tmpl,
                                   std::string ns = "io.solo.transformation") {
  config::DynamicMetadataValue v;
  v.metadataNamespace = std::move(ns);
  v.key = std::move(key);
  v.value = text(std::move(tmpl));
  return v;
}

/// A transformation template setting `values`.
config::Transformation settingMetadata(std::vector<config::DynamicMetadataValue> values) {
  config::Transformation t;
  t.tmpl.dynamicMetadataValues = std::move(values);
  return t;
}

const std::string kTt =
    "spec.virtualHost.routes[0].options.transformations.requestTransformation."
    "transformationTemplate.";

TEST(DynamicMetadataTest, DecodesValuesWithTheDefaultNamespace) {
  auto vs = decodeVs(vsWithRoute("      options:\n"
                                 "        transformations:\n"
                                 "          clearRouteCache: true\n"
                                 "          requestTransformation:\n"
                                 "            transformationTemplate:\n"
                                 "              dynamicMetadataValues:\n"
                                 "              - {key: user, value: {text: '{{ header(\"x-user\") }}'}}\n"
                                 "              - {metadataNamespace: my.ns, key: k, value: {text: v},"
                                 " jsonToProto: false}\n"));
  ASSERT_EQ(vs.routes.size(), 1u);
  const auto& rules = vs.routes[0].options.transformations->regular.requestTransforms;
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_TRUE(rules[0].clearRouteCache);
  const auto& values = rules[0].request->tmpl.dynamicMetadataValues;
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0].metadataNamespace, "io.solo.transformation");
  EXPECT_EQ(values[0].key, "user");
  EXPECT_EQ(values[0].value.text, "{{ header(\"x-user\") }}");
  EXPECT_EQ(values[0].value.fieldPath, kTt + "dynamicMetadataValues[0].value.text");
  EXPECT_EQ(values[1].metadataNamespace, "my.ns");
}

TEST(DynamicMetadataTest, RejectsWhatCannotWork) {
  EXPECT_EQ(vsErrors(vsWithRoute("      options:\n"
                                 "        transformations:\n"
                                 "          requestTransformation:\n"
                                 "            transformationTemplate:\n"
                                 "              dynamicMetadataValues:\n"
                                 "              - {key: k, value: {text: v}, jsonToProto: true}\n"
                                 "              - {metadataNamespace: 'a:b', key: 'x:y', value: {text: v}}\n"
                                 "              - {key: k}\n")),
            (Strings{kTt + "dynamicMetadataValues[0].jsonToProto: not supported by Portico: "
                           "metadata values are kept as strings (the access log prints them as "
                           "text)",
                     kTt + "dynamicMetadataValues[1].metadataNamespace: expected a non-empty "
                           "name without ':'",
                     kTt + "dynamicMetadataValues[1].key: expected a non-empty name without ':'",
                     kTt + "dynamicMetadataValues[2].value: required"}));
  // clearRouteCache re-routes after the request transformation: alone it would do nothing.
  EXPECT_EQ(vsErrors(vsWithRoute("      options:\n"
                                 "        stagedTransformations:\n"
                                 "          regular:\n"
                                 "            requestTransforms:\n"
                                 "            - clearRouteCache: true\n"
                                 "              responseTransformation: {transformationTemplate: {}}\n")),
            (Strings{"spec.virtualHost.routes[0].options.stagedTransformations.regular."
                     "requestTransforms[0].clearRouteCache: needs a requestTransformation (the "
                     "route is chosen again after it is applied)"}));
}

TEST(DynamicMetadataTest, StoreReplacesReusesAndKeepsOneLine) {
  DynamicMetadata m;
  EXPECT_EQ(m.find("ns", "k"), nullptr);
  m.set("ns", "k", "v1");
  m.set("other", "k", "v2");
  m.set("ns", "k", "line1\r\nline2");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(*m.find("ns", "k"), "line1  line2");
  EXPECT_EQ(*m.find("other", "k"), "v2");
  const std::string* before = m.find("ns", "k");
  const char* data = before->data();
  m.clear();
  EXPECT_EQ(m.find("ns", "k"), nullptr);
  m.set("ns2", "k2", "short");  // the first entry's strings are reused
  EXPECT_EQ(m.find("ns2", "k2"), before);
  EXPECT_EQ(m.find("ns2", "k2")->data(), data);
}

TEST(DynamicMetadataTest, RenderedOnRequestAndResponse) {
  config::Errors errors;
  config::Transformation req = settingMetadata(
      {value("user", "{{ header(\"x-user\") }}"), value("name", "{{ name }}", "body.ns")});
  req.tmpl.headers.push_back({"x-user", text("changed")});  // metadata sees the message as it came
  auto t = Transformation::compile(req, errors);
  auto resp = Transformation::compile(
      settingMetadata({value("seen", "{{ header(\":status\") }}/{{ request_header(\"x-user\") }}")}),
      errors);
  auto bad = Transformation::compile(settingMetadata({value("k", "{{ missing }}")}), errors);
  ASSERT_TRUE(errors.empty()) << errors.toString();
  EXPECT_TRUE(t->needsBody());  // {{ name }} comes from the JSON body

  DynamicMetadata store;
  Message m;
  m.method = "POST";
  m.path = "/";
  m.headers.add("x-user", "alice");
  m.body = R"({"name": "rex"})";
  m.metadata = &store;
  ASSERT_TRUE(t->apply(m, nullptr).ok());
  EXPECT_EQ(*store.find("io.solo.transformation", "user"), "alice");
  EXPECT_EQ(*store.find("body.ns", "name"), "rex");
  EXPECT_EQ(*m.headers.get("x-user"), "changed");

  Message r;
  r.status = 201;
  r.metadata = &store;
  ASSERT_TRUE(resp->apply(r, &m).ok());
  EXPECT_EQ(*store.find("io.solo.transformation", "seen"), "201/changed");

  // No store: rendered and dropped. A failing template fails the transformation.
  Message none = m;
  none.metadata = nullptr;
  EXPECT_TRUE(t->apply(none, nullptr).ok());
  Message b;
  b.body = "{}";
  b.metadata = &store;
  EXPECT_FALSE(bad->apply(b, nullptr).ok());
  EXPECT_EQ(store.find("io.solo.transformation", "k"), nullptr);
}

TEST(DynamicMetadataTest, ClearRouteCacheInTheSelection) {
  config::Transformations staged;
  config::RequestTransformRule rule;
  rule.request.emplace().tmpl.headers.push_back({"x-target", text("b")});
  rule.clearRouteCache = true;
  staged.regular.requestTransforms.push_back(rule);
  config::Errors errors;
  auto rt = RouteTransformations::compile(&staged, nullptr, nullptr, errors);
  ASSERT_TRUE(errors.empty()) << errors.toString();
  http::HeaderMap headers;
  router::RequestView view{"/", "", "GET", &headers, "example.com"};
  RouteTransformations::Selection sel;
  rt->select(view, sel);
  EXPECT_EQ(sel.requestCount, 1u);
  EXPECT_TRUE(sel.clearRouteCache);

  staged.regular.requestTransforms[0].clearRouteCache = false;
  rt = RouteTransformations::compile(&staged, nullptr, nullptr, errors);
  rt->select(view, sel);
  EXPECT_FALSE(sel.clearRouteCache);
}

}  // namespace
}  // namespace portico::filters
