// Template language: text, expressions, literals, operators, variables, statements, comments,
// whitespace control, raw blocks, line statements, and what a template reports it reads.
#include <gtest/gtest.h>

#include "template_test_util.h"

namespace portico::tmpl {
namespace {

using nlohmann::json;
using testing::render;

const json kData = json::parse(R"({
  "name": "Peter", "n": 7, "f": 2.5, "yes": true, "no": false, "nothing": null, "empty": "",
  "guests": ["Jeff", "Tom", "Patrick"],
  "time": {"start": 16, "end": 22},
  "nested": {"a": {"b": [10, {"c": "deep"}]}},
  "a.b": "dotted key", "sl/ash": "slash key", "til~de": "tilde key"
})");

struct Case {
  const char* source;
  const char* expected;
};

void runCases(const Case* begin, const Case* end, const json& data = kData, CompileOptions opts = {}) {
  for (const Case* c = begin; c != end; ++c) EXPECT_EQ(render(c->source, data, opts), c->expected) << c->source;
}

TEST(TemplateSyntax, PlainText) {
  EXPECT_EQ(render(""), "");
  EXPECT_EQ(render("hello world"), "hello world");
  EXPECT_EQ(render("{ not a tag } # nor ## this"), "{ not a tag } # nor ## this");
  EXPECT_EQ(render("a}}b%}c#}"), "a}}b%}c#}");
}

TEST(TemplateSyntax, Literals) {
  const Case cases[] = {
      {"{{ 42 }}", "42"},
      {"{{ -42 }}", "-42"},
      {"{{ 2.5 }}", "2.5"},
      {"{{ 1e3 }}", "1000.0"},
      {"{{ 3.0 }}", "3.0"},
      {"{{ 18446744073709551615 }}", "18446744073709551615"},
      {"{{ true }}/{{ false }}/{{ null }}", "true/false/null"},
      {R"({{ "text" }})", "text"},
      {R"({{ "q\"uote\\ \/ \n|\t|\u00e9|\ud83d\ude00" }})", "q\"uote\\ / \n|\t|\xC3\xA9|\xF0\x9F\x98\x80"},
      {R"({{ "}}" }})", "}}"},
      {"{{ [1, 2, \"x\"] }}", "[1,2,\"x\"]"},
      {"{{ [] }}{{ {} }}", "[]{}"},
      {R"({{ {"a": 1, "b": [true, null]} }})", R"({"a":1,"b":[true,null]})"},
      {"{{ [n, name] }}", "[7,\"Peter\"]"},
      {R"({{ {"k": guests} }})", R"({"k":["Jeff","Tom","Patrick"]})"},
  };
  runCases(std::begin(cases), std::end(cases));
}

TEST(TemplateSyntax, Arithmetic) {
  const Case cases[] = {
      {"{{ 1 + 2 }}", "3"},        {"{{ 7 - 10 }}", "-3"},       {"{{ 6 * 7 }}", "42"},
      {"{{ 7 / 2 }}", "3.5"},      {"{{ 6 / 3 }}", "2.0"},       {"{{ 7 % 3 }}", "1"},
      {"{{ 2 ^ 10 }}", "1024"},    {"{{ 2 ^ 3 ^ 2 }}", "512"},   {"{{ 2 ^ -1 }}", "0.5"},
      {"{{ 1 + 2 * 3 }}", "7"},    {"{{ (1 + 2) * 3 }}", "9"},   {"{{ 1.5 + 1 }}", "2.5"},
      {"{{ n * f }}", "17.5"},     {"{{ -n }}", "-7"},           {"{{ - -n }}", "7"},
      {"{{ n-1 }}", "RENDER: line 1, column 4: variable 'n-1' not found"},  // inja: '-' is a name character
      {"{{ n - 1 }}", "6"},
      {"{{ 10 - 2 - 3 }}", "5"},   {"{{ 100 / 10 / 5 }}", "2.0"},
      {R"({{ "ab" + "cd" }})", "abcd"},
      {R"({{ name + "!" }})", "Peter!"},
      {"{{ 9223372036854775807 + 1 }}", "-9223372036854775808"},  // wraps, no UB
      {"{{ 7.9 % 2 }}", "1"},
  };
  runCases(std::begin(cases), std::end(cases));
}

TEST(TemplateSyntax, ComparisonsAndLogic) {
  const Case cases[] = {
      {"{{ 1 == 1 }}", "true"},          {"{{ 1 == 1.0 }}", "true"},    {"{{ 1 != 2 }}", "true"},
      {"{{ 1 < 2 }}", "true"},           {"{{ 2 <= 2 }}", "true"},      {"{{ 3 > 2 }}", "true"},
      {"{{ 2 >= 3 }}", "false"},         {R"({{ "a" < "b" }})", "true"}, {R"({{ name == "Peter" }})", "true"},
      {"{{ [1,2] == [1,2] }}", "true"},  {"{{ true and false }}", "false"}, {"{{ true or false }}", "true"},
      {"{{ not true }}", "false"},       {"{{ not 0 }}", "true"},       {"{{ not empty }}", "true"},
      {"{{ not nothing }}", "true"},     {"{{ not [] }}", "true"},      {"{{ not guests }}", "false"},
      {R"({{ "Tom" in guests }})", "true"}, {R"({{ "Bob" in guests }})", "false"},
      {"{{ 16 in time }}", "true"},      {"{{ 1 in 1 }}", "true"},
      {"{{ not 1 == 2 }}", "true"},      // not binds looser than ==
      {"{{ 1 < 2 and 2 < 3 or false }}", "true"},
      {"{{ false and missing }}", "false"},  // short-circuit: missing is never looked up
      {"{{ true or missing }}", "true"},
      {"{{ time.start < time.end }}", "true"},
  };
  runCases(std::begin(cases), std::end(cases));
}

TEST(TemplateSyntax, Variables) {
  const Case cases[] = {
      {"Hello {{ name }}!", "Hello Peter!"},
      {"{{ guests }}", R"(["Jeff","Tom","Patrick"])"},
      {"{{ guests.1 }}", "Tom"},
      {"{{ guests/2 }}", "Patrick"},  // '/' also separates in dot mode (inja converts to a pointer)
      {"{{ time.start }} to {{ time.end }}pm", "16 to 22pm"},
      {"{{ nested.a.b.1.c }}", "deep"},
      {"{{ nothing }}", "null"},
      {"{{ f }}", "2.5"},
      {"{{ yes }}", "true"},
      {"{{ time }}", R"({"end":22,"start":16})"},
      {"{{ sl~1ash }}", "slash key"},
      {"{{ til~0de }}", "tilde key"},
      {"{{ guests.3 }}", "RENDER: line 1, column 4: variable 'guests.3' not found"},
      {"{{ guests.01 }}", "RENDER: line 1, column 4: variable 'guests.01' not found"},
      {"{{ name.x }}", "RENDER: line 1, column 4: variable 'name.x' not found"},
  };
  runCases(std::begin(cases), std::end(cases));
}

TEST(TemplateSyntax, PointerVariablesInAdvancedMode) {
  CompileOptions adv{.advancedTemplates = true};
  const Case cases[] = {
      {"{{ time/start }}", "16"},
      {"{{ nested/a/b/1/c }}", "deep"},
      {"{{ a.b }}", "dotted key"},  // dots are plain key characters
      {"{{ guests/0 }}", "Jeff"},
      {"{% for g in guests %}{{ loop/index }}{{ g }}{% endfor %}", "0Jeff1Tom2Patrick"},
      {"{{ time.start }}", "RENDER: line 1, column 4: variable 'time.start' not found"},
      {R"({{ exists("time/end") }})", "true"},
  };
  runCases(std::begin(cases), std::end(cases), kData, adv);
}

TEST(TemplateSyntax, IfElse) {
  const Case cases[] = {
      {"{% if yes %}Y{% endif %}", "Y"},
      {"{% if no %}Y{% endif %}", ""},
      {"{% if no %}Y{% else %}N{% endif %}", "N"},
      {"{% if n > 10 %}big{% else if n > 5 %}medium{% else if n > 0 %}small{% else %}none{% endif %}", "medium"},
      {"{% if n > 10 %}big{% else if n > 50 %}huge{% endif %}", ""},
      {"{% if time.start >= 16 %}late{% endif %}", "late"},
      {"{% if \"Tom\" in guests %}in{% endif %}", "in"},
      {"{% if not nothing %}none{% endif %}", "none"},
      {"{% if yes %}{% if no %}a{% else %}b{% endif %}{% endif %}", "b"},
      {"{% if empty %}x{% else %}empty{% endif %}", "empty"},
      {"{% if f %}f{% endif %}", "f"},
  };
  runCases(std::begin(cases), std::end(cases));
}

TEST(TemplateSyntax, ForLoops) {
  const Case cases[] = {
      {"{% for g in guests %}{{ g }},{% endfor %}", "Jeff,Tom,Patrick,"},
      {"{% for g in guests %}{{ loop.index }}{{ loop.index1 }}{% endfor %}", "011223"},
      {"{% for g in guests %}{% if loop.is_first %}[{% endif %}{{ g }}{% if loop.is_last %}]{% else %}, {% endif %}{% endfor %}",
       "[Jeff, Tom, Patrick]"},
      {"{% for k, v in time %}{{ k }}={{ v }};{% endfor %}", "end=22;start=16;"},
      {"{% for x in [] %}never{% endfor %}", ""},
      {"{% for i in [1,2] %}{% for j in [3,4] %}{{ i }}{{ j }}:{{ loop.index }}{{ loop.parent.index }} {% endfor %}{% endfor %}",
       "13:00 14:10 23:01 24:11 "},
      {"{% for g in guests %}{% if loop.index == 1 %}{{ loop }}{% endif %}{% endfor %}",
       R"({"index":1,"index1":2,"is_first":false,"is_last":false})"},
      {"{% for i in [1] %}{% for j in [2] %}{{ loop }}{% endfor %}{% endfor %}",
       R"({"index":0,"index1":1,"is_first":true,"is_last":true,"parent":{"index":0,"index1":1,"is_first":true,"is_last":true}})"},
      {"{% for o in [{\"a\": 1}, {\"a\": 2}] %}{{ o.a }}{% endfor %}", "12"},
      {"{% for name in guests %}{{ name }}{% endfor %}{{ name }}", "JeffTomPatrickPeter"},  // loop var shadows, then not
      {"{% for k, v in {\"x\": [1,2]} %}{{ k }}{{ v.1 }}{% endfor %}", "x2"},
      {"{% for g in name %}x{% endfor %}", "RENDER: line 1, column 4: for loop over string, expected an array"},
      {"{% for k, v in guests %}x{% endfor %}", "RENDER: line 1, column 4: for loop over array, expected an object"},
  };
  runCases(std::begin(cases), std::end(cases));
}

TEST(TemplateSyntax, Set) {
  const Case cases[] = {
      {"{% set x = 5 %}{{ x }}", "5"},
      {"{% set name = \"Paul\" %}{{ name }}", "Paul"},  // shadows data
      {"{% set t.start = 1 %}{{ t.start }}", "1"},
      {"{% set time.start = 1 %}{{ time.start }}-{{ time.end }}", "1-22"},  // falls back to data per path
      {"{% set total = 0 %}{% for g in guests %}{% set total = total + length(g) %}{% endfor %}{{ total }}", "14"},
      {"{% set xs = [1,2,3] %}{% for x in xs %}{% set xs = 0 %}{{ x }}{% endfor %}{{ xs }}", "1230"},
      {"{% set o = {\"k\": n} %}{{ o.k }}", "7"},
  };
  runCases(std::begin(cases), std::end(cases));
}

TEST(TemplateSyntax, Comments) {
  EXPECT_EQ(render("Hello{# Todo #}!"), "Hello!");
  EXPECT_EQ(render("a{# {{ x }} {% if %} #}b"), "ab");
  EXPECT_EQ(render("a{#\nmulti\nline\n#}b"), "ab");
}

TEST(TemplateSyntax, WhitespaceControl) {
  const Case cases[] = {
      {"a  {{- name }}  b", "aPeter  b"},
      {"a  {{ name -}}  b", "a  Peterb"},
      {"a \n {{- name -}} \n b", "aPeterb"},
      {"<ul>\n  {%- for g in guests %}\n  <li>{{ g }}</li>\n  {%- endfor %}\n</ul>",
       "<ul>\n  <li>Jeff</li>\n  <li>Tom</li>\n  <li>Patrick</li>\n</ul>"},
      {"{% if yes -%}\n   yes\n{%- endif %}", "yes"},
      {"a {#- c -#} b", "ab"},
      {"a {% raw -%} {{ x }} {%- endraw %} b", "a {{ x }} b"},
      {"{{- 1 }}", "1"},
  };
  runCases(std::begin(cases), std::end(cases));
}

TEST(TemplateSyntax, RawBlocks) {
  EXPECT_EQ(render("{% raw %}{{ not evaluated }} {% if %}{% endraw %}"), "{{ not evaluated }} {% if %}");
  EXPECT_EQ(render("x{%raw%}{#{%endraw%}y"), "x{#y");
}

TEST(TemplateSyntax, LineStatements) {
  EXPECT_EQ(render("Guests:\n## for g in guests\n- {{ g }}\n## endfor\nend", kData), "Guests:\n- Jeff\n- Tom\n- Patrick\nend");
  EXPECT_EQ(render("## if yes\nY\n## else\nN\n## endif", kData), "Y\n");
  EXPECT_EQ(render("not ## at line start"), "not ## at line start");
}

TEST(TemplateSyntax, MultiLineTags) {
  EXPECT_EQ(render("{{\n  name\n}}", kData), "Peter");
  EXPECT_EQ(render("{%\nif yes\n%}y{% endif %}", kData), "y");
}

TEST(TemplateSyntax, ReadsBodyAndData) {
  struct R {
    const char* source;
    bool body, data;
  };
  const R cases[] = {
      {"static", false, false},
      {"{{ header(\"x\") }}{{ extraction(\"e\") }}{{ env(\"HOME\") }}", false, false},
      {"{{ body() }}", true, false},
      {"{{ context() }}", true, true},
      {"{{ name }}", true, true},
      {"{{ default(id, \"\") }}", true, true},
      {"{{ exists(\"a\") }}", true, true},
      {"{% for x in [1,2] %}{{ x }}{{ loop.index }}{% endfor %}", false, false},
      {"{% for x in xs %}{{ x }}{% endfor %}", true, true},
  };
  for (const R& c : cases) {
    auto t = Template::compile(c.source);
    ASSERT_TRUE(t.ok()) << c.source << ": " << t.error();
    EXPECT_EQ(t->readsBody(), c.body) << c.source;
    EXPECT_EQ(t->readsData(), c.data) << c.source;
  }
}

TEST(TemplateSyntax, CopiesShareTheProgramAndRenderAppends) {
  auto t = Template::compile("{{ name }}");
  ASSERT_TRUE(t.ok());
  Template copy = *t;
  testing::FakeContext ctx;
  ctx.json = kData;
  std::string out = "prefix:";
  ASSERT_TRUE(copy.render(ctx, out).ok());
  ASSERT_TRUE(t->render(ctx, out).ok());
  EXPECT_EQ(out, "prefix:PeterPeter");
  EXPECT_EQ(copy.source(), "{{ name }}");
  Template empty;
  std::string none;
  EXPECT_TRUE(empty.render(ctx, none).ok());
  EXPECT_EQ(none, "");
}

}  // namespace
}  // namespace portico::tmpl
