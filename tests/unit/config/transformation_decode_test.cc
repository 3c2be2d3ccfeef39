// Decoding transformations (options.transformations, stagedTransformations) and REST functions
// (serviceSpec.rest on an upstream, destinationSpec.rest on a route).
#include <gtest/gtest.h>

#include "config/decode.h"
#include "decode_test_util.h"

namespace portico::config {
namespace {

using testing::Strings;
using testing::vsErrors;
using testing::vsWithRoute;

TEST(TransformationDecodeTest, GlooExtractQueryParameterExample) {
  // Gloo docs, extract_query_params: an extractor on :path into a header.
  VirtualService vs = testing::decodeVs(vsWithRoute(
      "      options:\n"
      "        transformations:\n"
      "          requestTransformation:\n"
      "            transformationTemplate:\n"
      "              extractors:\n"
      "                foo: {header: ':path', regex: '(.*foo=([^&]*).*)', subgroup: 2}\n"
      "              headers:\n"
      "                foo: {text: '{{ foo }}'}\n"));
  const auto& t = *vs.routes[0].options.transformations;
  ASSERT_EQ(t.regular.requestTransforms.size(), 1u);
  const TransformationTemplate& tt = t.regular.requestTransforms[0].request->tmpl;
  ASSERT_EQ(tt.extractors.size(), 1u);
  EXPECT_EQ(tt.extractors[0].header, ":path");
  EXPECT_EQ(tt.extractors[0].subgroup, 2u);
  ASSERT_EQ(tt.headers.size(), 1u);
  EXPECT_EQ(tt.headers[0].second.text, "{{ foo }}");
  EXPECT_EQ(tt.headers[0].second.fieldPath,
            "spec.virtualHost.routes[0].options.transformations.requestTransformation."
            "transformationTemplate.headers.foo.text");
  EXPECT_EQ(tt.body, TransformationTemplate::Body::Keep);
}

TEST(TransformationDecodeTest, StagedWithMatchersAndBodyModes) {
  VirtualService vs = testing::decodeVs(vsWithRoute(
      "      options:\n"
      "        stagedTransformations:\n"
      "          inheritTransformation: true\n"
      "          early:\n"
      "            requestTransforms:\n"
      "            - matcher: {prefix: /a, headers: [{name: x}]}\n"
      "              requestTransformation: {transformationTemplate: {passthrough: {}}}\n"
      "          regular:\n"
      "            responseTransforms:\n"
      "            - matchers: [{name: ':status', value: '404'}]\n"
      "              responseTransformation:\n"
      "                transformationTemplate:\n"
      "                  mergeJsonKeys: {jsonKeys: {a.b: {tmpl: {text: '1'}, overrideEmpty: true}}}\n"
      "                  parseBodyBehavior: DontParse\n"));
  const auto& t = *vs.routes[0].options.transformations;
  EXPECT_TRUE(t.inheritTransformation);
  ASSERT_EQ(t.early.requestTransforms.size(), 1u);
  EXPECT_EQ(t.early.requestTransforms[0].matcher->value, "/a");
  EXPECT_EQ(t.early.requestTransforms[0].request->tmpl.body,
            TransformationTemplate::Body::Passthrough);
  ASSERT_EQ(t.regular.responseTransforms.size(), 1u);
  const auto& rt = t.regular.responseTransforms[0];
  EXPECT_EQ(rt.matchers[0].name, ":status");
  EXPECT_FALSE(rt.response.tmpl.parseBodyAsJson);
  ASSERT_EQ(rt.response.tmpl.mergeJsonKeys.size(), 1u);
  EXPECT_EQ(rt.response.tmpl.mergeJsonKeys[0].key, "a.b");
  EXPECT_TRUE(rt.response.tmpl.mergeJsonKeys[0].overrideEmpty);
}

TEST(TransformationDecodeTest, ErrorsNameTheField) {
  const std::string p = "spec.virtualHost.routes[0].options.";
  const std::string tt = p + "transformations.requestTransformation.transformationTemplate.";
  EXPECT_EQ(vsErrors(vsWithRoute(
                "      options:\n"
                "        transformations:\n"
                "          requestTransformation:\n"
                "            transformationTemplate:\n"
                "              extractors: {e: {header: x, regex: '(', mode: EXTRACT}}\n"
                "              headers: {'bad name': {text: x}, content-length: {text: '1'}}\n"
                "              body: {text: x}\n"
                "              passthrough: {}\n"
                "              parseBodyBehavior: Maybe\n"
                "              dynamicMetadataValues: [{key: k, value: {text: v}, jsonToProto: true}]\n")),
            (Strings{tt + "extractors.e.regex: invalid regex: missing ): (",
                     tt + "headers[\"bad name\"]: invalid header name \"bad name\": expected a "
                          "token (letters, digits and !#$%&'*+-.^_`|~) or one of :path, :method, "
                          ":authority, :status",
                     tt + "headers.content-length: \"content-length\" is set by Portico from the "
                          "message; a template cannot set it",
                     tt.substr(0, tt.size() - 1) +
                         ": only one of body, passthrough, mergeExtractorsToBody, mergeJsonKeys "
                         "may be set",
                     tt + "parseBodyBehavior: unknown value \"Maybe\": expected ParseAsJson or "
                          "DontParse",
                     tt + "dynamicMetadataValues[0].jsonToProto: not supported by Portico: "
                          "metadata values are kept as strings (the access log prints them as "
                          "text)"}));
  EXPECT_EQ(vsErrors(vsWithRoute("      options:\n"
                                 "        transformations: {clearRouteCache: true}\n"
                                 "        stagedTransformations: {postRouting: {}}\n")),
            (Strings{p.substr(0, p.size() - 1) +
                         ": only one of transformations, stagedTransformations may be set",
                     p + "transformations.clearRouteCache: needs a requestTransformation (the "
                         "route is chosen again after it is applied)",
                     p + "stagedTransformations.postRouting: field not supported by Portico yet"}));
  EXPECT_EQ(vsErrors(vsWithRoute(
                "      options:\n"
                "        transformations:\n"
                "          requestTransformation:\n"
                "            transformationTemplate:\n"
                "              extractors: {e: {body: {}, regex: 'a', mode: REPLACE_ALL}}\n")),
            (Strings{tt + "extractors.e.replacementText: required with mode SINGLE_REPLACE or "
                          "REPLACE_ALL"}));
}

TEST(TransformationDecodeTest, RestDestinationAndServiceSpec) {
  VirtualService vs = testing::decodeVs(testing::vsWithRoutes(
      "    - routeAction:\n"
      "        single:\n"
      "          upstream: {name: petstore}\n"
      "          destinationSpec:\n"
      "            rest:\n"
      "              functionName: findPetById\n"
      "              parameters: {headers: {X-Pet: '{id}'}, path: '/pets/{id}/{kind}'}\n"));
  const RouteAction& a = vs.routes[0].action;
  ASSERT_TRUE(a.rest.has_value());
  EXPECT_EQ(a.rest->functionName, "findPetById");
  EXPECT_EQ(a.rest->pathParameter, "/pets/{id}/{kind}");
  ASSERT_EQ(a.rest->headerParameters.size(), 1u);
  EXPECT_EQ(a.rest->headerParameters[0].first, "x-pet");

  EXPECT_EQ(vsErrors(testing::vsWithRoutes(
                "    - routeAction:\n"
                "        single:\n"
                "          upstream: {name: petstore}\n"
                "          destinationSpec: {rest: {parameters: {path: '/pets/{id'}}}\n")),
            (Strings{"spec.virtualHost.routes[0].routeAction.single.destinationSpec.rest."
                     "functionName: required",
                     "spec.virtualHost.routes[0].routeAction.single.destinationSpec.rest."
                     "parameters.path: unbalanced '{' in \"/pets/{id\""}));

  Errors errors;
  Upstream up = decodeUpstream(
      testing::rawObject("apiVersion: gloo.solo.io/v1\n"
                         "kind: Upstream\n"
                         "metadata: {name: petstore, namespace: gloo-system}\n"
                         "spec:\n"
                         "  static:\n"
                         "    hosts: [{addr: 127.0.0.1, port: 80}]\n"
                         "    serviceSpec:\n"
                         "      rest:\n"
                         "        swaggerInfo: {url: http://x/swagger.json}\n"
                         "        transformations:\n"
                         "          findPetById:\n"
                         "            headers: {':path': {text: '/api/pets/{{ default(id, \"\") }}'}}\n"),
      errors);
  ASSERT_EQ(up.restFunctions.size(), 1u);
  EXPECT_EQ(up.restFunctions[0].first, "findPetById");
  EXPECT_EQ(up.restFunctions[0].second.headers[0].first, ":path");
  EXPECT_FALSE(up.typeSpec.find("serviceSpec"));  // not left for the static plugin
  EXPECT_TRUE(errors.empty()) << errors.toString();
  EXPECT_TRUE(up.hasServiceSpec);
  ASSERT_TRUE(up.swaggerInfo.has_value());
  EXPECT_EQ(up.swaggerInfo->url, "http://x/swagger.json");
  EXPECT_EQ(up.swaggerInfo->fieldPath, "spec.static.serviceSpec.rest.swaggerInfo");
}

TEST(TransformationDecodeTest, SwaggerInfoNeedsExactlyOneHttpSource) {
  auto decode = [](const std::string& info) {
    Errors errors;
    Upstream up = decodeUpstream(
        testing::rawObject("apiVersion: gloo.solo.io/v1\n"
                           "kind: Upstream\n"
                           "metadata: {name: petstore, namespace: gloo-system}\n"
                           "spec:\n"
                           "  static:\n"
                           "    hosts: [{addr: 127.0.0.1, port: 80}]\n"
                           "    serviceSpec: {rest: {swaggerInfo: " + info + "}}\n"),
        errors);
    return errors.items();
  };
  EXPECT_EQ(decode("{inline: 'openapi: 3.0.0'}"), Strings{});
  EXPECT_EQ(decode("{}"), (Strings{"spec.static.serviceSpec.rest.swaggerInfo: exactly one of url, "
                                   "inline is required"}));
  EXPECT_EQ(decode("{url: 'https://x/a.json'}"), Strings{});
  EXPECT_EQ(decode("{url: 'ftp://x'}"),
            (Strings{"spec.static.serviceSpec.rest.swaggerInfo.url: expected an http:// or "
                     "https:// URL"}));
  EXPECT_EQ(decode("{url: 'https://'}"),
            (Strings{"spec.static.serviceSpec.rest.swaggerInfo.url: expected an http:// or "
                     "https:// URL"}));
}

}  // namespace
}  // namespace portico::config
