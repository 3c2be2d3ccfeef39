// Cases taken from the documentation: inja's README (pantor/inja, v3.x "Tutorial" section) and
// Gloo's transformation docs (docs.solo.io "Templating language" / transformation guides,
// reference/gloo-api.md §1.6, §1.7, §2.5) — each row names its source.
#include <gtest/gtest.h>

#include "template_test_util.h"

namespace portico::tmpl {
namespace {

using nlohmann::json;
using testing::FakeContext;
using testing::render;

struct DocCase {
  const char* doc;
  const char* source;
  const char* expected;
  bool advanced = false;
};

FakeContext injaReadmeContext() {
  // inja README: data["neighbour"] = "Peter"; data["guests"] = {"Jeff", "Tom", "Patrick"};
  // data["time"]["start"] = 16; data["time"]["end"] = 22; plus the names its examples use.
  FakeContext ctx;
  ctx.json = json::parse(R"({"name": "world", "neighbour": "Peter", "guests": ["Jeff", "Tom", "Patrick"],
                             "time": {"start": 16, "end": 22, "hour": 20}, "guest_count": 3,
                             "all_tired": true, "is_happy": true, "brother": {"name": "Chris"}})");
  return ctx;
}

TEST(TemplateDocExamples, InjaReadme) {
  const DocCase cases[] = {
      {"inja README: Template Rendering", "Hello {{ name }}!", "Hello world!"},
      {"inja README: Variables (dot)", "{{ guests.1 }}", "Tom"},
      {"inja README: Variables (objects)", "{{ time.start }} to {{ time.end }}pm", "16 to 22pm"},
      {"inja README: Variables (pointer notation)", "{{ time/start }} to {{ time/end }}pm", "16 to 22pm", true},
      {"inja README: Loops", "{% for guest in guests %}{{ loop.index1 }}: {{ guest }}\n{% endfor %}",
       "1: Jeff\n2: Tom\n3: Patrick\n"},
      {"inja README: Loops over objects", "{% for key, value in time %}{{ key }}={{ value }} {% endfor %}",
       "end=22 hour=20 start=16 "},
      {"inja README: Line statements", "Guest List:\n## for guest in guests\n\t{{ loop.index1 }}: {{ guest }}\n## endfor ",
       "Guest List:\n\t1: Jeff\n\t2: Tom\n\t3: Patrick\n"},
      {"inja README: Conditions", "{% if time.hour >= 20 %}Serve{% else if time.hour >= 18 %}Make{% endif %} dinner",
       "Serve dinner"},
      {"inja README: Conditions (in)", "{% if neighbour in guests %}Turn up the music!{% endif %}", ""},
      {"inja README: Conditions (and)", "{% if guest_count < 5 and all_tired %}Sleepy{% endif %}", "Sleepy"},
      {"inja README: Conditions (not)", "{% if not guest_count %}The End{% endif %}", ""},
      {"inja README: Assignments", "{% set new_hour=23 %}{{ new_hour }}pm", "23pm"},
      {"inja README: Assignments (nested)", "{% set time.start=18 %}{{ time.start }}pm", "18pm"},
      {"inja README: upper", "Hello {{ upper(neighbour) }}!", "Hello PETER!"},
      {"inja README: lower", "Hello {{ lower(neighbour) }}!", "Hello peter!"},
      {"inja README: range", "{% for i in range(4) %}{{ loop.index1 }}{% endfor %}", "1234"},
      {"inja README: at", "{% for i in range(3) %}{{ at(guests, i) }} {% endfor %}", "Jeff Tom Patrick "},
      {"inja README: length", "I count {{ length(guests) }} guests.", "I count 3 guests."},
      {"inja README: first", "{{ first(guests) }} was first.", "Jeff was first."},
      {"inja README: last", "{{ last(guests) }} was last.", "Patrick was last."},
      {"inja README: sort", "{{ sort([3,2,1]) }}", "[1,2,3]"},
      {"inja README: sort strings", "{{ sort(guests) }}", R"(["Jeff","Patrick","Tom"])"},
      {"inja README: join", R"({{ join([1,2,3], " + ") }})", "1 + 2 + 3"},
      {"inja README: join guests", R"({{ join(guests, ", ") }})", "Jeff, Tom, Patrick"},
      {"inja README: round 0", "{{ round(3.1415, 0) }}", "3"},
      {"inja README: round 3", "{{ round(3.1415, 3) }}", "3.142"},
      {"inja README: odd", "{{ odd(42) }}", "false"},
      {"inja README: even", "{{ even(42) }}", "true"},
      {"inja README: divisibleBy", "{{ divisibleBy(42, 7) }}", "true"},
      {"inja README: max", "{{ max([1, 2, 3]) }}", "3"},
      {"inja README: min", "{{ min([-2.4, -1.2, 4.5]) }}", "-2.4"},
      {"inja README: int", R"({{ int("2") == 2 }})", "true"},
      {"inja README: float", R"({{ float("1.8") > 2 }})", "false"},
      {"inja README: default", R"(Hello {{ default(neighbour, "my friend") }}!)", "Hello Peter!"},
      {"inja README: default (missing)", R"(Hello {{ default(colleague, "my friend") }}!)", "Hello my friend!"},
      {"inja README: exists", R"({{ exists("guests") }})", "true"},
      {"inja README: exists (missing)", R"({{ exists("city") }})", "false"},
      {"inja README: existsIn", R"({{ existsIn(time, "start") }})", "true"},
      {"inja README: existsIn (variable key)", R"({{ existsIn(time, neighbour) }})", "false"},
      {"inja README: isString", "{{ isString(neighbour) }}", "true"},
      {"inja README: isArray", "{{ isArray(guests) }}", "true"},
      {"inja README: capitalize", R"({{ capitalize("hello world") }})", "Hello world"},
      {"inja README: Whitespace control",
       "{% for guest in guests -%}\n  {{ guest }}\n{%- endfor %}", "JeffTomPatrick"},
      {"inja README: Comments", "Hello{# Todo #}!", "Hello!"},
      {"inja README: Callbacks-free arithmetic", "{{ time.start + 2 * 3 }}", "22"},
  };
  FakeContext ctx = injaReadmeContext();
  for (const DocCase& c : cases) {
    CompileOptions opts;
    opts.advancedTemplates = c.advanced;
    EXPECT_EQ(render(c.source, ctx, opts), c.expected) << c.doc << ": " << c.source;
  }
}

TEST(TemplateDocExamples, GlooDocs) {
  FakeContext ctx;
  ctx.json = json::parse(R"({"id": 42, "name": "doggie", "status": "available",
                             "slideshow": {"author": "Yours Truly", "title": "Sample Slide Show"},
                             "foo": "bar-extracted", "host": {"name": "example.com"}})");
  ctx.headers = {{":path", "/petstore/findPet?id=42"}, {":method", "POST"}, {":authority", "api.example.com"},
                 {":status", "200"}, {"x-base64-encoded", "dXNlcjpwYXNzd29yZA=="}};
  ctx.requestHeaders = {{"x-gateway-request", "req-value"}, {":path", "/json"}};
  ctx.extractions = {{"foo", "bar-extracted"}};
  ctx.bodyText = R"({"id": 42})";
  ::setenv("POD_NAME", "gateway-proxy-7d4b", 1);
  const DocCase cases[] = {
      {"gloo-api.md §1.7 / §2.5: Petstore findPetById :path", R"(/api/pets/{{ default(id, "") }})", "/api/pets/42"},
      {"gloo-api.md §4: swagger query param template", R"(/api/pets?status={{default(status, "")}})",
       "/api/pets?status=available"},
      {"gloo-api.md §5: gRPC transcoding :path", R"(/abc/svc/Method?{{ default(query_string, "") }})",
       "/abc/svc/Method?"},
      {"gloo-api.md §2.5: extractor header template", "{{ foo }}", "bar-extracted"},
      {"gloo-api.md §2.4: mergeExtractorsToBody dotted name", "{{ host.name }}", "example.com"},
      {"Gloo docs: Inject response headers (request_header)", R"({{ request_header("x-gateway-request") }})", "req-value"},
      {"Gloo docs: Inject response headers (env)", R"({{ env("POD_NAME") }})", "gateway-proxy-7d4b"},
      {"Gloo docs: Inject response headers (raw_string)", R"({{ raw_string("hello") }})", "hello"},
      {"Gloo docs: Decode base64 headers",
       R"({{ base64_decode(header("x-base64-encoded")) }})", "user:password"},
      {"Gloo docs: Decode base64 headers (substring)",
       R"({{ substring(base64_decode(header("x-base64-encoded")), 5) }})", "password"},
      {"Gloo docs: Decode base64 headers (substring len)",
       R"({{ substring(base64_decode(header("x-base64-encoded")), 0, 4) }})", "user"},
      {"Gloo docs: Update request paths and methods",
       R"({% if header(":method") == "POST" %}/post{% else %}{{ header(":path") }}{% endif %})", "/post"},
      {"Gloo docs: Create redirect URLs",
       R"(https://{{ header(":authority") }}{{ header(":path") }})", "https://api.example.com/petstore/findPet?id=42"},
      {"Gloo docs: Change response status",
       R"({% if default(status, "") == "available" %}201{% else %}{{ header(":status") }}{% endif %})", "201"},
      {"Gloo docs: Header to body (request_header :path)",
       R"(This is the value of the :path pseudo header: {{request_header(":path")}}.)",
       "This is the value of the :path pseudo header: /json."},
      {"Gloo docs: Body to body",
       R"({"author": "{{ slideshow.author }}", "title": "{{ slideshow.title }}"})",
       R"({"author": "Yours Truly", "title": "Sample Slide Show"})"},
      {"Gloo docs: Update response body (body())", "{{ body() }}", R"({"id": 42})"},
      {"Gloo docs: context() returns the base JSON context", R"({{ at(context(), "id") }})", "42"},
      {"Gloo docs: extraction() with advancedTemplates", R"({{ extraction("foo") }})", "bar-extracted", true},
      {"Gloo docs: advancedTemplates JSON pointer", "{{ slideshow/author }}", "Yours Truly", true},
      {"Gloo docs: base64_encode", R"({{ base64_encode("user:password") }})", "dXNlcjpwYXNzd29yZA=="},
      {"Gloo docs: word_count", R"({{ word_count("one two three") }})", "3"},
      {"Gloo docs: trim", R"({{ trim("  spaced  ") }})", "spaced"},
  };
  for (const DocCase& c : cases) {
    CompileOptions opts;
    opts.advancedTemplates = c.advanced;
    EXPECT_EQ(render(c.source, ctx, opts), c.expected) << c.doc << ": " << c.source;
  }
  ::unsetenv("POD_NAME");
}

}  // namespace
}  // namespace portico::tmpl
