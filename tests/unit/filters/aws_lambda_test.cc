// The Lambda stages: the Invoke request (path, qualifier, invocation type, signed headers,
// client credentials dropped), API Gateway wrapping, and the answer's mapping (function errors,
// ALB / API Gateway unwrapping), alone and as a route's last stage.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "filters/aws_lambda.h"
#include "filters/route_transformations.h"

namespace portico::filters {
namespace {

using json = nlohmann::json;

std::chrono::system_clock::time_point fixedClock() {
  return std::chrono::system_clock::from_time_t(1440938160);  // 2015-08-30T12:36:00Z
}

LambdaCall call(std::string qualifier = "", std::string token = "") {
  LambdaCall c;
  c.region = "us-east-1";
  c.host = "lambda.us-east-1.amazonaws.com";
  c.credentials = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", std::move(token)};
  c.functionName = "echo";
  c.qualifier = std::move(qualifier);
  c.destination.logicalName = "echo";
  return c;
}

Message clientRequest(std::string body = "{\"a\":1}") {
  Message m;
  m.method = "GET";
  m.path = "/hello?x=1&y=a+b&x=2";
  m.authority = "gateway.example";
  m.headers.add("host", "gateway.example");
  m.headers.add("authorization", "Bearer client-secret");
  m.headers.add("x-amz-date", "19700101T000000Z");
  m.headers.add("user-agent", "curl/8");
  m.body = std::move(body);
  return m;
}

TEST(LambdaTest, InvokePath) {
  EXPECT_EQ(lambdaInvokePath("echo", ""), "/2015-03-31/functions/echo/invocations");
  EXPECT_EQ(lambdaInvokePath("echo", "$LATEST"),
            "/2015-03-31/functions/echo/invocations?Qualifier=%24LATEST");
  EXPECT_EQ(lambdaInvokePath("arn:aws:lambda:us-east-1:123456789012:function:f", "v1"),
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af"
            "/invocations?Qualifier=v1");
}

TEST(LambdaTest, RequestIsASignedInvoke) {
  LambdaRequestStage stage(call("prod", "TOKEN"), &fixedClock);
  EXPECT_TRUE(stage.needsBody());
  Message m = clientRequest();
  ASSERT_TRUE(stage.apply(m, nullptr).ok());
  EXPECT_EQ(m.method, "POST");
  EXPECT_EQ(m.path, "/2015-03-31/functions/echo/invocations?Qualifier=prod");
  EXPECT_EQ(m.authority, "lambda.us-east-1.amazonaws.com");
  EXPECT_EQ(m.body, "{\"a\":1}");
  EXPECT_TRUE(m.bodyChanged);
  EXPECT_EQ(*m.headers.get("x-amz-invocation-type"), "RequestResponse");
  EXPECT_EQ(*m.headers.get("x-amz-log-type"), "None");
  EXPECT_EQ(*m.headers.get("x-amz-date"), "20150830T123600Z");  // the client's is replaced
  EXPECT_EQ(*m.headers.get("x-amz-security-token"), "TOKEN");
  EXPECT_EQ(*m.headers.get("user-agent"), "curl/8");
  // The signature a verifier computes from what goes on the wire.
  SigV4Signer::Headers signedHeaders{{"host", "lambda.us-east-1.amazonaws.com"},
                                     {"x-amz-date", "20150830T123600Z"},
                                     {"x-amz-invocation-type", "RequestResponse"},
                                     {"x-amz-log-type", "None"},
                                     {"x-amz-security-token", "TOKEN"}};
  AwsCredentials creds = call("", "TOKEN").credentials;
  EXPECT_EQ(*m.headers.get("authorization"),
            SigV4Signer("lambda", "us-east-1")
                .authorization(creds, "20150830T123600Z", "POST", m.path, signedHeaders,
                               sha256Hex(m.body)));
  size_t authorizations = 0;
  for (const auto& h : m.headers) authorizations += h.name == "authorization";
  EXPECT_EQ(authorizations, 1u);  // the client's bearer token is gone
}

TEST(LambdaTest, AsyncAndContentTypeSigned) {
  LambdaCall c = call();
  c.destination.async = true;
  LambdaRequestStage stage(c, &fixedClock);
  Message m = clientRequest("");
  m.headers.add("content-type", "application/json");
  ASSERT_TRUE(stage.apply(m, nullptr).ok());
  EXPECT_EQ(*m.headers.get("x-amz-invocation-type"), "Event");
  EXPECT_FALSE(m.headers.has("x-amz-security-token"));
  EXPECT_NE(m.headers.get("authorization")->find(
                "SignedHeaders=content-type;host;x-amz-date;x-amz-invocation-type;x-amz-log-type,"),
            std::string::npos);
}

TEST(LambdaTest, WrapAsApiGateway) {
  Message m = clientRequest("{\"a\":1}");
  json event = json::parse(apiGatewayEvent(m));
  EXPECT_EQ(event["path"], "/hello");
  EXPECT_EQ(event["httpMethod"], "GET");
  EXPECT_EQ(event["headers"]["user-agent"], "curl/8");
  EXPECT_EQ(event["queryStringParameters"]["x"], "2");
  EXPECT_EQ(event["queryStringParameters"]["y"], "a b");
  EXPECT_EQ(event["multiValueQueryStringParameters"]["x"], json::array({"1", "2"}));
  EXPECT_EQ(event["body"], "{\"a\":1}");
  EXPECT_EQ(event["isBase64Encoded"], false);
  Message binary = clientRequest(std::string("\xff\x00\x01", 3));
  json e2 = json::parse(apiGatewayEvent(binary));
  EXPECT_EQ(e2["body"], "/wAB");
  EXPECT_EQ(e2["isBase64Encoded"], true);
}

Message lambdaAnswer(std::string body, int status = 200) {
  Message m;
  m.status = status;
  m.headers.add("content-type", "application/json");
  m.headers.add("x-amzn-requestid", "r1");
  m.body = std::move(body);
  return m;
}

TEST(LambdaTest, FunctionErrorIs504) {
  config::AwsDestination d;
  d.unwrapAsApiGateway = true;
  LambdaResponseStage stage(d);
  Message m = lambdaAnswer("{\"errorMessage\":\"boom\",\"errorType\":\"Error\"}");
  m.headers.add("x-amz-function-error", "Unhandled");
  ASSERT_TRUE(stage.apply(m, nullptr).ok());
  EXPECT_EQ(m.status, 504);
  EXPECT_NE(m.body.find("boom"), std::string::npos);
}

TEST(LambdaTest, UnwrapProxyResponse) {
  Message m = lambdaAnswer(R"({"statusCode": 201, "headers": {"content-type": "text/plain", "x-n": 3},
      "multiValueHeaders": {"set-cookie": ["a=1", "b=2"]}, "body": "aGk=", "isBase64Encoded": true})");
  ASSERT_TRUE(unwrapProxyResponse(m).ok());
  EXPECT_EQ(m.status, 201);
  EXPECT_EQ(m.body, "hi");
  EXPECT_EQ(*m.headers.get("content-type"), "text/plain");  // replaces Lambda's own
  EXPECT_EQ(*m.headers.get("x-n"), "3");
  EXPECT_EQ(*m.headers.get("x-amzn-requestid"), "r1");
  size_t cookies = 0;
  for (const auto& h : m.headers) cookies += h.name == "set-cookie";
  EXPECT_EQ(cookies, 2u);

  for (const char* bad : {"not json", "[1]", R"({"statusCode": "abc"})", R"({"statusCode": 99})",
                          R"({"body": 5})", R"({"body": "x", "isBase64Encoded": "yes"})",
                          R"({"body": "@@@", "isBase64Encoded": true})",
                          R"({"headers": {"x": "a\r\nb"}})", R"({"headers": {"bad name": "1"}})",
                          R"({"multiValueHeaders": {"x": "1"}})"}) {
    Message b = lambdaAnswer(bad);
    EXPECT_FALSE(unwrapProxyResponse(b).ok()) << bad;
  }
}

std::shared_ptr<const RouteTransformations> route(const LambdaCall& c,
                                                  const config::Transformations* staged = nullptr) {
  config::Errors errors;
  auto rt = RouteTransformations::compile(staged, nullptr, nullptr, errors, &c);
  EXPECT_TRUE(errors.empty()) << errors.toString();
  return rt;
}

TEST(LambdaTest, RouteLastRequestStageAndFirstResponseStage) {
  LambdaCall c = call();
  c.destination.requestTransformation = true;
  c.destination.responseTransformation = true;
  auto rt = route(c);
  router::RequestView view;
  view.path = "/hello";
  RouteTransformations::Selection sel;
  rt->select(view, sel);
  ASSERT_EQ(sel.requestCount, 1u);
  EXPECT_TRUE(sel.needsRequestBody);
  Message m = clientRequest("hi");
  ASSERT_TRUE(sel.request[0]->apply(m, nullptr).ok());
  json event = json::parse(m.body);
  EXPECT_EQ(event["body"], "hi");
  EXPECT_EQ(event["path"], "/hello");
  EXPECT_EQ(event["queryString"], "x=1&y=a+b&x=2");
  EXPECT_EQ(event["httpMethod"], "GET");
  EXPECT_EQ(event["headers"]["user-agent"], "curl/8");
  EXPECT_EQ(m.method, "POST");

  EXPECT_TRUE(rt->hasResponseTransformations());
  Message answer = lambdaAnswer(R"({"body": "<p>hello</p>"})");
  const Transformation* out[2];
  ASSERT_EQ(rt->responseTransformations(sel, answer, out), 1u);
  ASSERT_TRUE(out[0]->apply(answer, &m).ok());
  EXPECT_EQ(answer.body, "<p>hello</p>");
  EXPECT_EQ(*answer.headers.get("content-type"), "text/html");
}

TEST(LambdaTest, StagedResponseRunsAfterTheUnwrap) {
  LambdaCall c = call();
  c.destination.unwrapAsAlb = true;
  config::Transformations staged;
  config::ResponseTransformRule rule;
  rule.response.tmpl.headers.push_back({"x-after", {"{{ header(\":status\") }}", "t"}});
  rule.response.tmpl.parseBodyAsJson = false;
  staged.regular.responseTransforms.push_back(rule);
  auto rt = route(c, &staged);
  router::RequestView view;
  view.path = "/";
  RouteTransformations::Selection sel;
  rt->select(view, sel);
  Message answer = lambdaAnswer(R"({"statusCode": 418, "body": "teapot"})");
  const Transformation* out[2];
  ASSERT_EQ(rt->responseTransformations(sel, answer, out), 1u);
  Message request = clientRequest();
  ASSERT_TRUE(out[0]->apply(answer, &request).ok());
  EXPECT_EQ(answer.status, 418);
  EXPECT_EQ(answer.body, "teapot");
  EXPECT_EQ(*answer.headers.get("x-after"), "418");  // saw the unwrapped status
}

}  // namespace
}  // namespace portico::filters
