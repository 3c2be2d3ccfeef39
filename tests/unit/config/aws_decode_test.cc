// The aws upstream (spec.aws through the aws plugin's decoder) and destinationSpec.aws: Gloo's
// documented shapes decode, every unsupported field is rejected by name.
#include <gtest/gtest.h>

#include "config/decode.h"
#include "decode_test_util.h"
#include "plugins/aws/aws_upstream.h"

namespace portico::config {
namespace {

using testing::Strings;

AwsUpstream decodeAws(const std::string& spec, Errors& errors) {
  std::string yaml = "apiVersion: gloo.solo.io/v1\n"
                     "kind: Upstream\n"
                     "metadata: {name: aws-upstream, namespace: gloo-system}\n"
                     "spec:\n  aws: " + spec + "\n";
  Upstream up = decodeUpstream(testing::rawObject(yaml), errors);
  EXPECT_EQ(up.type, "aws");
  return decodeAwsUpstream(up, errors);
}

Strings awsErrors(const std::string& spec) {
  Errors errors;
  decodeAws(spec, errors);
  return errors.items();
}

TEST(AwsDecodeTest, GlooDocsUpstream) {
  // gloo-api.md §2.5 (functions are filled in by discovery or by hand).
  Errors errors;
  AwsUpstream aws = decodeAws(
      "{region: us-east-1, secretRef: {name: aws-creds, namespace: gloo-system},"
      " lambdaFunctions: [{logicalName: echo, lambdaFunctionName: echo},"
      " {lambdaFunctionName: hello, qualifier: '2'}, {lambdaFunctionName: plain}]}",
      errors);
  ASSERT_TRUE(errors.empty()) << errors.toString();
  EXPECT_EQ(aws.region, "us-east-1");
  EXPECT_EQ(aws.host, "lambda.us-east-1.amazonaws.com");
  EXPECT_EQ(aws.secretRef, (ResourceRef{"aws-creds", "gloo-system"}));
  ASSERT_EQ(aws.functions.size(), 3u);
  EXPECT_EQ(aws.functions[0].logicalName, "echo");
  EXPECT_EQ(aws.functions[1].logicalName, "hello:2");  // Gloo's discovery naming
  EXPECT_EQ(aws.functions[1].qualifier, "2");
  EXPECT_EQ(aws.functions[2].logicalName, "plain");
}

TEST(AwsDecodeTest, SecretNamespaceDefaultsAndChinaHost) {
  Errors errors;
  AwsUpstream aws = decodeAws("{region: cn-north-1, secretRef: {name: c}, awsAccountId: '123456789012'}", errors);
  ASSERT_TRUE(errors.empty()) << errors.toString();
  EXPECT_EQ(aws.secretRef.ns, "gloo-system");
  EXPECT_EQ(aws.host, "lambda.cn-north-1.amazonaws.com.cn");
  EXPECT_EQ(aws.awsAccountId, "123456789012");
}

TEST(AwsDecodeTest, RejectedByName) {
  EXPECT_EQ(awsErrors("{region: us-east-1, secretRef: {name: c}, roleArn: 'arn:aws:iam::1:role/r'}"),
            Strings{"spec.aws.roleArn: not supported: assuming a role needs STS, which Portico does "
                    "not call"});
  EXPECT_EQ(awsErrors("{region: us-east-1, secretRef: {name: c}, disableRoleChaining: true}"),
            Strings{"spec.aws.disableRoleChaining: not supported: role chaining needs STS"});
  EXPECT_EQ(awsErrors("{region: us-east-1, secretRef: {name: c}, destinationOverrides: {unwrapAsAlb: true}}"),
            Strings{"spec.aws.destinationOverrides: field not supported by Portico yet"});
  EXPECT_EQ(awsErrors("{region: us-east-1, secretRef: {name: c}, someField: 1}"),
            Strings{"spec.aws.someField: field not supported by Portico yet"});
}

TEST(AwsDecodeTest, BadValues) {
  EXPECT_EQ(awsErrors("{secretRef: {name: c}}"), Strings{"spec.aws.region: required"});
  EXPECT_EQ(awsErrors("{region: 'us east/1', secretRef: {name: c}}"),
            Strings{"spec.aws.region: invalid region \"us east/1\": expected e.g. us-east-1"});
  EXPECT_EQ(awsErrors("{region: us-east-1}").size(), 1u);
  EXPECT_TRUE(awsErrors("{region: us-east-1}")[0].starts_with("spec.aws.secretRef: required"));
  EXPECT_EQ(awsErrors("{region: us-east-1, secretRef: {name: c}, awsAccountId: '12'}"),
            Strings{"spec.aws.awsAccountId: expected a 12-digit AWS account ID"});
  EXPECT_EQ(awsErrors("{region: us-east-1, secretRef: {name: c}, lambdaFunctions: "
                      "[{logicalName: a, lambdaFunctionName: x}, {logicalName: a, lambdaFunctionName: y},"
                      " {logicalName: b}, {lambdaFunctionName: 'bad/name'}]}"),
            (Strings{"spec.aws.lambdaFunctions[1].logicalName: duplicate logical name \"a\"",
                     "spec.aws.lambdaFunctions[2].lambdaFunctionName: required",
                     "spec.aws.lambdaFunctions[3].lambdaFunctionName: invalid Lambda function name"}));
}

TEST(AwsDecodeTest, DestinationSpec) {
  VirtualService vs = testing::decodeVs(testing::vsWithRoutes(
      "    - matchers: [{prefix: /}]\n"
      "      routeAction: {single: {upstream: {name: aws-upstream, namespace: gloo-system},\n"
      "                             destinationSpec: {aws: {logicalName: echo, requestTransformation: true}}}}\n"
      "    - routeAction: {single: {upstream: {name: a}, destinationSpec: {aws: {logicalName: e,\n"
      "        invocationStyle: ASYNC, unwrapAsApiGateway: true, wrapAsApiGateway: true}}}}\n"
      "    - routeAction: {multi: {destinations: [{weight: 1, destination: {upstream: {name: a},\n"
      "        destinationSpec: {aws: {logicalName: e, invocationStyle: 1, responseTransformation: true,\n"
      "        htmlContentTypeHeader: false, unwrapAsAlb: false}}}}]}}\n"));
  ASSERT_EQ(vs.routes.size(), 3u);
  const auto& a0 = vs.routes[0].action.aws;
  ASSERT_TRUE(a0);
  EXPECT_EQ(a0->logicalName, "echo");
  EXPECT_TRUE(a0->requestTransformation);
  EXPECT_FALSE(a0->async);
  EXPECT_EQ(a0->fieldPath, "spec.virtualHost.routes[0].routeAction.single.destinationSpec.aws");
  const auto& a1 = vs.routes[1].action.aws;
  ASSERT_TRUE(a1);
  EXPECT_TRUE(a1->async && a1->unwrapAsApiGateway && a1->wrapAsApiGateway);
  const auto& a2 = vs.routes[2].action.multi[0].destination.aws;
  ASSERT_TRUE(a2);
  EXPECT_TRUE(a2->async && a2->responseTransformation && !a2->htmlContentTypeHeader);
}

TEST(AwsDecodeTest, DestinationSpecErrors) {
  auto errorsOf = [](const std::string& aws) {
    return testing::vsErrors(testing::vsWithRoutes(
        "    - routeAction: {single: {upstream: {name: a}, destinationSpec: " + aws + "}}\n"));
  };
  const std::string p = "spec.virtualHost.routes[0].routeAction.single.destinationSpec";
  EXPECT_EQ(errorsOf("{aws: {}}"), Strings{p + ".aws.logicalName: required"});
  EXPECT_EQ(errorsOf("{aws: {logicalName: e, invocationStyle: LATER}}"),
            Strings{p + ".aws.invocationStyle: expected SYNC or ASYNC"});
  EXPECT_EQ(errorsOf("{aws: {logicalName: e, requestTransformation: true, wrapAsApiGateway: true}}"),
            Strings{p + ".aws: only one of requestTransformation, wrapAsApiGateway may be set"});
  EXPECT_EQ(errorsOf("{aws: {logicalName: e, color: blue}}"),
            Strings{p + ".aws.color: field not supported by Portico yet"});
  EXPECT_EQ(errorsOf("{aws: {logicalName: e}, rest: {functionName: f}}"),
            Strings{p + ": only one of rest, aws may be set"});
}

}  // namespace
}  // namespace portico::config
