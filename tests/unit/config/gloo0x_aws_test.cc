// Gloo 0.x `type: aws` upstreams (gloo-api.md §1.5, §1.7): conversion to spec.aws with
// lambdaFunctions, the 0.x region list, 0.x secret keys, and routes to their functions in
// `portico convert` output.
#include <gtest/gtest.h>

#include "config/decode.h"
#include "decode_test_util.h"
#include "plugins/aws/aws_upstream.h"

namespace portico::config {
namespace {

using testing::Strings;

Result<RawObject> rawOf(const std::string& yaml) {
  auto docs = parseYaml(yaml, "old.yml");
  if (!docs.ok()) return docs.status();
  return toRawObject(docs->front());
}

Strings conversionErrors(const std::string& yaml) {
  auto docs = parseYaml(yaml, "old.yml");
  EXPECT_TRUE(docs.ok()) << docs.error();
  Errors errors;
  if (docs.ok()) convertGloo0x(docs->front().root, errors);
  return errors.items();
}

// gloo-api.md §1.7's first example.
const char* kDocsUpstream = "name: my-lambda-upstream\n"
                            "type: aws\n"
                            "spec: {region: us-east-1, secret_ref: my-aws-secrets}\n"
                            "functions:\n"
                            "- {name: func1, spec: {function_name: func1}}\n"
                            "- {name: func2, spec: {function_name: func2, qualifier: v1}}\n";

TEST(Gloo0xAwsTest, DocsUpstreamDecodesAsLambdaFunctions) {
  auto raw = rawOf(kDocsUpstream);
  ASSERT_TRUE(raw.ok()) << raw.error();
  EXPECT_TRUE(raw->conversionErrors.empty());
  Errors errors;
  Upstream up = decodeUpstream(*raw, errors);
  ASSERT_EQ(up.type, "aws");
  AwsUpstream aws = decodeAwsUpstream(up, errors);
  ASSERT_TRUE(errors.empty()) << errors.toString();
  EXPECT_EQ(aws.region, "us-east-1");
  EXPECT_EQ(aws.secretRef, (ResourceRef{"my-aws-secrets", "gloo-system"}));
  ASSERT_EQ(aws.functions.size(), 2u);
  EXPECT_EQ(aws.functions[0].logicalName, "func1");
  EXPECT_EQ(aws.functions[0].functionName, "func1");
  EXPECT_EQ(aws.functions[0].qualifier, "");  // $LATEST
  EXPECT_EQ(aws.functions[1].logicalName, "func2");  // the 0.x name, not func2:v1
  EXPECT_EQ(aws.functions[1].functionName, "func2");
  EXPECT_EQ(aws.functions[1].qualifier, "v1");
}

TEST(Gloo0xAwsTest, NamesAndQualifiersWrittenAsNumbers) {
  auto raw = rawOf("name: l\ntype: aws\nmetadata: {namespace: team}\n"
                   "spec: {region: eu-west-3, secret_ref: creds}\n"
                   "functions: [{name: 7, spec: {function_name: f, qualifier: 3}}]\n");
  ASSERT_TRUE(raw.ok()) << raw.error();
  Errors errors;
  AwsUpstream aws = decodeAwsUpstream(decodeUpstream(*raw, errors), errors);
  ASSERT_TRUE(errors.empty()) << errors.toString();
  EXPECT_EQ(aws.secretRef, (ResourceRef{"creds", "team"}));
  ASSERT_EQ(aws.functions.size(), 1u);
  EXPECT_EQ(aws.functions[0].logicalName, "7");
  EXPECT_EQ(aws.functions[0].qualifier, "3");
}

TEST(Gloo0xAwsTest, ErrorsNameThe0xFields) {
  EXPECT_EQ(conversionErrors("name: l\ntype: aws\nspec: {region: us-east-9, secret_ref: s}\n"),
            Strings{"spec.region: unknown region \"us-east-9\": Gloo 0.x accepts us-east-1, "
                    "us-east-2, us-west-1, us-west-2, ap-northeast-1, ap-northeast-2, ap-south-1, "
                    "ap-southeast-1, ap-southeast-2, ca-central-1, cn-north-1, eu-central-1, "
                    "eu-west-1, eu-west-2, eu-west-3, sa-east-1"});
  // A valid modern region that 0.x did not know is still refused: the 0.x object is 0.x's.
  EXPECT_EQ(conversionErrors("name: l\ntype: aws\nspec: {region: eu-north-1, secret_ref: s}\n")
                .at(0)
                .rfind("spec.region: unknown region \"eu-north-1\"", 0),
            0u);
  EXPECT_EQ(conversionErrors("name: l\ntype: aws\n"),
            (Strings{"spec.region: required", "spec.secret_ref: required"}));
  EXPECT_EQ(conversionErrors("name: l\ntype: aws\nspec: {region: [a], secret_ref: {n: 1}, x: 1}\n"),
            (Strings{"spec.region: expected a string, got list",
                     "spec.secret_ref: expected a string, got map",
                     "spec.x: field not supported by Portico yet"}));
  EXPECT_EQ(conversionErrors("name: l\ntype: aws\nspec: {region: us-east-1, secret_ref: s}\n"
                             "functions:\n"
                             "- {spec: {qualifier: v1, memory: 128}}\n"
                             "- {name: f, spec: {function_name: [x]}, extra: 1}\n"
                             "- 5\n"),
            (Strings{"functions[0].name: required", "functions[0].spec.function_name: required",
                     "functions[0].spec.memory: field not supported by Portico yet",
                     "functions[1].spec.function_name: expected a string, got list",
                     "functions[1].extra: field not supported by Portico yet",
                     "functions[2]: expected a map, got number"}));
  EXPECT_EQ(conversionErrors("name: l\ntype: aws\nspec: {region: us-east-1, secret_ref: s}\n"
                             "functions: {f: 1}\n"),
            Strings{"functions: expected a list, got map"});
  // What the modern decoder checks (a duplicate logical name) comes back with the modern path.
  auto raw = rawOf("name: l\ntype: aws\nspec: {region: us-east-1, secret_ref: s}\n"
                   "functions: [{name: f, spec: {function_name: a}}, "
                   "{name: f, spec: {function_name: b}}]\n");
  ASSERT_TRUE(raw.ok()) << raw.error();
  Errors errors;
  decodeAwsUpstream(decodeUpstream(*raw, errors), errors);
  EXPECT_EQ(errors.items(),
            Strings{"spec.aws.lambdaFunctions[1].logicalName: duplicate logical name \"f\""});
}

TEST(Gloo0xAwsTest, Gloo0xSecretKeys) {
  // Gloo 0.x kept secrets as string maps; its aws plugin read access_key and secret_key.
  Errors errors;
  Secret s = decodeSecret(testing::rawObject("apiVersion: v1\nkind: Secret\n"
                                             "metadata: {name: my-aws-secrets}\n"
                                             "data: {access_key: QUs=}\n"
                                             "stringData: {secret_key: SK}\n"),
                          errors);
  ASSERT_TRUE(errors.empty()) << errors.toString();
  EXPECT_EQ(s.type, Secret::Type::Aws);
  EXPECT_EQ(s.accessKey, "AK");
  EXPECT_EQ(s.secretKey, "SK");
  EXPECT_EQ(s.sessionToken, "");

  decodeSecret(testing::rawObject("apiVersion: v1\nkind: Secret\nmetadata: {name: a}\n"
                                  "stringData: {access_key: AK}\n"),
               errors);
  EXPECT_EQ(errors.items(), Strings{"data.secret_key: required"});
  // In a gloo.solo.io/v1 aws secret the 0.x names are a mistake, and said so.
  Errors glooErrors;
  decodeSecret(testing::rawObject("apiVersion: gloo.solo.io/v1\nkind: Secret\nmetadata: {name: a}\n"
                                  "spec: {aws: {access_key: AK, secretKey: SK}}\n"),
               glooErrors);
  EXPECT_EQ(glooErrors.items(),
            (Strings{"spec.aws.access_key: unknown field: Gloo's AwsSecret fields are accessKey, "
                     "secretKey and sessionToken",
                     "spec.aws.accessKey: required"}));
}

const char* kRoutes = "name: default\n"
                      "routes:\n"
                      "- request_matcher: {path_prefix: /one}\n"
                      "  single_destination: {function: {upstream_name: my-lambda-upstream, "
                      "function_name: func2}}\n"
                      "- request_matcher: {path_prefix: /split}\n"
                      "  multiple_destinations:\n"
                      "  - {destination: {function: {upstream_name: my-lambda-upstream, "
                      "function_name: func1}}, weight: 1}\n"
                      "  - {function: {upstream_name: petstore, function_name: find}, weight: 1}\n";

TEST(Gloo0xAwsTest, ConvertFileTurnsLambdaFunctionRoutesIntoAwsDestinations) {
  const std::string text =
      std::string(kDocsUpstream) + "---\n" + kRoutes +
      "---\n"
      "name: petstore\ntype: static\nspec: {hosts: [{addr: 10.0.0.1, port: 80}]}\n"
      "service_info: {type: REST}\nfunctions: [{name: find, spec: {path: /p}}]\n";
  auto out = convertToModern(text, "gloo.yml");
  ASSERT_TRUE(out.ok()) << out.error();
  auto docs = parseYaml(*out, "converted.yml");
  ASSERT_TRUE(docs.ok()) << docs.error();
  ASSERT_EQ(docs->size(), 3u);
  EXPECT_EQ(toYaml(docs->at(1).root),
            "apiVersion: gateway.solo.io/v1\nkind: VirtualService\nmetadata:\n  name: default\n"
            "  namespace: gloo-system\nspec:\n  virtualHost:\n    routes:\n"
            "    - matchers:\n      - prefix: /one\n      routeAction:\n        single:\n"
            "          upstream:\n            name: my-lambda-upstream\n"
            "          destinationSpec:\n            aws:\n              logicalName: func2\n"
            "    - matchers:\n      - prefix: /split\n      routeAction:\n        multi:\n"
            "          destinations:\n"
            "          - destination:\n              upstream:\n"
            "                name: my-lambda-upstream\n              destinationSpec:\n"
            "                aws:\n                  logicalName: func1\n            weight: 1\n"
            "          - destination:\n              upstream:\n                name: petstore\n"
            "              destinationSpec:\n                rest:\n"
            "                  functionName: find\n            weight: 1\n");
  // Every output document is a modern object that decodes cleanly.
  for (const Document& doc : *docs) {
    auto obj = toRawObject(doc);
    ASSERT_TRUE(obj.ok()) << obj.error();
    Errors errors;
    if (obj->kind == "Upstream") {
      Upstream up = decodeUpstream(*obj, errors);
      if (up.type == "aws") decodeAwsUpstream(up, errors);
    }
    if (obj->kind == "VirtualService") decodeVirtualService(*obj, errors);
    EXPECT_TRUE(errors.empty()) << obj->kind << ": " << errors.toString();
  }
  auto again = convertToModern(*out, "converted.yml");
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ(*again, *out);

  // Alone, the virtual service cannot know the upstream's type: REST, as before.
  auto alone = convertToModern(kRoutes, "vs.yml");
  ASSERT_TRUE(alone.ok()) << alone.error();
  EXPECT_EQ(alone->find("aws"), std::string::npos) << *alone;
  // An upstream of the same name in another namespace is another upstream.
  auto elsewhere = convertToModern(std::string(kDocsUpstream) + "metadata: {namespace: other}\n" +
                                       "---\n" + kRoutes,
                                   "ns.yml");
  ASSERT_TRUE(elsewhere.ok()) << elsewhere.error();
  EXPECT_NE(elsewhere->find("rest:\n                  functionName: func1"), std::string::npos)
      << *elsewhere;
}

TEST(Gloo0xAwsTest, ConvertFileRefusesRestParametersOnLambda) {
  auto out = convertToModern(std::string(kDocsUpstream) +
                                 "---\nname: default\nroutes:\n"
                                 "- single_destination: {function: {upstream_name: "
                                 "my-lambda-upstream, function_name: func1}}\n"
                                 "  extensions: {parameters: {headers: {x-id: '{id}'}}}\n",
                             "p.yml");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error(), "p.yml:8: routes[0].single_destination: extensions.parameters apply to "
                         "REST functions, not to the Lambda function of upstream "
                         "\"my-lambda-upstream\"");
}

}  // namespace
}  // namespace portico::config
