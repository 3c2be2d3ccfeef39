// parseYaml / parseJson / splitYamlDocuments: types, positions, errors.
#include <gtest/gtest.h>

#include "config/decode.h"

namespace portico::config {
namespace {

const Value& at(const Value& map, const char* key) {
  const Value* v = map.find(key);
  EXPECT_NE(v, nullptr) << key;
  static const Value kNull;
  return v ? *v : kNull;
}

TEST(ParseYamlTest, ScalarTypes) {
  auto r = parseYaml(
      "a: 1\n"
      "b: -2.5e3\n"
      "c: true\n"
      "d: False\n"
      "e: ~\n"
      "f: null\n"
      "g:\n"
      "h: hello world\n"
      "i: '123'\n"
      "j: \"true\"\n"
      "k: 0x1F\n"
      "l: 1.0.0\n"
      "m: ''\n"
      "n: !!str 42\n",
      "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->size(), 1u);
  const Value& root = r->front().root;
  ASSERT_TRUE(root.isMap());
  EXPECT_EQ(at(root, "a").type, Value::Type::Number);
  EXPECT_EQ(at(root, "a").scalar, "1");
  EXPECT_EQ(at(root, "b").type, Value::Type::Number);
  EXPECT_EQ(at(root, "c").type, Value::Type::Bool);
  EXPECT_EQ(at(root, "d").type, Value::Type::Bool);
  EXPECT_EQ(at(root, "e").type, Value::Type::Null);
  EXPECT_EQ(at(root, "f").type, Value::Type::Null);
  EXPECT_EQ(at(root, "g").type, Value::Type::Null);
  EXPECT_EQ(at(root, "h").type, Value::Type::String);
  EXPECT_EQ(at(root, "h").scalar, "hello world");
  EXPECT_EQ(at(root, "i").type, Value::Type::String);  // quoted: always a string
  EXPECT_EQ(at(root, "i").scalar, "123");
  EXPECT_EQ(at(root, "j").type, Value::Type::String);
  EXPECT_EQ(at(root, "k").type, Value::Type::Number);
  EXPECT_EQ(at(root, "l").type, Value::Type::String);
  EXPECT_EQ(at(root, "m").type, Value::Type::String);
  EXPECT_EQ(at(root, "m").scalar, "");
  EXPECT_EQ(at(root, "n").type, Value::Type::String);
}

TEST(ParseYamlTest, CollectionsKeepOrderAndPositions) {
  auto r = parseYaml(
      "spec:\n"
      "  list:\n"
      "  - x\n"
      "  - {y: 2}\n"
      "  z: [1, 2]\n",
      "t.yaml");
  ASSERT_TRUE(r.ok()) << r.error();
  const Value& root = r->front().root;
  EXPECT_EQ(root.line, 1);
  EXPECT_EQ(root.column, 1);
  const Value& spec = at(root, "spec");
  ASSERT_TRUE(spec.isMap());
  EXPECT_EQ(spec.line, 2);
  EXPECT_EQ(spec.column, 3);
  ASSERT_EQ(spec.map.size(), 2u);
  EXPECT_EQ(spec.map[0].first, "list");
  EXPECT_EQ(spec.map[1].first, "z");
  const Value& list = spec.map[0].second;
  ASSERT_TRUE(list.isList());
  ASSERT_EQ(list.list.size(), 2u);
  EXPECT_EQ(list.list[0].scalar, "x");
  EXPECT_EQ(list.list[0].line, 3);
  EXPECT_EQ(list.list[0].column, 5);
  EXPECT_TRUE(list.list[1].isMap());
  EXPECT_EQ(list.list[1].line, 4);
  EXPECT_EQ(at(list.list[1], "y").scalar, "2");
  EXPECT_EQ(spec.map[1].second.list.size(), 2u);
}

TEST(ParseYamlTest, MultipleDocumentsSkipEmptyAndRecordStartLine) {
  auto r = parseYaml(
      "# leading comment\n"
      "---\n"
      "a: 1\n"
      "---\n"
      "---\n"
      "# only a comment\n"
      "---\n"
      "b: 2\n",
      "dir/f.yaml");
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].source, "dir/f.yaml:3");  // first content line, not the "---"
  EXPECT_TRUE((*r)[0].root.find("a"));
  EXPECT_EQ((*r)[1].source, "dir/f.yaml:8");
  EXPECT_TRUE((*r)[1].root.find("b"));
}

TEST(ParseYamlTest, EmptyTextHasNoDocuments) {
  auto r = parseYaml("", "e.yaml");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  r = parseYaml("# nothing\n", "e.yaml");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

TEST(ParseYamlTest, SyntaxErrorNamesSourceLineAndColumn) {
  auto r = parseYaml("a: 1\nb: [1, 2\nc: 3\n", "bad.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().rfind("bad.yaml:", 0), 0u) << r.error();
  EXPECT_NE(r.error().find("end of sequence flow not found"), std::string::npos) << r.error();

  r = parseYaml("a: 1\n  b: 2\n", "bad.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().rfind("bad.yaml:2:", 0), 0u) << r.error();
}

TEST(ParseYamlTest, DuplicateKeyIsAnError) {
  auto r = parseYaml("metadata:\n  name: a\n  name: b\n", "dup.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "dup.yaml:3:3: duplicate key \"name\"");
}

TEST(ParseYamlTest, AnchorsAndAliasesExpand) {
  auto r = parseYaml("base: &b {x: 1}\ncopy: *b\n", "a.yaml");
  ASSERT_TRUE(r.ok()) << r.error();
  const Value& copy = at(r->front().root, "copy");
  ASSERT_TRUE(copy.isMap());
  EXPECT_EQ(at(copy, "x").scalar, "1");
}

TEST(ParseYamlTest, AliasBombIsRejectedNotExpanded) {
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev;
    for (int k = 0; k < 9; ++k)
      text += ", " + prev;
    text += "]\n";
  }
  auto r = parseYaml(text, "bomb.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("document too large"), std::string::npos) << r.error();
}

TEST(ParseYamlTest, StrayCommaIsAnErrorNotAnEndlessLoop) {
  // yaml-cpp 0.7 loops forever on these (jbeder/yaml-cpp#1040) unless the loader stops it.
  for (const char* text : {",", ",a: 1\n", "a: 1\n---\n,\n"}) {
    auto r = parseYaml(text, "comma.yaml");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.error().find("unexpected character"), std::string::npos) << r.error();
  }
  EXPECT_FALSE(parseJson(",").ok());
}

TEST(ParseYamlTest, ComplexKeysAreRejected) {
  auto r = parseYaml("? [a, b]\n: 1\n", "k.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("map keys must be scalars"), std::string::npos) << r.error();
}

TEST(ParseJsonTest, ParsesOneValue) {
  auto r = parseJson(R"({"a": [1, 2.5, "x\n\"y\"", true, null], "b": {"c": "\u00e9"}})");
  ASSERT_TRUE(r.ok()) << r.error();
  const Value& a = at(*r, "a");
  ASSERT_EQ(a.list.size(), 5u);
  EXPECT_EQ(a.list[0].type, Value::Type::Number);
  EXPECT_EQ(a.list[1].type, Value::Type::Number);
  EXPECT_EQ(a.list[2].scalar, "x\n\"y\"");
  EXPECT_EQ(a.list[3].type, Value::Type::Bool);
  EXPECT_EQ(a.list[4].type, Value::Type::Null);
  EXPECT_EQ(at(at(*r, "b"), "c").scalar, "\xC3\xA9");
}

TEST(ParseJsonTest, NullAndErrors) {
  auto r = parseJson("null");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(r->isNull());
  EXPECT_FALSE(parseJson("").ok());
  EXPECT_FALSE(parseJson("{\"a\": ").ok());
  auto dup = parseJson(R"({"a": 1, "a": 2})");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().find("duplicate key"), std::string::npos);
}

TEST(SplitYamlDocumentsTest, SplitsAtMarkerLinesOnly) {
  std::string text =
      "# head\na: 1\n---\nb: |\n  ----\n  --- not a marker? it is indented\n"
      "--- # comment\nc: 3\n----x: 1\n";
  auto spans = splitYamlDocuments(text);
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(text.substr(spans[0].begin, spans[0].end - spans[0].begin), "# head\na: 1\n");
  EXPECT_EQ(text.substr(spans[1].begin, 4), "---\n");
  EXPECT_EQ(text.substr(spans[2].begin, 13), "--- # comment");
  EXPECT_EQ(spans[2].end, text.size());
  EXPECT_EQ(spans[0].end, spans[1].begin);
  EXPECT_EQ(spans[1].end, spans[2].begin);
}

TEST(SplitYamlDocumentsTest, EmptyText) {
  auto spans = splitYamlDocuments("");
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].begin, 0u);
  EXPECT_EQ(spans[0].end, 0u);
}

TEST(YamlLoaderEncoding, RejectsNonUtf8Text) {
  // yaml-cpp would guess UTF-16 from these and read the file differently (config_decode fuzzer).
  auto nul = parseYaml(std::string_view("a: 1\0", 5), "x.yaml");
  ASSERT_FALSE(nul.ok());
  EXPECT_NE(nul.error().find("not UTF-8"), std::string::npos);
  EXPECT_FALSE(parseYaml("\xfe\xff\xff", "x.yaml").ok());
  EXPECT_TRUE(parseYaml("\xef\xbb\xbf" "a: 1", "x.yaml").ok());  // a UTF-8 BOM is fine
}

}  // namespace
}  // namespace portico::config
