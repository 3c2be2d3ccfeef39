// Compile errors (with line and column), runtime errors, and the limits that keep hostile
// templates and bodies from exhausting the stack, memory or CPU.
#include <gtest/gtest.h>

#include "template_test_util.h"

namespace portico::tmpl {
namespace {

using nlohmann::json;
using testing::render;

std::string compileError(std::string_view source, CompileOptions options = {}) {
  auto t = Template::compile(source, options);
  return t.ok() ? "compiled" : t.error();
}

TEST(TemplateErrors, CompileErrorsNameLineAndColumn) {
  struct Case {
    const char* source;
    const char* error;
  };
  const Case cases[] = {
      {"{{ name", "line 1, column 1: unterminated tag: expected '}}'"},
      {"ok\n  {% if x %}", "line 2, column 13: unexpected end of template: expected '{% endif %}'"},
      {"{% for x in xs %}", "line 1, column 18: unexpected end of template: expected '{% endfor %}'"},
      {"{# never closed", "line 1, column 1: unterminated comment: expected '#}'"},
      {"{% raw %} never closed", "line 1, column 1: unterminated raw block: expected '{% endraw %}'"},
      {"{{ \"abc }}", "line 1, column 4: unterminated string literal"},
      {"{{ \"a\\q\" }}", "line 1, column 4: invalid escape in string literal"},
      {"{{ \"\\ud800\" }}", "line 1, column 4: invalid escape in string literal"},
      {"{{ foo(1) }}", "line 1, column 4: unknown function 'foo'"},
      {"{{ upper(1, 2) }}", "line 1, column 4: function 'upper' takes 1 argument, got 2"},
      {"{{ substring(\"a\") }}", "line 1, column 4: function 'substring' takes 2 or 3 arguments, got 1"},
      {"{{ body(1) }}", "line 1, column 4: function 'body' takes 0 arguments, got 1"},
      {"{{ replace(\"a\", \"b\", \"c\") }}", "line 1, column 4: unknown function 'replace'"},
      {"\n\n   {{ 1 + }}", "line 3, column 11: expected an expression, got '}}'"},
      {"{{ (1 + 2 }}", "line 1, column 11: expected ')', got '}}'"},
      {"{{ [1, 2 }}", "line 1, column 10: expected ',' or ']', got '}}'"},
      {"{{ {1: 2} }}", "line 1, column 5: expected a string key, got '1'"},
      {"{{ 1 2 }}", "line 1, column 6: expected '}}', got '2'"},
      {"{{ a ! b }}", "line 1, column 6: unexpected '!' (use 'not' or '!=')"},
      {"{{ a @ b }}", "line 1, column 6: unexpected character '@'"},
      {"{% endif %}", "line 1, column 4: unexpected 'endif'"},
      {"{% else %}", "line 1, column 4: unexpected 'else'"},
      {"{% if a %}{% else %}{% else %}{% endif %}", "line 1, column 24: unexpected 'else'"},
      {"{% while x %}", "line 1, column 4: unknown statement 'while'"},
      {"{% include \"x\" %}", "line 1, column 4: 'include' is not supported (templates are standalone)"},
      {"{% for 1 in xs %}{% endfor %}", "line 1, column 8: expected a loop variable name, got '1'"},
      {"{% for a.b in xs %}{% endfor %}", "line 1, column 8: invalid loop variable name 'a.b'"},
      {"{% for x of xs %}{% endfor %}", "line 1, column 10: expected 'in', got 'of'"},
      {"{% set = 1 %}", "line 1, column 8: expected a variable name, got '='"},
      {"{% set x 1 %}", "line 1, column 10: expected '=', got '1'"},
      {"{% if x }}", "line 1, column 1: unterminated tag: expected '%}'"},
      {"{{ a~2 }}", "line 1, column 4: invalid variable name 'a~2'"},
      {"{% %}", "line 1, column 4: expected a statement name, got '%}'"},
  };
  for (const Case& c : cases) EXPECT_EQ(compileError(c.source), c.error) << c.source;
}

TEST(TemplateErrors, NestingIsCappedAtCompileTime) {
  std::string ok, deep;
  for (int i = 0; i < 30; ++i) ok += "(";
  ok = "{{ " + ok + "1" + std::string(30, ')') + " }}";
  EXPECT_EQ(render(ok), "1");

  for (int i = 0; i < 100000; ++i) deep += "(";
  EXPECT_EQ(compileError("{{ " + deep + " }}"), "line 1, column 67: too deeply nested (limit 64)");
  std::string arrays(100000, '[');
  EXPECT_EQ(compileError("{{ " + arrays + " }}"), "line 1, column 67: too deeply nested (limit 64)");
  std::string nots;
  for (int i = 0; i < 100000; ++i) nots += "not ";
  EXPECT_NE(compileError("{{ " + nots + "x }}").find("too deeply nested"), std::string::npos);
  std::string ifs;
  for (int i = 0; i < 100000; ++i) ifs += "{% if x %}";
  EXPECT_NE(compileError(ifs).find("too deeply nested"), std::string::npos);
  // A long flat chain is a deep tree for the evaluator: capped too.
  std::string chain = "{{ 1";
  for (int i = 0; i < 100000; ++i) chain += " + 1";
  EXPECT_NE(compileError(chain + " }}").find("too deeply nested"), std::string::npos);
  std::string calls;
  for (int i = 0; i < 100000; ++i) calls += "upper(";
  EXPECT_NE(compileError("{{ " + calls + " }}").find("too deeply nested"), std::string::npos);
}

TEST(TemplateErrors, RuntimeErrors) {
  const json data = json::parse(R"({"s": "x", "n": 1, "a": [1], "o": {"k": 1}})");
  struct Case {
    const char* source;
    const char* error;
  };
  const Case cases[] = {
      {"{{ missing }}", "RENDER: line 1, column 4: variable 'missing' not found"},
      {"line1\n{% if missing %}{% endif %}", "RENDER: line 2, column 7: variable 'missing' not found"},
      {"{{ o.k.z }}", "RENDER: line 1, column 4: variable 'o.k.z' not found"},
      {"{{ 1 / 0 }}", "RENDER: line 1, column 6: division by zero"},
      {"{{ 1 % 0 }}", "RENDER: line 1, column 6: division by zero"},
      {"{{ 1.5 / 0 }}", "RENDER: line 1, column 8: division by zero"},
      {"{{ s + 1 }}", "RENDER: line 1, column 6: cannot apply '+' to string and number"},
      {"{{ a * 2 }}", "RENDER: line 1, column 6: cannot apply '*' to array and number"},
      {"{{ -s }}", "RENDER: line 1, column 4: cannot negate a string"},
      {"{{ true + 1 }}", "RENDER: line 1, column 9: cannot apply '+' to boolean and number"},
  };
  for (const Case& c : cases) EXPECT_EQ(render(c.source, data), c.error) << c.source;
}

TEST(TemplateErrors, InvalidUtf8InJsonOutputIsAnError) {
  testing::FakeContext ctx;
  ctx.headers = {{"x", "\xFF"}};
  EXPECT_EQ(render(R"({{ header("x") }})", ctx), "\xFF");  // strings are copied as bytes
  std::string out = render(R"({{ [header("x")] }})", ctx);
  EXPECT_EQ(out.rfind("RENDER: line 1, column ", 0), 0u) << out;
  EXPECT_NE(out.find("render error: [json.exception.type_error.316] invalid UTF-8"), std::string::npos) << out;
}

TEST(TemplateErrors, LimitsStopRunawayTemplates) {
  std::string r = render("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}");
  EXPECT_NE(r.find("evaluation budget"), std::string::npos) << r;

  r = render("{% set s = \"xxxxxxxxxxxxxxxx\" %}{% for i in range(40) %}{% set s = s + s %}{% endfor %}");
  EXPECT_NE(r.find("string value larger than 16 MiB"), std::string::npos) << r;

  r = render("{% set a = 1 %}{% for i in range(1000) %}{% set a = [a] %}{% endfor %}{{ a }}");
  EXPECT_NE(r.find("value nested too deeply"), std::string::npos) << r;

  r = render("{% set a = 1 %}{% for i in range(1000) %}{% set a.b = a %}{% endfor %}{{ a }}");
  EXPECT_NE(r.find("value nested too deeply"), std::string::npos) << r;

  testing::FakeContext ctx;
  ctx.bodyText = std::string(1 << 20, 'x');
  r = render("{% for i in range(100) %}{{ body() }}{% endfor %}", ctx);
  EXPECT_NE(r.find("output larger than 64 MiB"), std::string::npos) << r.substr(0, 200);

  r = render("{{ replace_with_random(replace_with_random(replace_with_random(replace_with_random("
             "replace_with_random(replace_with_random(body(), \"x\"), \"A\"), \"B\"), \"C\"), \"D\"), \"E\") }}",
             ctx);
  EXPECT_EQ(r.rfind("RENDER:", 0), 0u) << r.substr(0, 200);
}

TEST(TemplateErrors, FailedRenderKeepsEarlierOutputAndTemplateStaysUsable) {
  auto t = Template::compile("a{{ x }}b");
  ASSERT_TRUE(t.ok());
  testing::FakeContext ctx;
  std::string out;
  EXPECT_FALSE(t->render(ctx, out).ok());
  EXPECT_EQ(out, "a");
  ctx.json = json{{"x", 1}};
  out.clear();
  EXPECT_TRUE(t->render(ctx, out).ok());
  EXPECT_EQ(out, "a1b");
}

}  // namespace
}  // namespace portico::tmpl
