#include "filters/aws_lambda.h"

#include <nlohmann/json.hpp>

#include "router/query.h"
#include "template/text_util.h"

namespace portico::filters {

using json = nlohmann::json;

namespace {

bool validUtf8(std::string_view s) { return tmpl::jsonEscape(s).has_value(); }

/// A JSON string for client-controlled text: invalid UTF-8 becomes U+FFFD, never an exception.
json text(std::string_view s) {
  if (validUtf8(s)) return json(std::string(s));
  json j = std::string(s);
  return json::parse(j.dump(-1, ' ', false, json::error_handler_t::replace));
}

bool headerNameOk(std::string_view n) {
  if (n.empty()) return false;
  for (char c : n) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool headerValueOk(std::string_view v) {
  for (char c : v)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

/// A header value from the function's JSON: strings as they are, numbers and booleans as text.
std::optional<std::string> headerValue(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  return std::nullopt;
}

}  // namespace

std::string lambdaInvokePath(const std::string& functionName, const std::string& qualifier) {
  std::string out = "/2015-03-31/functions/";
  awsUriEncode(functionName, out);
  out += "/invocations";
  if (!qualifier.empty()) {
    out += "?Qualifier=";
    awsUriEncode(qualifier, out);
  }
  return out;
}

std::string apiGatewayEvent(const Message& request) {
  std::string_view target = request.path;
  size_t q = target.find('?');
  std::string path(target.substr(0, q));
  json headers = json::object(), multiHeaders = json::object();
  for (const http::HeaderEntry& h : request.headers) {
    headers[h.name] = text(h.value);  // the last value wins, as in API Gateway
    multiHeaders[h.name].push_back(text(h.value));
  }
  json query = nullptr, multiQuery = nullptr;
  if (q != std::string_view::npos && q + 1 < target.size()) {
    query = json::object();
    multiQuery = json::object();
    router::QueryItems items(target.substr(q + 1));
    std::string_view rawName, rawValue;
    while (items.next(rawName, rawValue)) {
      std::string name = percentDecode(rawName, true);
      std::string value = percentDecode(rawValue, true);
      query[name] = text(value);
      multiQuery[name].push_back(text(value));
    }
  }
  json event = json::object();
  event["resource"] = text(path);
  event["path"] = text(path);
  event["httpMethod"] = request.method;
  event["headers"] = std::move(headers);
  event["multiValueHeaders"] = std::move(multiHeaders);
  event["queryStringParameters"] = std::move(query);
  event["multiValueQueryStringParameters"] = std::move(multiQuery);
  event["pathParameters"] = nullptr;
  event["stageVariables"] = nullptr;
  event["requestContext"] = {{"httpMethod", request.method},
                             {"path", text(path)},
                             {"resourcePath", text(path)},
                             {"protocol", "HTTP/1.1"}};
  if (request.body.empty()) {
    event["body"] = nullptr;
    event["isBase64Encoded"] = false;
  } else if (validUtf8(request.body)) {
    event["body"] = request.body;
    event["isBase64Encoded"] = false;
  } else {
    event["body"] = tmpl::base64Encode(request.body);
    event["isBase64Encoded"] = true;
  }
  return event.dump();
}

Status unwrapProxyResponse(Message& response) {
  json doc = json::parse(response.body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return Status::error("the function's answer is not a JSON object");
  int status = 200;
  if (auto it = doc.find("statusCode"); it != doc.end()) {
    double code = -1;
    if (it->is_number()) code = it->get<double>();
    else if (it->is_string()) code = std::atof(it->get<std::string>().c_str());
    if (!(code >= 100 && code <= 599) || code != static_cast<int>(code))
      return Status::error("statusCode is not an HTTP status");
    status = static_cast<int>(code);
  }
  std::string body;
  if (auto it = doc.find("body"); it != doc.end() && !it->is_null()) {
    if (!it->is_string()) return Status::error("body is not a string");
    body = it->get<std::string>();
  }
  if (auto it = doc.find("isBase64Encoded"); it != doc.end() && !it->is_null()) {
    if (!it->is_boolean()) return Status::error("isBase64Encoded is not a boolean");
    if (it->get<bool>()) {
      auto decoded = tmpl::base64Decode(body);
      if (!decoded) return Status::error("body is not valid base64");
      body = std::move(*decoded);
    }
  }
  http::HeaderMap headers;
  auto addHeader = [&](const std::string& name, const json& value) -> Status {
    auto v = headerValue(value);
    if (!v || !headerNameOk(name) || !headerValueOk(*v))
      return Status::error("invalid header " + name);
    headers.add(name, *v);
    return Status();
  };
  if (auto it = doc.find("headers"); it != doc.end() && !it->is_null()) {
    if (!it->is_object()) return Status::error("headers is not an object");
    for (auto& [name, value] : it->items())
      if (Status st = addHeader(name, value); !st.ok()) return st;
  }
  // ALB and API Gateway refuse both maps at once; like envoy-gloo, both are taken.
  if (auto it = doc.find("multiValueHeaders"); it != doc.end() && !it->is_null()) {
    if (!it->is_object()) return Status::error("multiValueHeaders is not an object");
    for (auto& [name, values] : it->items()) {
      if (!values.is_array()) return Status::error("multiValueHeaders." + name + " is not a list");
      for (const json& v : values)
        if (Status st = addHeader(name, v); !st.ok()) return st;
    }
  }
  // The function's headers replace Lambda's own of the same name (content-type above all).
  for (const http::HeaderEntry& h : headers) response.headers.remove(h.name);
  for (const http::HeaderEntry& h : headers) response.headers.add(h.name, h.value);
  response.status = status;
  response.body = std::move(body);
  response.bodyChanged = true;
  return Status();
}

LambdaRequestStage::LambdaRequestStage(LambdaCall call, Clock clock)
    : call_(std::move(call)), signer_("lambda", call_.region),
      path_(lambdaInvokePath(call_.functionName, call_.qualifier)), clock_(clock) {}

Status LambdaRequestStage::apply(Message& msg, const Message*) const {
  if (call_.destination.wrapAsApiGateway) {
    msg.body = apiGatewayEvent(msg);
    msg.headers.set("content-type", "application/json");
  }
  // The client's own credentials or AWS headers must not reach AWS beside ours.
  std::vector<std::string> drop{"authorization"};
  for (const http::HeaderEntry& h : msg.headers)
    if (h.name.starts_with("x-amz-")) drop.push_back(h.name);
  for (const std::string& name : drop) msg.headers.remove(name);
  msg.method = "POST";
  msg.path = path_;
  msg.authority = call_.host;
  msg.bodyChanged = true;  // always framed with a Content-Length, 0 included

  std::string date = amzDate(clock_());
  const char* invocation = call_.destination.async ? "Event" : "RequestResponse";
  msg.headers.set("x-amz-invocation-type", invocation);
  msg.headers.set("x-amz-log-type", "None");
  msg.headers.set("x-amz-date", date);
  if (!call_.credentials.sessionToken.empty())
    msg.headers.set("x-amz-security-token", call_.credentials.sessionToken);
  SigV4Signer::Headers signedHeaders{{"host", call_.host},
                                     {"x-amz-date", date},
                                     {"x-amz-invocation-type", invocation},
                                     {"x-amz-log-type", "None"}};
  if (!call_.credentials.sessionToken.empty())
    signedHeaders.emplace_back("x-amz-security-token", call_.credentials.sessionToken);
  if (const std::string* ct = msg.headers.get("content-type"))
    signedHeaders.emplace_back("content-type", *ct);
  msg.headers.set("authorization", signer_.authorization(call_.credentials, date, msg.method,
                                                          msg.path, signedHeaders,
                                                          sha256Hex(msg.body)));
  return Status();
}

Status LambdaResponseStage::apply(Message& msg, const Message*) const {
  // A function that failed (its error JSON is the body) is an upstream failure: 504.
  if (msg.headers.has("x-amz-function-error")) {
    msg.status = 504;
    return Status();
  }
  if (!unwrap_ || msg.status < 200 || msg.status > 299) return Status();
  return unwrapProxyResponse(msg);
}

}  // namespace portico::filters
