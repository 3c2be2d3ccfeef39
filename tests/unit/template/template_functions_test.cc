// Every built-in function: inja 3.4's and Gloo's custom ones, including their edge cases.
#include <gtest/gtest.h>

#include <cstdlib>

#include "template/text_util.h"
#include "template_test_util.h"

namespace portico::tmpl {
namespace {

using nlohmann::json;
using testing::FakeContext;
using testing::render;

const json kData = json::parse(R"({
  "neighbour": "Peter", "guests": ["Jeff", "Tom", "Patrick"], "time": {"start": 16, "end": 22},
  "nums": [3, 1, 2], "mixed": [2, "a", 1, null], "s": "  padded  ", "n": 42, "f": 3.1415,
  "words": "the quick  brown\tfox\n", "nothing": null, "id": 7
})");

struct Case {
  const char* source;
  const char* expected;
};

void runCases(const Case* begin, const Case* end, const FakeContext& ctx) {
  for (const Case* c = begin; c != end; ++c) EXPECT_EQ(render(c->source, ctx), c->expected) << c->source;
}
void runCases(const Case* begin, const Case* end) {
  FakeContext ctx;
  ctx.json = kData;
  runCases(begin, end, ctx);
}

TEST(TemplateFunctions, StringCase) {
  const Case cases[] = {
      {"{{ upper(neighbour) }}", "PETER"},
      {"{{ lower(neighbour) }}", "peter"},
      {R"({{ capitalize("hELLO wORLD") }})", "Hello world"},
      {R"({{ capitalize("") }})", ""},
      {R"({{ upper("\u00e9a") }})", "\xC3\xA9" "A"},  // ASCII only
      {"{{ upper(n) }}", "RENDER: line 1, column 4: upper: expected a string"},
  };
  runCases(std::begin(cases), std::end(cases));
}

TEST(TemplateFunctions, Collections) {
  const Case cases[] = {
      {"{{ length(guests) }}", "3"},
      {"{{ length(neighbour) }}", "5"},
      {"{{ length(time) }}", "2"},
      {"{{ length(nothing) }}", "0"},
      {"{{ first(guests) }}", "Jeff"},
      {"{{ last(guests) }}", "Patrick"},
      {"{{ first([]) }}", "RENDER: line 1, column 4: first: empty array"},
      {"{{ last(neighbour) }}", "RENDER: line 1, column 4: last: expected an array"},
      {"{{ sort(nums) }}", "[1,2,3]"},
      {"{{ sort(guests) }}", R"(["Jeff","Patrick","Tom"])"},
      {"{{ sort(mixed) }}", R"([null,1,2,"a"])"},
      {"{{ max(nums) }}", "3"},
      {"{{ min(nums) }}", "1"},
      {"{{ max([]) }}", "RENDER: line 1, column 4: max: empty array"},
      {"{{ at(guests, 1) }}", "Tom"},
      {R"({{ at(time, "start") }})", "16"},
      {"{{ at(guests, 3) }}", "RENDER: line 1, column 4: at: index 3 out of range (size 3)"},
      {"{{ at(guests, -1) }}", "RENDER: line 1, column 4: at: index -1 out of range (size 3)"},
      {R"({{ at(time, "x") }})", "RENDER: line 1, column 4: at: key 'x' not found"},
      {R"({{ join(guests, ", ") }})", "Jeff, Tom, Patrick"},
      {R"({{ join([1, "a", true, null], "+") }})", "1+a+true+null"},
      {R"({{ join([], "-") }})", ""},
      {"{{ range(4) }}", "[0,1,2,3]"},
      {"{{ range(0) }}", "[]"},
      {"{{ range(-2) }}", "[]"},
      {"{% for i in range(3) %}{{ at(guests, i) }} {% endfor %}", "Jeff Tom Patrick "},
      {"{{ range(1000001) }}", "RENDER: line 1, column 4: range: 1000001 is larger than 1000000"},
  };
  runCases(std::begin(cases), std::end(cases));
}

TEST(TemplateFunctions, Numbers) {
  const Case cases[] = {
      {"{{ round(3.1415, 0) }}", "3"},
      {"{{ round(3.1415, 3) }}", "3.142"},
      {"{{ round(2.5, 0) }}", "3"},
      {"{{ round(f, 2) }}", "3.14"},
      {"{{ round(1234, -2) }}", "1200.0"},
      {"{{ odd(42) }}/{{ even(42) }}", "false/true"},
      {"{{ odd(-3) }}", "true"},
      {"{{ divisibleBy(42, 7) }}/{{ divisibleBy(42, 5) }}/{{ divisibleBy(1, 0) }}", "true/false/false"},
      {R"({{ int("2") }})", "2"},
      {R"({{ int("-17abc") }})", "-17"},
      {"{{ int(3.9) }}", "3"},
      {R"({{ int("x") }})", "RENDER: line 1, column 4: int: cannot convert 'x'"},
      {R"({{ int("99999999999999999999") }})", "RENDER: line 1, column 4: int: cannot convert '99999999999999999999'"},
      {R"({{ float("1.8") }})", "1.8"},
      {"{{ float(2) }}", "2.0"},
      {R"({{ float("no") }})", "RENDER: line 1, column 4: float: cannot convert 'no'"},
      {"{{ odd(\"1\") }}", "RENDER: line 1, column 4: odd: expected a number"},
  };
  runCases(std::begin(cases), std::end(cases));
}

TEST(TemplateFunctions, TypeTests) {
  const Case cases[] = {
      {"{{ isString(neighbour) }}{{ isString(n) }}", "truefalse"},
      {"{{ isNumber(n) }}{{ isNumber(f) }}{{ isNumber(neighbour) }}", "truetruefalse"},
      {"{{ isInteger(n) }}{{ isInteger(f) }}", "truefalse"},
      {"{{ isFloat(f) }}{{ isFloat(n) }}", "truefalse"},
      {"{{ isArray(guests) }}{{ isArray(time) }}", "truefalse"},
      {"{{ isObject(time) }}{{ isObject(guests) }}", "truefalse"},
      {"{{ isBoolean(true) }}{{ isBoolean(nothing) }}", "truefalse"},
  };
  runCases(std::begin(cases), std::end(cases));
}

TEST(TemplateFunctions, ExistenceAndDefault) {
  const Case cases[] = {
      {R"({{ exists("guests") }})", "true"},
      {R"({{ exists("time.start") }})", "true"},
      {R"({{ exists("time.noon") }})", "false"},
      {R"({{ exists("nothing") }})", "true"},  // present with a null value
      {R"({% set v = 1 %}{{ exists("v") }})", "true"},
      {R"({{ existsIn(time, "start") }})", "true"},
      {R"({{ existsIn(time, "noon") }})", "false"},
      {R"({{ existsIn(guests, "0") }})", "false"},
      {R"({{ default(neighbour, "nobody") }})", "Peter"},
      {R"({{ default(missing, "nobody") }})", "nobody"},
      {R"({{ default(time.noon, time.end) }})", "22"},
      {R"({{ default(nothing, "x") }})", "null"},  // exists, so no default
      {R"({{ default(upper(missing), "x") }})", "RENDER: line 1, column 18: variable 'missing' not found"},
      {R"({% if exists("x") and x > 1 %}big{% else %}no x{% endif %})", "no x"},
  };
  runCases(std::begin(cases), std::end(cases));
}

FakeContext glooContext() {
  FakeContext ctx;
  ctx.json = kData;
  ctx.headers = {{":path", "/api/pets/7?x=1"}, {":method", "GET"}, {"x-base64", "aGVsbG8gd29ybGQ="}, {"x-mixed", "Value"}};
  ctx.requestHeaders = {{"x-request", "from-request"}, {"baz", "a pattern-to-replace b pattern-to-replace"}};
  ctx.extractions = {{"foo", "extracted"}};
  ctx.bodyText = R"({"id": 7, "msg": "hi"})";
  return ctx;
}

TEST(TemplateFunctions, GlooLookups) {
  const Case cases[] = {
      {R"({{ header(":path") }})", "/api/pets/7?x=1"},
      {R"({{ header(":METHOD") }})", "GET"},  // literal names are lowercased
      {R"({{ header("x-mixed") }})", "Value"},
      {R"({{ header("absent") }}|)", "|"},
      {R"({% set h = "X-MIXED" %}{{ header(h) }})", "Value"},  // context compares case-insensitively
      {R"({{ request_header("x-request") }})", "from-request"},
      {R"({{ request_header("x-mixed") }}|)", "|"},
      {R"({{ extraction("foo") }})", "extracted"},
      {R"({{ extraction("nope") }}|)", "|"},
      {"{{ body() }}", R"({"id": 7, "msg": "hi"})"},
      {"{{ body }}", R"({"id": 7, "msg": "hi"})"},  // inja: a 0-argument callback used as a variable
      {"{{ context.id }}", "RENDER: line 1, column 4: variable 'context.id' not found"},
      {"{{ header(1) }}", "RENDER: line 1, column 4: header: expected a string"},
  };
  runCases(std::begin(cases), std::end(cases), glooContext());
  EXPECT_EQ(render("{{ context() }}", glooContext()), kData.dump());
}

TEST(TemplateFunctions, ContextOfAnArrayBody) {
  FakeContext ctx;
  ctx.json = json::parse(R"([{"a": 1}, {"a": 2}])");
  EXPECT_EQ(render("{% for x in context() %}{{ x.a }}{% endfor %}", ctx), "12");
  EXPECT_EQ(render("{{ length(context()) }}", ctx), "2");
}

TEST(TemplateFunctions, Env) {
  ::setenv("PORTICO_TMPL_TEST_VAR", "pod-123", 1);
  EXPECT_EQ(render(R"({{ env("PORTICO_TMPL_TEST_VAR") }})"), "pod-123");
  EXPECT_EQ(render(R"({% set n = "PORTICO_TMPL_TEST_VAR" %}{{ env(n) }})"), "pod-123");
  EXPECT_EQ(render(R"({{ env("PORTICO_TMPL_TEST_UNSET") }}|)"), "|");
  ::unsetenv("PORTICO_TMPL_TEST_VAR");
}

TEST(TemplateFunctions, Base64) {
  const Case cases[] = {
      {R"({{ base64_encode("hello world") }})", "aGVsbG8gd29ybGQ="},
      {R"({{ base64_encode("") }})", ""},
      {R"({{ base64_encode("a") }}/{{ base64_encode("ab") }}/{{ base64_encode("abc") }})", "YQ==/YWI=/YWJj"},
      {R"({{ base64_decode(header("x-base64")) }})", "hello world"},
      {R"({{ base64_decode("YQ==") }})", "a"},
      {R"({{ base64_decode("YQ") }}|)", "|"},     // length not a multiple of 4
      {R"({{ base64_decode("Y!==") }}|)", "|"},   // bad symbol
      {R"({{ base64_decode("YR==") }}|)", "|"},   // unused bits set
      {R"({{ base64_decode("=AAA") }}|)", "|"},   // padding first
      {R"({{ base64url_encode("\u00fb\u00ff") }})", "w7vDvw"},
      {R"({{ base64_encode("\u00fb\u00ff") }})", "w7vDvw=="},
      {R"({{ base64url_encode("\u003f?>") }})", "Pz8-"},
      {R"({{ base64url_decode("Pz8-") }})", "?" "?>"},
      {R"({{ base64url_decode("YQ") }})", "a"},
      {R"({{ base64url_decode("YQ==") }})", "a"},
      {R"({{ base64url_decode("Pz8+") }}|)", "|"},  // '+' is not URL-safe
      {"{{ base64_encode(1) }}", "RENDER: line 1, column 4: base64_encode: expected a string"},
  };
  runCases(std::begin(cases), std::end(cases), glooContext());
}

TEST(TemplateFunctions, Substring) {
  const Case cases[] = {
      {R"({{ substring("hello world", 6) }})", "world"},
      {R"({{ substring("hello world", 0, 5) }})", "hello"},
      {R"({{ substring("hello world", 6, 100) }})", "world"},  // past the end: to the end
      {R"({{ substring("hello world", 6, 0) }})", "world"},    // len <= 0: to the end
      {R"({{ substring("hello world", 6, -3) }})", "world"},
      {R"({{ substring("hello", 5) }}|)", "|"},                // start at/after the end
      {R"({{ substring("hello", -1) }}|)", "|"},
      {R"({{ substring("hello", 1.5) }}|)", "|"},              // not an integer
      {R"({{ substring("hello", "1") }}|)", "|"},
      {R"({{ substring("hello", 1, "2") }}|)", "|"},
      {"{{ substring(1, 1) }}", "RENDER: line 1, column 4: substring: expected a string"},
  };
  runCases(std::begin(cases), std::end(cases));
}

TEST(TemplateFunctions, TrimWordCountRawString) {
  const Case cases[] = {
      {"[{{ trim(s) }}]", "[padded]"},
      {R"([{{ trim(" \t\n\r ") }}])", "[]"},
      {R"([{{ trim("x") }}])", "[x]"},
      {"{{ word_count(words) }}", "4"},
      {R"({{ word_count("") }})", "0"},
      {R"({{ word_count("   ") }})", "0"},
      {R"({{ word_count("one") }})", "1"},
      {R"({{ word_count(["a b", "c"]) }})", "3"},
      {R"({{ word_count({"two words": "three more words", "n": 5, "b": true, "z": null}) }})", "10"},
      {R"({{ raw_string("hello") }})", "hello"},
      {R"({{ raw_string("say \"hi\"\n\\ \u0001") }})", R"(say \"hi\"\n\\ \u0001)"},
      {R"({{ raw_string("caf\u00e9") }})", "caf\xC3\xA9"},
      {"{{ raw_string(n) }}", "RENDER: line 1, column 4: raw_string: expected a string"},
  };
  runCases(std::begin(cases), std::end(cases));
  FakeContext bad;
  bad.headers = {{"x", "\xFF"}};
  EXPECT_EQ(render(R"({{ raw_string(header("x")) }})", bad), "RENDER: line 1, column 4: raw_string: invalid UTF-8");
}

TEST(TemplateFunctions, ReplaceWithRandom) {
  FakeContext ctx = glooContext();
  std::string out = render(R"({{ replace_with_random(request_header("baz"), "pattern-to-replace") }})", ctx);
  ASSERT_EQ(out.size(), 2 + 22 + 3 + 22) << out;
  EXPECT_EQ(out.substr(0, 2), "a ");
  EXPECT_EQ(out.substr(24, 3), " b ");
  EXPECT_EQ(out.substr(2, 22), out.substr(27, 22));  // same pattern, same random string
  EXPECT_EQ(out.substr(2, 22).find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
            std::string::npos);

  // Stable per compiled template (Gloo: per transformation, across requests)...
  auto t = Template::compile(R"({{ replace_with_random("x", "x") }}/{{ replace_with_random("y", "y") }})");
  ASSERT_TRUE(t.ok());
  std::string first, second;
  ASSERT_TRUE(t->render(ctx, first).ok());
  ASSERT_TRUE(t->render(ctx, second).ok());
  EXPECT_EQ(first, second);
  EXPECT_NE(first.substr(0, 22), first.substr(23, 22));  // different patterns differ
  // ...fresh for another compile, shared when the caller passes one key.
  auto other = Template::compile(R"({{ replace_with_random("x", "x") }})");
  std::string third;
  ASSERT_TRUE(other->render(ctx, third).ok());
  EXPECT_NE(third, first.substr(0, 22));
  CompileOptions keyed;
  keyed.randomKey = std::array<uint64_t, 2>{1, 2};
  std::string k1 = render(R"({{ replace_with_random("x", "x") }})", ctx, keyed);
  std::string k2 = render(R"(-{{ replace_with_random("x", "x") }})", ctx, keyed);
  EXPECT_EQ("-" + k1, k2);

  EXPECT_EQ(render(R"({{ replace_with_random("abc", "") }})", ctx), "abc");
  EXPECT_EQ(render(R"({{ replace_with_random("abc", "zz") }})", ctx), "abc");
}

TEST(TemplateTextUtil, SipHashReferenceVector) {
  // SipHash-2-4 paper, appendix A: key 00..0f, message 00..0e → a129ca6149be45e5.
  std::array<uint64_t, 2> key{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
  std::string msg;
  for (int i = 0; i < 15; ++i) msg += char(i);
  EXPECT_EQ(sipHash24(key, msg), 0xa129ca6149be45e5ULL);
}

}  // namespace
}  // namespace portico::tmpl
