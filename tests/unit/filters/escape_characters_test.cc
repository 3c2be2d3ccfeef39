// transformationTemplate.escapeCharacters: strings that expressions output are JSON-escaped
// (so a template can put them inside a JSON string); literal text and non-strings are not.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "filters/transformation.h"

namespace portico::filters {
namespace {

std::shared_ptr<const Transformation> bodyTemplate(const std::string& text, bool escape,
                                                   bool parseJson = true) {
  config::Transformation t;
  t.tmpl.body = config::TransformationTemplate::Body::Text;
  t.tmpl.bodyText = {text, "body"};
  t.tmpl.escapeCharacters = escape;
  t.tmpl.parseBodyAsJson = parseJson;
  config::Errors errors;
  auto out = Transformation::compile(t, errors);
  EXPECT_TRUE(errors.empty()) << errors.toString();  // no longer rejected
  return out;
}

Message withBody(std::string body) {
  Message m;
  m.method = "POST";
  m.path = "/";
  m.headers.add("x-quote", "say \"hi\"\\");
  m.body = std::move(body);
  return m;
}

TEST(EscapeCharactersTest, OutputStringsAreJsonEscaped) {
  const std::string tmpl = R"({"msg": "{{ msg }}", "h": "{{ header("x-quote") }}", "n": {{ n }}})";
  Message m = withBody(R"({"msg": "line1\nline2 \"quoted\" \\ tab\t", "n": 3})");
  ASSERT_TRUE(bodyTemplate(tmpl, true)->apply(m, nullptr).ok());
  auto doc = nlohmann::json::parse(m.body, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << m.body;
  EXPECT_EQ(doc["msg"], "line1\nline2 \"quoted\" \\ tab\t");
  EXPECT_EQ(doc["h"], "say \"hi\"\\");
  EXPECT_EQ(doc["n"], 3);
}

TEST(EscapeCharactersTest, OffByDefault) {
  Message m = withBody(R"({"msg": "a \"b\""})");
  ASSERT_TRUE(bodyTemplate(R"({"msg": "{{ msg }}"})", false)->apply(m, nullptr).ok());
  EXPECT_EQ(m.body, R"({"msg": "a "b""})");  // Gloo's default: verbatim, invalid JSON
}

TEST(EscapeCharactersTest, LiteralTextUntouched) {
  Message m = withBody("");
  ASSERT_TRUE(bodyTemplate("\"literal\"\n{{ \"x\\\"y\" }}", true, false)->apply(m, nullptr).ok());
  EXPECT_EQ(m.body, "\"literal\"\nx\\\"y");
}

TEST(EscapeCharactersTest, InvalidUtf8IsAnError) {
  Message m = withBody("");
  m.headers.add("x-bin", "\xff");
  EXPECT_FALSE(bodyTemplate("{{ header(\"x-bin\") }}", true, false)->apply(m, nullptr).ok());
}

}  // namespace
}  // namespace portico::filters
