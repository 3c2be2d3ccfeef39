// AWS Lambda as a function destination: the request stage that turns a request into a signed
// Lambda Invoke call, and the response stage that maps the answer back (function errors, ALB /
// API Gateway unwrapping). Both plug into a route as Transformation stages.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "config/model.h"
#include "filters/aws_sigv4.h"
#include "filters/transformation.h"

namespace portico::filters {

/// Everything one route needs to call one Lambda function. Built by the controller from the
/// aws upstream (region, credentials, function) and the route's destinationSpec.aws.
struct LambdaCall {
  std::string region;
  std::string host;          ///< lambda.<region>.amazonaws.com: the Host that is signed
  AwsCredentials credentials;
  std::string functionName;  ///< a name, or an ARN when the upstream names an account
  std::string qualifier;     ///< empty = $LATEST (no Qualifier parameter)
  config::AwsDestination destination;
};

/// "/2015-03-31/functions/<name>/invocations[?Qualifier=<q>]", both parts percent-encoded.
std::string lambdaInvokePath(const std::string& functionName, const std::string& qualifier);

/// The API Gateway (REST, payload 1.0) proxy event for `request`: path, httpMethod, headers,
/// multiValueHeaders, query parameters (decoded), body (base64 when not UTF-8).
std::string apiGatewayEvent(const Message& request);

/// Rewrites `response` from an ALB / API Gateway proxy answer held in its body: statusCode,
/// headers, multiValueHeaders, body (isBase64Encoded). An error when the body is not that shape.
Status unwrapProxyResponse(Message& response);

/// The request side: POST to the Invoke API, signed with SigV4 (service "lambda") over the
/// whole body. Needs the body.
class LambdaRequestStage final : public MessageStage {
public:
  using Clock = std::chrono::system_clock::time_point (*)();
  explicit LambdaRequestStage(LambdaCall call, Clock clock = &std::chrono::system_clock::now);
  Status apply(Message& msg, const Message* request) const override;
  bool needsBody() const override { return true; }

private:
  LambdaCall call_;
  SigV4Signer signer_;
  std::string path_;
  Clock clock_;
};

/// The response side: X-Amz-Function-Error → 504 (as envoy-gloo), then unwrapping when the
/// destination asks for it.
class LambdaResponseStage final : public MessageStage {
public:
  explicit LambdaResponseStage(const config::AwsDestination& d)
      : unwrap_(d.unwrapAsAlb || d.unwrapAsApiGateway) {}
  Status apply(Message& msg, const Message* request) const override;
  bool needsBody() const override { return unwrap_; }

private:
  bool unwrap_;
};

}  // namespace portico::filters
