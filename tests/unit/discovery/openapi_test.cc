// OpenAPI → REST functions: Swagger 2 and OpenAPI 3, JSON and YAML, $ref and cycles, Gloo's
// naming and templates; the generated templates compile and run with the transformation filter.
#include "discovery/openapi.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "config/decode.h"
#include "discovery/discovered_functions.h"
#include "filters/route_transformations.h"
#include "filters/transformation.h"

namespace portico::discovery {
namespace {

std::string readData(const std::string& name) {
  std::string here = __FILE__;
  std::string path = here.substr(0, here.rfind("/unit/")) + "/integration/data/" + name;
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

const config::Value* fn(const OpenApiFunctions& f, const std::string& name) {
  for (const auto& d : f.functions)
    if (d.name == name) return &d.tmpl;
  return nullptr;
}

std::string text(const config::Value* tmpl, const std::string& header) {
  if (!tmpl) return "<no function>";
  const config::Value* h = header == "body" ? tmpl->find("body") : tmpl->find("headers");
  if (!h) return "<absent>";
  if (header != "body") h = h->find(header);
  if (!h) return "<absent>";
  const config::Value* t = h->find("text");
  return t ? t->scalar : "<absent>";
}

std::vector<std::string> names(const OpenApiFunctions& f) {
  std::vector<std::string> out;
  for (const auto& d : f.functions) out.push_back(d.name);
  return out;
}

using Strings = std::vector<std::string>;

/// Compiles a discovered template as a route with destinationSpec.rest would and applies it.
Status callFunction(const config::Value& tmplDoc, const config::RestDestination& rest,
                    filters::Message& msg) {
  config::Errors errors;
  config::TransformationTemplate t;
  auto decoded = decodeFunctions({{"f", tmplDoc}}, "fn", errors);
  if (!errors.empty()) return Status::error("decode: " + errors.toString());
  config::Transformation tr;
  tr.tmpl = decoded[0].second;
  tr.restFunction = true;
  auto compiled = filters::Transformation::compile(tr, errors, filters::restParameterExtractors(rest));
  if (!errors.empty()) return Status::error("compile: " + errors.toString());
  return compiled->apply(msg, nullptr);
}

TEST(OpenApiTest, SwaggerPetstoreAsGlooWritesIt) {
  auto f = functionsFromOpenApi(readData("petstore-swagger.json"));
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_EQ(f->version, "2.0");
  EXPECT_EQ(names(*f), (Strings{"addPet", "deletePet", "findPetById", "findPets"}));
  const config::Value* find = fn(*f, "findPetById");
  EXPECT_EQ(text(find, ":method"), "GET");
  EXPECT_EQ(text(find, ":path"), "/api/pets/{{ default(id, \"\") }}");
  EXPECT_EQ(text(find, "content-type"), "");  // no body: removed
  EXPECT_EQ(text(find, "body"), "");
  EXPECT_EQ(text(fn(*f, "findPets"), ":path"),
            "/api/pets?tags={{default(tags, \"\")}}&limit={{default(limit, \"\")}}");
  const config::Value* add = fn(*f, "addPet");
  EXPECT_EQ(text(add, ":method"), "POST");
  EXPECT_EQ(text(add, ":path"), "/api/pets");
  EXPECT_EQ(text(add, "content-type"), "application/json");
  EXPECT_EQ(text(add, "body"), "{\"name\": \"{{ default(name, \"\")}}\",\"tag\": \"{{ default(tag, \"\")}}\"}");
  EXPECT_EQ(text(fn(*f, "deletePet"), ":method"), "DELETE");
}

TEST(OpenApiTest, OpenApi3YamlGivesTheSameFunctions) {
  auto v2 = functionsFromOpenApi(readData("petstore-swagger.json"));
  auto v3 = functionsFromOpenApi(readData("petstore-openapi3.yaml"));
  ASSERT_TRUE(v3.ok()) << v3.error();
  EXPECT_EQ(v3->version, "3.0.0");
  ASSERT_EQ(names(*v3), names(*v2));
  for (const auto& d : v2->functions)
    EXPECT_EQ(config::toYaml(d.tmpl), config::toYaml(*fn(*v3, d.name))) << d.name;
}

TEST(OpenApiTest, NamesWithoutOperationIdFollowGloo) {
  auto f = functionsFromOpenApi(R"({"swagger": "2.0", "basePath": "/v1/", "paths": {
      "/users/{user-id}/orders": {"get": {}, "post": {"operationId": "placeOrder"}},
      "/": {"head": {}}}})");
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_EQ(names(*f), (Strings{"get.users.{user-id}.orders", "head.", "placeOrder"}));
  EXPECT_EQ(text(fn(*f, "get.users.{user-id}.orders"), ":path"),
            "/v1/users/{{ default(user-id, \"\") }}/orders");
}

TEST(OpenApiTest, HeaderParametersAndVariableNames) {
  auto f = functionsFromOpenApi(R"(
swagger: "2.0"
paths:
  /items/{item.id}:
    get:
      operationId: getItem
      parameters:
        - {name: item.id, in: path}
        - {name: X-Trace, in: header}
        - {name: Content-Length, in: header}
        - {name: 1st, in: query}
        - {name: in, in: query}
)");
  ASSERT_TRUE(f.ok()) << f.error();
  const config::Value* get = fn(*f, "getItem");
  EXPECT_EQ(text(get, ":path"),
            "/items/{{ default(item_id, \"\") }}?1st={{default(_1st, \"\")}}&in={{default(in_, \"\")}}");
  EXPECT_EQ(text(get, "x-trace"), "{{default(X-Trace, \"\")}}");
  EXPECT_EQ(text(get, "content-length"), "<absent>");
  ASSERT_EQ(f->warnings.size(), 1u);
  EXPECT_NE(f->warnings[0].find("Content-Length"), std::string::npos);
}

TEST(OpenApiTest, RefsNestedObjectsAndCycles) {
  auto f = functionsFromOpenApi(R"({"openapi": "3.1.0",
    "paths": {"/nodes": {"post": {"operationId": "addNode",
      "requestBody": {"$ref": "#/components/requestBodies/NodeBody"}}},
              "/loop": {"$ref": "#/paths/~1loop"},
              "/bad": {"get": {"operationId": "bad", "parameters": [{"$ref": "#/nope"}]}}},
    "components": {
      "requestBodies": {"NodeBody": {"content": {"application/json": {
          "schema": {"$ref": "#/components/schemas/Node"}}}}},
      "schemas": {
        "Node": {"type": "object", "properties": {
          "label": {"type": ["string", "null"], "default": "none"},
          "weight": {"type": "number"},
          "owner": {"$ref": "#/components/schemas/Owner"},
          "child": {"$ref": "#/components/schemas/Node"}}},
        "Owner": {"type": "object", "properties": {"name": {"type": "string"}}},
        "Self": {"$ref": "#/components/schemas/Self"}}}})");
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_EQ(names(*f), (Strings{"addNode", "bad"}));
  EXPECT_EQ(text(fn(*f, "addNode"), "body"),
            "{\"child\": {{ default(child, \"\") }},"
            "\"label\": \"{{ default(label, \"none\")}}\","
            "\"owner\": {\"name\": \"{{ default(owner.name, \"\")}}\"},"
            "\"weight\": {{ default(weight, \"\") }}}");
  // the path item that refers to itself and the unresolvable parameter are reported
  ASSERT_EQ(f->warnings.size(), 2u) << f->warnings[0];
}

TEST(OpenApiTest, NonJsonBodiesPassThrough) {
  auto f = functionsFromOpenApi(R"({"swagger": "2.0", "consumes": ["application/xml"],
    "paths": {"/upload": {"post": {"operationId": "upload",
      "parameters": [{"name": "doc", "in": "body", "schema": {"type": "object",
                      "properties": {"a": {"type": "string"}}}}]}},
              "/form": {"post": {"operationId": "form", "consumes": ["application/json"],
      "parameters": [{"name": "f", "in": "formData", "type": "string"}]}}}})");
  ASSERT_TRUE(f.ok()) << f.error();
  for (const char* name : {"upload", "form"}) {
    const config::Value* t = fn(*f, name);
    ASSERT_TRUE(t);
    EXPECT_TRUE(t->find("passthrough")) << name;
    EXPECT_FALSE(t->find("body")) << name;
  }
}

TEST(OpenApiTest, RejectsWhatIsNotADocument) {
  EXPECT_EQ(functionsFromOpenApi("{\"openapi\": \"2.0\"}").error(),
            "not a Swagger 2.0 or OpenAPI 3.x document (no \"swagger: 2.0\" or \"openapi: 3.x\" "
            "field)");
  EXPECT_EQ(functionsFromOpenApi("[1, 2]").error(),
            "not an OpenAPI document: expected a map at the top");
  EXPECT_EQ(functionsFromOpenApi("{\"swagger\": \"2.0\", \"paths\": [1]}").error(), "paths: expected a map");
  EXPECT_EQ(functionsFromOpenApi("").error(), "empty document");
  auto broken = functionsFromOpenApi("{\"swagger\": \"2.0\", \"paths\": {");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().rfind("not JSON or YAML: ", 0), 0u) << broken.error();
  EXPECT_FALSE(functionsFromOpenApi(std::string(kMaxOpenApiBytes + 1, ' ')).ok());
  // a document without paths has no functions, which is fine
  auto empty = functionsFromOpenApi("openapi: 3.1.0\ninfo: {title: x}\n");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->functions.empty());
}

TEST(OpenApiTest, WideRecursiveSchemasAreBounded) {
  // Each level refers to the next one ten times: without a budget the body would explode.
  std::string doc = "{\"swagger\": \"2.0\", \"paths\": {\"/x\": {\"post\": {\"operationId\": \"x\", "
                    "\"parameters\": [{\"name\": \"b\", \"in\": \"body\", \"schema\": "
                    "{\"$ref\": \"#/definitions/L0\"}}]}}}, \"definitions\": {";
  for (int level = 0; level < 12; ++level) {
    doc += (level ? "," : "") + std::string("\"L") + std::to_string(level) + "\": {\"type\": \"object\", \"properties\": {";
    for (int p = 0; p < 10; ++p)
      doc += (p ? "," : "") + std::string("\"p") + std::to_string(p) + "\": {\"$ref\": \"#/definitions/L" +
             std::to_string(level + 1) + "\"}";
    doc += "}}";
  }
  doc += ", \"L12\": {\"type\": \"string\"}}}";
  auto f = functionsFromOpenApi(doc);
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_TRUE(fn(*f, "x")->find("passthrough"));
  EXPECT_FALSE(f->warnings.empty());
}

TEST(OpenApiTest, TemplatesWorkWithRestParameters) {
  auto f = functionsFromOpenApi(readData("petstore-swagger.json"));
  ASSERT_TRUE(f.ok());
  // findPetById with the id from the route's path pattern
  config::RestDestination byPath;
  byPath.functionName = "findPetById";
  byPath.pathParameter = "/petstore/findPet/{id}";
  filters::Message m;
  m.method = "GET";
  m.path = "/petstore/findPet/7";
  ASSERT_TRUE(callFunction(*fn(*f, "findPetById"), byPath, m).ok());
  EXPECT_EQ(m.method, "GET");
  EXPECT_EQ(m.path, "/api/pets/7");
  // ... and from the JSON body (Gloo's tutorial: curl -d '{"id": 1}')
  filters::Message b;
  b.method = "POST";
  b.path = "/petstore/findPet";
  b.body = "{\"id\": 1}";
  ASSERT_TRUE(callFunction(*fn(*f, "findPetById"), {}, b).ok());
  EXPECT_EQ(b.method, "GET");
  EXPECT_EQ(b.path, "/api/pets/1");
  EXPECT_EQ(b.body, "");
  // addPet with parameters from headers
  config::RestDestination byHeaders;
  byHeaders.headerParameters = {{"x-pet-name", "{name}"}, {"x-pet-tag", "{tag}"}};
  filters::Message a;
  a.method = "POST";
  a.path = "/petstore/add";
  a.headers.add("x-pet-name", "Dog");
  a.headers.add("x-pet-tag", "good");
  ASSERT_TRUE(callFunction(*fn(*f, "addPet"), byHeaders, a).ok());
  EXPECT_EQ(a.path, "/api/pets");
  EXPECT_EQ(a.body, "{\"name\": \"Dog\",\"tag\": \"good\"}");
  ASSERT_TRUE(a.headers.get("content-type"));
  EXPECT_EQ(*a.headers.get("content-type"), "application/json");
}

TEST(OpenApiTest, TemplateVariable) {
  EXPECT_EQ(templateVariable("id"), "id");
  EXPECT_EQ(templateVariable("X-Request-Id"), "X-Request-Id");
  EXPECT_EQ(templateVariable("a.b c"), "a_b_c");
  EXPECT_EQ(templateVariable("9lives"), "_9lives");
  EXPECT_EQ(templateVariable(""), "_");
  EXPECT_EQ(templateVariable("not"), "not_");
}

}  // namespace
}  // namespace portico::discovery
