// toYaml / toJson / jsonQuote: output shapes and round trips through parseYaml.
#include <gtest/gtest.h>

#include "config/decode.h"

namespace portico::config {
namespace {

// Structural equality ignoring source positions.
bool sameValue(const Value& a, const Value& b) {
  if (a.type != b.type) return false;
  if (a.isScalar() && a.scalar != b.scalar) return false;
  if (a.list.size() != b.list.size() || a.map.size() != b.map.size()) return false;
  for (size_t i = 0; i < a.list.size(); ++i)
    if (!sameValue(a.list[i], b.list[i])) return false;
  for (size_t i = 0; i < a.map.size(); ++i)
    if (a.map[i].first != b.map[i].first || !sameValue(a.map[i].second, b.map[i].second))
      return false;
  return true;
}

Value reparse(const std::string& yaml) {
  auto r = parseYaml(yaml, "roundtrip.yaml");
  EXPECT_TRUE(r.ok()) << r.error() << "\n" << yaml;
  if (!r.ok() || r->empty()) return Value();
  EXPECT_EQ(r->size(), 1u);
  return r->front().root;
}

Value scalar(Value::Type t, std::string text) {
  Value v;
  v.type = t;
  v.scalar = std::move(text);
  return v;
}

TEST(ToYamlTest, BlockStyle) {
  auto r = parseYaml("a: 1\nb:\n  c: [x, {d: e}]\n  f: []\n  g: {}\n", "t");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(toYaml(r->front().root),
            "a: 1\n"
            "b:\n"
            "  c:\n"
            "  - x\n"
            "  - d: e\n"
            "  f: []\n"
            "  g: {}\n");
}

TEST(ToYamlTest, QuotesStringsThatWouldChangeType) {
  Value v = Value::makeMap();
  for (const char* s : {"true", "false", "null", "~", "", "123", "1.5", "0x1F", ".inf", "yes", "No",
                        "on", "off", "y"})
    v.set(std::string("k") + s, Value::makeString(s));
  std::string yaml = toYaml(v);
  EXPECT_NE(yaml.find("ktrue: \"true\""), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("k: \"\""), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("k123: \"123\""), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("kyes: \"yes\""), std::string::npos) << yaml;
  Value back = reparse(yaml);
  EXPECT_TRUE(sameValue(v, back)) << yaml;
}

TEST(ToYamlTest, RoundTripsSpecialCharacters) {
  Value v = Value::makeMap();
  const char* strings[] = {
      "plain words",
      "a: b",
      "a:b",
      "# not a comment",
      "x #y",
      "- dash",
      "[x]",
      "{y}",
      "*alias",
      "&anchor",
      "!tag",
      "|block",
      ">folded",
      "'single'",
      "\"double\"",
      "back\\slash",
      "line\nbreak",
      "tab\there",
      " leading",
      "trailing ",
      "ctl\x01\x7f",
      "caf\xC3\xA9",
      "%percent",
      "@at",
      "`tick",
      "...",
      "---",
      "a,b",
      "{{ header(\":path\") }}",
      "/api/pets/{id}",
      "key: value\n- item",
      "?",
      ":",
  };
  for (size_t i = 0; i < std::size(strings); ++i)
    v.set("s" + std::to_string(i), Value::makeString(strings[i]));
  Value weirdKeys = Value::makeMap();
  for (const char* k : {"a b", "x: y", "", "#", "- z", "true", "1"})
    weirdKeys.set(k, Value::makeString("v"));
  v.set("keys", std::move(weirdKeys));
  Value nested = Value::makeList();
  Value inner = Value::makeList();
  inner.list.push_back(Value::makeString("deep"));
  inner.list.push_back(Value::makeMap());
  nested.list.push_back(std::move(inner));
  Value item = Value::makeMap();
  item.set("m", Value::makeString("1"));
  item.set("n", Value::makeList());
  nested.list.push_back(std::move(item));
  nested.list.push_back(Value());
  v.set("nested", std::move(nested));
  v.set("num", scalar(Value::Type::Number, "-12.5e3"));
  v.set("bool", scalar(Value::Type::Bool, "true"));
  v.set("null", Value());

  std::string yaml = toYaml(v);
  Value back = reparse(yaml);
  EXPECT_TRUE(sameValue(v, back)) << yaml;
}

TEST(ToYamlTest, ScalarRootsAndTopLevelLists) {
  EXPECT_EQ(toYaml(Value()), "null\n");
  EXPECT_EQ(toYaml(Value::makeString("x")), "x\n");
  Value list = Value::makeList();
  list.list.push_back(Value::makeString("a"));
  list.list.push_back(Value::makeString("---"));
  EXPECT_TRUE(sameValue(list, reparse(toYaml(list)))) << toYaml(list);
}

TEST(ToJsonTest, CompactAndEscaped) {
  auto r = parseYaml(
      "a: [1, -2.5, true, null, x]\n"
      "b: \"q\\\"b\\\\s\\n\\t\\x01\"\n"
      "c: {}\n"
      "d: []\n",
      "t");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(toJson(r->front().root),
            R"({"a":[1,-2.5,true,null,"x"],"b":"q\"b\\s\n\t\u0001","c":{},"d":[]})");
}

TEST(ToJsonTest, NormalizesYamlOnlyNumbers) {
  EXPECT_EQ(toJson(scalar(Value::Type::Number, "+1")), "1");
  EXPECT_EQ(toJson(scalar(Value::Type::Number, "0x1F")), "31");
  EXPECT_EQ(toJson(scalar(Value::Type::Number, "0o17")), "15");
  EXPECT_EQ(toJson(scalar(Value::Type::Number, "1.")), "1");
  EXPECT_EQ(toJson(scalar(Value::Type::Number, ".5")), "0.5");
  EXPECT_EQ(toJson(scalar(Value::Type::Number, ".inf")), "\".inf\"");
  EXPECT_EQ(toJson(scalar(Value::Type::Bool, "True")), "true");
  EXPECT_EQ(toJson(scalar(Value::Type::Bool, "FALSE")), "false");
}

TEST(ToJsonTest, RoundTripsThroughParseJson) {
  auto r = parseYaml("spec:\n  s: \"caf\xC3\xA9 \\u2028 \\\"x\\\"\"\n  n: [0, 1e3, {k: v}]\n", "t");
  ASSERT_TRUE(r.ok()) << r.error();
  std::string json = toJson(r->front().root);
  auto back = parseJson(json);
  ASSERT_TRUE(back.ok()) << back.error() << "\n" << json;
  EXPECT_TRUE(sameValue(r->front().root, *back)) << json;
}

TEST(JsonQuoteTest, Escapes) {
  EXPECT_EQ(jsonQuote(""), "\"\"");
  EXPECT_EQ(jsonQuote("a\"b"), R"("a\"b")");
  EXPECT_EQ(jsonQuote("a\\b"), R"("a\\b")");
  EXPECT_EQ(jsonQuote("\b\f\n\r\t"), R"("\b\f\n\r\t")");
  EXPECT_EQ(jsonQuote(std::string("\0\x1f", 2)), R"("\u0000\u001f")");
  EXPECT_EQ(jsonQuote("/\xC3\xA9"), "\"/\xC3\xA9\"");
}

}  // namespace
}  // namespace portico::config
