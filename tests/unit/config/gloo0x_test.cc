// Gloo 0.x (2018) documents: conversion to the modern objects (convertGloo0x, toRawObject) and
// convertToModern.
#include <gtest/gtest.h>

#include "config/decode.h"
#include "decode_test_util.h"

namespace portico::config {
namespace {

using testing::Strings;

Value root(const std::string& yaml) {
  auto docs = parseYaml(yaml, "old.yml");
  EXPECT_TRUE(docs.ok()) << docs.error();
  if (!docs.ok() || docs->empty()) return {};
  return docs->front().root;
}

// The modern YAML of a 0.x document (failing the test when it does not convert).
std::string converted(const std::string& yaml) {
  auto out = convertGloo0x(root(yaml));
  EXPECT_TRUE(out.ok()) << out.error();
  return out.ok() ? toYaml(*out) : "";
}

std::string conversionError(const std::string& yaml) {
  auto out = convertGloo0x(root(yaml));
  EXPECT_FALSE(out.ok()) << yaml;
  return out.ok() ? "" : out.error();
}

Result<RawObject> rawOf(const std::string& yaml) {
  auto docs = parseYaml(yaml, "old.yml");
  if (!docs.ok()) return docs.status();
  return toRawObject(docs->front());
}

// §1.7 of gloo-api.md, document by document.
const char* kLambdaUpstream = "name: my-lambda-upstream\n"
                              "type: aws\n"
                              "spec: {region: us-east-1, secret_ref: my-aws-secrets}\n";
const char* kLambdaFunctions = "functions:\n"
                               "- {name: func1, spec: {function_name: func1}}\n"
                               "- {name: func2, spec: {function_name: func2, qualifier: v1}}\n";
const char* kPetstoreUpstream =
    "name: petstore\n"
    "type: static\n"
    "spec: {hosts: [{addr: 10.74.150.107, port: 9000}]}\n"
    "metadata: {annotations: {gloo.solo.io/discovery-type: swagger, gloo.solo.io/swagger_url: "
    "http://10.74.150.107:9000/swagger.json}}\n";

TEST(Gloo0xTest, DocsUpstreamExamples) {
  // With its functions: spec.aws.lambdaFunctions (gloo0x_aws_test.cc has the details).
  auto lambda = rawOf(std::string(kLambdaUpstream) + kLambdaFunctions);
  ASSERT_TRUE(lambda.ok()) << lambda.error();
  EXPECT_EQ(lambda->key(), (ObjectKey{"Upstream", "gloo-system", "my-lambda-upstream"}));
  EXPECT_EQ(lambda->conversionErrors, Strings{});

  EXPECT_EQ(converted(kLambdaUpstream), "apiVersion: gloo.solo.io/v1\n"
                                        "kind: Upstream\n"
                                        "metadata:\n"
                                        "  name: my-lambda-upstream\n"
                                        "  namespace: gloo-system\n"
                                        "spec:\n"
                                        "  aws:\n"
                                        "    region: us-east-1\n"
                                        "    secretRef:\n"
                                        "      name: my-aws-secrets\n"
                                        "      namespace: gloo-system\n");
  auto aws = rawOf(kLambdaUpstream);
  ASSERT_TRUE(aws.ok()) << aws.error();
  Errors errors;
  Upstream up = decodeUpstream(*aws, errors);
  EXPECT_TRUE(errors.empty()) << errors.toString();
  EXPECT_EQ(up.type, "aws");

  auto petstore = rawOf(std::string(kPetstoreUpstream) +
                        "service_info: {type: REST}\n"
                        "functions:\n"
                        "- {name: findPetById, spec: {body: '', headers: {':method': GET}, path: "
                        "'/api/pets/{{ default(id, \"\") }}'}}\n");
  ASSERT_TRUE(petstore.ok()) << petstore.error();
  {
    // REST functions: spec.static.serviceSpec.rest.transformations; body "" = removed.
    Errors errors;
    Upstream up = decodeUpstream(*petstore, errors);
    EXPECT_TRUE(errors.empty()) << errors.toString();
    ASSERT_EQ(up.restFunctions.size(), 1u);
    const TransformationTemplate& fn = up.restFunctions[0].second;
    EXPECT_EQ(up.restFunctions[0].first, "findPetById");
    ASSERT_EQ(fn.headers.size(), 2u);
    EXPECT_EQ(fn.headers[0].first, ":path");
    EXPECT_EQ(fn.headers[0].second.text, "/api/pets/{{ default(id, \"\") }}");
    EXPECT_EQ(fn.headers[1].first, ":method");
    EXPECT_EQ(fn.body, TransformationTemplate::Body::Text);
    EXPECT_EQ(fn.bodyText.text, "");
  }
  auto grpc = rawOf(std::string(kPetstoreUpstream) + "service_info: {type: gRPC}\n");
  ASSERT_FALSE(grpc.ok() && grpc->conversionErrors.empty());

  auto stat = rawOf(kPetstoreUpstream);
  ASSERT_TRUE(stat.ok()) << stat.error();
  EXPECT_EQ(stat->apiVersion, "gloo.solo.io/v1");
  EXPECT_EQ(stat->kind, "Upstream");
  EXPECT_EQ(stat->key(), (ObjectKey{"Upstream", "gloo-system", "petstore"}));
  EXPECT_EQ(stat->source, "old.yml:1");
  up = decodeUpstream(*stat, errors);
  EXPECT_TRUE(errors.empty()) << errors.toString();
  EXPECT_EQ(up.type, "static");
  EXPECT_EQ(toYaml(up.typeSpec), "hosts:\n- addr: 10.74.150.107\n  port: 9000\n");
  EXPECT_EQ(up.connectTimeoutMs, 5000);
}

TEST(Gloo0xTest, DocsVirtualServiceExample) {
  const std::string vs =
      "name: default\n"
      "routes:\n"
      "- request_matcher: {path_exact: /petstore/list}\n"
      "  single_destination: {upstream: {name: petstore}}\n"
      "  prefix_rewrite: /api/pets\n"
      "- request_matcher: {path_exact: /petstore/add}\n"
      "  single_destination: {function: {upstream_name: default-petstore-8080, function_name: "
      "addPet}}\n"
      "  extensions: {parameters: {headers: {x-pet-id: '{id}', x-pet-name: '{name}'}}}\n"
      "ssl_config: {secret_ref: gloo-secure}\n";
  // Function destinations become destinationSpec.rest with extensions.parameters; ssl_config
  // becomes sslConfig.
  auto converted = rawOf(vs);
  ASSERT_TRUE(converted.ok()) << converted.error();
  EXPECT_TRUE(converted->conversionErrors.empty());
  {
    Errors errors;
    VirtualService v = decodeVirtualService(*converted, errors);
    EXPECT_TRUE(errors.empty()) << errors.toString();
    ASSERT_EQ(v.routes.size(), 2u);
    const RouteAction& fn = v.routes[1].action;
    EXPECT_EQ(fn.upstream.name, "default-petstore-8080");
    ASSERT_TRUE(fn.rest.has_value());
    EXPECT_EQ(fn.rest->functionName, "addPet");
    EXPECT_EQ(fn.rest->headerParameters,
              (std::vector<std::pair<std::string, std::string>>{{"x-pet-id", "{id}"},
                                                                {"x-pet-name", "{name}"}}));
    EXPECT_FALSE(v.routes[0].action.rest.has_value());
  }

  // The part Portico serves: route 0, without TLS.
  auto obj = rawOf("name: default\n"
                   "routes:\n"
                   "- request_matcher: {path_exact: /petstore/list}\n"
                   "  single_destination: {upstream: {name: petstore}}\n"
                   "  prefix_rewrite: /api/pets\n");
  ASSERT_TRUE(obj.ok()) << obj.error();
  EXPECT_EQ(obj->key(), (ObjectKey{"VirtualService", "gloo-system", "default"}));
  Errors errors;
  VirtualService v = decodeVirtualService(*obj, errors);
  ASSERT_TRUE(errors.empty()) << errors.toString();
  EXPECT_TRUE(v.domains.empty());  // the default virtual service, as in 0.x
  ASSERT_EQ(v.routes.size(), 1u);
  ASSERT_EQ(v.routes[0].matchers.size(), 1u);
  EXPECT_EQ(v.routes[0].matchers[0].type, Matcher::Type::Exact);
  EXPECT_EQ(v.routes[0].matchers[0].value, "/petstore/list");
  EXPECT_EQ(v.routes[0].action.type, RouteAction::Type::Single);
  EXPECT_EQ(v.routes[0].action.upstream, (ResourceRef{"petstore", "gloo-system"}));
  EXPECT_EQ(v.routes[0].options.prefixRewrite, "/api/pets");
}

TEST(Gloo0xTest, RoutesConvertToModernShapes) {
  EXPECT_EQ(
      converted("name: shop\n"
                "metadata: {namespace: team-a, resource_version: 7}\n"
                "domains: [shop.example.com, '']\n"
                "status: {state: 1}\n"
                "routes:\n"
                "- request_matcher:\n"
                "    path_prefix: /api\n"
                "    headers: {x-present: '', x-version: v2, user-agent: '.*Mobile.*', x-n: 2}\n"
                "    query_params: {debug: '', id: '[0-9].*'}\n"
                "    verbs: [GET, POST]\n"
                "  multiple_destinations:\n"
                "  - {destination: {upstream: {name: v1}}, weight: 9}\n"
                "  - {upstream: {name: v2}, weight: 1}\n"
                "- event_matcher: {event_type: order.created}\n"
                "  single_destination: {upstream: {name: orders}}\n"
                "- request_matcher: {path_regex: '/v[0-9]+/.*'}\n"
                "  single_destination: {upstream: {name: api}}\n"
                "  extensions:\n"
                "    timeout: 5s\n"
                "    max_retries: 3\n"
                "    host_rewrite: api.internal\n"
                "    add_request_headers: [{key: X-From, value: portico, append: false}]\n"
                "    add_response_headers: [{key: x-a, value: b}]\n"
                "    remove_response_headers: [server]\n"
                "    cors: {allow_origin: ['*'], allow_methods: 'GET, POST', allow_headers: "
                "content-type, max_age: 86400s, allow_credentials: true}\n"
                "- request_matcher: {}\n"
                "  single_destination: {upstream: {name: web}}\n"
                "  extensions: {}\n"),
      "apiVersion: gateway.solo.io/v1\n"
      "kind: VirtualService\n"
      "metadata:\n"
      "  name: shop\n"
      "  namespace: team-a\n"
      "  resourceVersion: \"7\"\n"
      "spec:\n"
      "  virtualHost:\n"
      "    domains:\n"
      "    - shop.example.com\n"
      "    - \"*\"\n"
      "    routes:\n"
      "    - matchers:\n"
      "      - prefix: /api\n"
      "        headers:\n"
      "        - name: x-present\n"
      "        - name: x-version\n"
      "          value: v2\n"
      "        - name: user-agent\n"
      "          value: \".*Mobile.*\"\n"
      "          regex: true\n"
      "        - name: x-n\n"
      "          value: \"2\"\n"
      "        queryParameters:\n"
      "        - name: debug\n"
      "        - name: id\n"
      "          value: \"[0-9].*\"\n"
      "          regex: true\n"
      "        methods:\n"
      "        - GET\n"
      "        - POST\n"
      "      routeAction:\n"
      "        multi:\n"
      "          destinations:\n"
      "          - destination:\n"
      "              upstream:\n"
      "                name: v1\n"
      "            weight: 9\n"
      "          - destination:\n"
      "              upstream:\n"
      "                name: v2\n"
      "            weight: 1\n"
      "    - matchers:\n"
      "      - exact: /events\n"
      "        headers:\n"
      "        - name: x-event-type\n"
      "          value: order.created\n"
      "      routeAction:\n"
      "        single:\n"
      "          upstream:\n"
      "            name: orders\n"
      "    - matchers:\n"
      "      - regex: \"/v[0-9]+/.*\"\n"
      "      routeAction:\n"
      "        single:\n"
      "          upstream:\n"
      "            name: api\n"
      "      options:\n"
      "        timeout: 5s\n"
      "        hostRewrite: api.internal\n"
      "        retries:\n"
      "          retryOn: 5xx\n"
      "          numRetries: 3\n"
      "        headerManipulation:\n"
      "          requestHeadersToAdd:\n"
      "          - header:\n"
      "              key: X-From\n"
      "              value: portico\n"
      "            append: false\n"
      "          responseHeadersToAdd:\n"
      "          - header:\n"
      "              key: x-a\n"
      "              value: b\n"
      "          responseHeadersToRemove:\n"
      "          - server\n"
      "        cors:\n"
      "          allowOrigin:\n"
      "          - \"*\"\n"
      "          allowMethods:\n"
      "          - GET\n"
      "          - POST\n"
      "          allowHeaders:\n"
      "          - content-type\n"
      "          maxAge: \"86400\"\n"
      "          allowCredentials: true\n"
      "    - matchers:\n"
      "      - prefix: /\n"
      "      routeAction:\n"
      "        single:\n"
      "          upstream:\n"
      "            name: web\n");
}

TEST(Gloo0xTest, ConvertedRoutesDecode) {
  auto obj = rawOf("name: shop\n"
                   "metadata: {namespace: team-a}\n"
                   "routes:\n"
                   "- request_matcher: {path_prefix: /api, headers: {x-version: v2, ua: '.*M.*'},"
                   " verbs: [get]}\n"
                   "  multiple_destinations: [{destination: {upstream: {name: v1}}, weight: 9}]\n"
                   "- event_matcher: {event_type: order.created}\n"
                   "  single_destination: {upstream: {name: orders}}\n"
                   "  extensions: {max_retries: 2, cors: {allow_methods: 'GET,POST'}}\n");
  ASSERT_TRUE(obj.ok()) << obj.error();
  Errors errors;
  VirtualService vs = decodeVirtualService(*obj, errors);
  ASSERT_TRUE(errors.empty()) << errors.toString();
  EXPECT_EQ(vs.meta.ns, "team-a");
  ASSERT_EQ(vs.routes.size(), 2u);
  const Matcher& m = vs.routes[0].matchers.at(0);
  EXPECT_EQ(m.value, "/api");
  ASSERT_EQ(m.headers.size(), 2u);
  EXPECT_FALSE(m.headers[0].regex);
  EXPECT_TRUE(m.headers[1].regex);
  EXPECT_EQ(m.methods, Strings{"GET"});
  EXPECT_EQ(vs.routes[0].action.type, RouteAction::Type::Multi);
  EXPECT_EQ(vs.routes[0].action.multi.at(0).destination.upstream, (ResourceRef{"v1", "team-a"}));
  const Matcher& event = vs.routes[1].matchers.at(0);
  EXPECT_EQ(event.type, Matcher::Type::Exact);
  EXPECT_EQ(event.value, "/events");
  ASSERT_EQ(event.headers.size(), 1u);
  EXPECT_EQ(event.headers[0].name, "x-event-type");
  EXPECT_EQ(event.headers[0].value, "order.created");
  EXPECT_EQ(vs.routes[1].options.retries->numRetries, 2u);
  EXPECT_EQ(vs.routes[1].options.cors->allowMethods, (Strings{"GET", "POST"}));
}

TEST(Gloo0xTest, UpstreamTypes) {
  EXPECT_EQ(
      converted("name: svc\ntype: kubernetes\nconnection_timeout: 2s\n"
                "spec: {service_name: petstore, service_namespace: default, service_port: 8080,"
                " labels: {app: petstore}}\n"),
      "apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata:\n  name: svc\n"
      "  namespace: gloo-system\nspec:\n  kube:\n    serviceName: petstore\n"
      "    serviceNamespace: default\n    servicePort: 8080\n    selector:\n"
      "      app: petstore\n  connectionConfig:\n    connectTimeout: 2s\n");
  EXPECT_EQ(converted("name: c\ntype: consul\nspec: {service_name: s, service_tags: [a]}\n"),
            "apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata:\n  name: c\n"
            "  namespace: gloo-system\nspec:\n  consul:\n    serviceName: s\n    serviceTags:\n"
            "    - a\n");
  EXPECT_EQ(converted("name: az\ntype: azure\nmetadata: {namespace: fn}\n"
                      "spec: {function_app_name: app, secret_ref: pub}\n"),
            "apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata:\n  name: az\n"
            "  namespace: fn\nspec:\n  azure:\n    functionAppName: app\n    secretRef:\n"
            "      name: pub\n      namespace: fn\n");
  EXPECT_EQ(converted("name: s\ntype: service\nspec: {hosts: [{addr: a.com, port: 80}], "
                      "enable_ipv6: false, tls: false}\nfunctions: []\n"),
            "apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata:\n  name: s\n"
            "  namespace: gloo-system\nspec:\n  static:\n    hosts:\n    - addr: a.com\n"
            "      port: 80\n");
  // No modern counterpart: kept as spec.<type>, which decodeUpstream names.
  auto google = rawOf("name: g\ntype: google\nspec: {region: us, project_id: p}\n");
  ASSERT_TRUE(google.ok()) << google.error();
  Errors errors;
  decodeUpstream(*google, errors);
  EXPECT_EQ(errors.items(), (Strings{"spec: one of static, kube, aws, azure, consul, awsEc2, gcp, "
                                     "pipe is required",
                                     "spec.google: field not supported by Portico yet"}));
}

TEST(Gloo0xTest, ConversionErrors) {
  EXPECT_EQ(conversionError("name: s\ntype: static\nspec: {hosts: [], enable_ipv6: true, tls: "
                            "true, extra: 1}\n"),
            "spec.enable_ipv6: field not supported by Portico yet; spec.tls: field not supported "
            "by Portico yet; spec.extra: field not supported by Portico yet");
  EXPECT_EQ(conversionError("name: s\ntype: static\nconnection_timeout: 5\n"),
            "connection_timeout: invalid duration: expected e.g. \"5s\" or \"250ms\"");
  EXPECT_EQ(conversionError("name: s\ntype: ''\n"), "type: required");
  EXPECT_EQ(conversionError("name: x\ntype: static\nroutes: []\n"),
            "a Gloo 0.x object has either type (an upstream) or routes and domains (a virtual "
            "service), not both");
  EXPECT_EQ(conversionError("name: x\nmetadata: {}\n"),
            "cannot tell the kind of this Gloo 0.x object: an upstream has type, a virtual "
            "service has routes or domains");
  EXPECT_EQ(conversionError("name: v\ndomains: ['*']\ndisable_for_gateways: true\n"),
            "disable_for_gateways: true is not supported by Portico yet: a virtual service is "
            "served by every gateway that selects it");
  EXPECT_EQ(conversionError("name: v\nroutes: x\n"), "routes: expected a list, got string");
  EXPECT_EQ(
      conversionError("name: v\nmetadata: {namespace: a, labels: {}}\nroutes:\n"
                      "- request_matcher: {path_prefix: /a, path_exact: /b}\n"
                      "  event_matcher: {}\n"
                      "- single_destination: {}\n"
                      "- multiple_destinations: [{weight: 1}, {destination: {upstream: {}}}]\n"
                      "- single_destination: {upstream: {name: a}}\n"
                      "  multiple_destinations: []\n"
                      "  extensions: {add_request_headers: [{value: v}], cors: {x: 1}}\n"
                      "- request_matcher: {headers: [a]}\n"
                      "  single_destination: {upstream: {name: a}}\n"),
      "metadata.labels: field not supported by Portico yet; "
      "routes[0]: only one of request_matcher, event_matcher may be set; "
      "routes[0].request_matcher: only one of path_prefix, path_regex, path_exact may be set; "
      "routes[0].event_matcher.event_type: required; "
      "routes[0]: one of single_destination, multiple_destinations is required; "
      "routes[1].single_destination: one of upstream, function is required; "
      "routes[2].multiple_destinations[0].destination: required; "
      "routes[2].multiple_destinations[1].destination.upstream.name: required; "
      "routes[2].multiple_destinations[1].weight: required; "
      "routes[3]: only one of single_destination, multiple_destinations may be set; "
      "routes[3].extensions.add_request_headers[0].key: required; "
      "routes[3].extensions.cors.x: field not supported by Portico yet; "
      "routes[4].request_matcher.headers: expected a map of name: value, got list");
  Errors errors;
  convertGloo0x(root("apiVersion: v1\nkind: X\nname: a\n"), errors);
  EXPECT_EQ(errors.toString(), "not a Gloo 0.x document: expected a map with a top-level name "
                               "and no apiVersion or kind");
}

TEST(Gloo0xTest, DetectionAndPositions) {
  EXPECT_TRUE(isGloo0xDocument(root("name: a\ntype: static\n")));
  EXPECT_FALSE(isGloo0xDocument(root("apiVersion: gloo.solo.io/v1\nkind: Upstream\nname: a\n")));
  EXPECT_FALSE(isGloo0xDocument(root("kind: Upstream\nname: a\n")));
  EXPECT_FALSE(isGloo0xDocument(root("type: static\n")));
  EXPECT_FALSE(isGloo0xDocument(root("[name]\n")));

  Value old = root("# petstore\nname: petstore\ntype: static\nspec:\n  hosts:\n"
                   "  - {addr: 1.2.3.4, port: 80}\n");
  auto modern = convertGloo0x(old);
  ASSERT_TRUE(modern.ok()) << modern.error();
  const Value* name = modern->find("metadata")->find("name");
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(name->line, 2);
  EXPECT_EQ(name->column, 7);
  const Value* hosts = modern->find("spec")->find("static")->find("hosts");
  ASSERT_NE(hosts, nullptr);
  EXPECT_EQ(hosts->line, 6);
  EXPECT_EQ(hosts->list.at(0).find("port")->line, 6);
  EXPECT_EQ(modern->find("kind")->line, 2);  // synthesized: the document's position

  // A 0.x document whose converted identity is invalid fails like a modern one would.
  auto bad = rawOf("name: Bad_Name\ntype: static\nmetadata: {namespace: ns}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().rfind("metadata.name: invalid name \"Bad_Name\"", 0), 0u) << bad.error();
  bad = rawOf("name: Bad_Name\ntype: static\nservice_info: {type: gRPC}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().rfind("metadata.name: invalid name \"Bad_Name\"", 0), 0u) << bad.error();
  EXPECT_NE(bad.error().find("; service_info.type: service type \"gRPC\" is not supported"),
            std::string::npos)
      << bad.error();
  // Without a kind there is no object at all: the document fails.
  bad = rawOf("name: x\nmetadata: {}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), "cannot tell the kind of this Gloo 0.x object: an upstream has type, a "
                         "virtual service has routes or domains");
}

TEST(Gloo0xTest, ConvertToModernFile) {
  const std::string text = "# Gloo 0.x export\n"
                           "---\n"
                           "name: petstore\n"
                           "type: static\n"
                           "spec: {hosts: [{addr: 127.0.0.1, port: 9000}]}\n"
                           "---\n"
                           "# already modern: kept as written\n"
                           "apiVersion: gateway.solo.io/v1\n"
                           "kind: Gateway\n"
                           "metadata: {name: gw}   # a comment\n"
                           "spec: {bindPort: 8080}\n"
                           "---\n"
                           "# the default virtual service\n"
                           "\n"
                           "name: default  # this comment is lost\n"
                           "routes:\n"
                           "- request_matcher: {path_prefix: /}\n"
                           "  single_destination: {upstream: {name: petstore}}\n";
  auto out = convertToModern(text, "gloo.yml");
  ASSERT_TRUE(out.ok()) << out.error();
  EXPECT_EQ(*out,
            "# Gloo 0.x export\n"
            "---\n"
            "apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata:\n  name: petstore\n"
            "  namespace: gloo-system\nspec:\n  static:\n    hosts:\n    - addr: 127.0.0.1\n"
            "      port: 9000\n"
            "---\n"
            "# already modern: kept as written\n"
            "apiVersion: gateway.solo.io/v1\n"
            "kind: Gateway\n"
            "metadata: {name: gw}   # a comment\n"
            "spec: {bindPort: 8080}\n"
            "---\n"
            "# the default virtual service\n"
            "\n"
            "apiVersion: gateway.solo.io/v1\nkind: VirtualService\nmetadata:\n  name: default\n"
            "  namespace: gloo-system\nspec:\n  virtualHost:\n    routes:\n    - matchers:\n"
            "      - prefix: /\n      routeAction:\n        single:\n          upstream:\n"
            "            name: petstore\n");

  // Round trip: every document of the output is a modern object that decodes cleanly.
  auto docs = parseYaml(*out, "converted.yml");
  ASSERT_TRUE(docs.ok()) << docs.error();
  ASSERT_EQ(docs->size(), 3u);
  for (const Document& doc : *docs) {
    EXPECT_FALSE(isGloo0xDocument(doc.root));
    auto obj = toRawObject(doc);
    ASSERT_TRUE(obj.ok()) << obj.error();
    Errors errors;
    if (obj->kind == "Upstream") decodeUpstream(*obj, errors);
    if (obj->kind == "Gateway") decodeGateway(*obj, errors);
    if (obj->kind == "VirtualService") decodeVirtualService(*obj, errors);
    EXPECT_TRUE(errors.empty()) << obj->kind << ": " << errors.toString();
  }
  // Converting again changes nothing.
  auto again = convertToModern(*out, "converted.yml");
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ(*again, *out);
}

TEST(Gloo0xTest, ConvertToModernErrors) {
  auto bad = convertToModern("name: a\ntype: static\nservice_info: {type: gRPC}\n---\n"
                             "apiVersion: v1\nkind: X\nmetadata: {name: x}\n---\n"
                             "name: v\nroutes: [{single_destination: {function: {}}}]\n",
                             "f.yml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), "f.yml:1: service_info.type: service type \"gRPC\" is not supported by "
                         "Portico yet (only REST)\n"
                         "f.yml:9: routes[0].single_destination.function.upstream_name: required; "
                         "routes[0].single_destination.function.function_name: required");
  auto syntax = convertToModern("name: [\n", "f.yml");
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.error().rfind("f.yml:", 0), 0u) << syntax.error();
  // "--- {inline}" cannot be passed through without its marker line: re-emitted instead.
  auto inlineDoc = convertToModern("--- {apiVersion: v1, kind: X, metadata: {name: x}}\n", "f.yml");
  ASSERT_TRUE(inlineDoc.ok()) << inlineDoc.error();
  EXPECT_EQ(*inlineDoc, "apiVersion: v1\nkind: X\nmetadata:\n  name: x\n");
  auto empty = convertToModern("", "f.yml");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
}

}  // namespace
}  // namespace portico::config
