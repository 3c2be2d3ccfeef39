// AccessLogFormat: Envoy command operators, the default format, JSON formats, errors.
#include <gtest/gtest.h>

#include "observability/access_log_format.h"

namespace portico::observability {
namespace {

struct Fixture {
  http::HeaderMap headers;
  std::vector<std::string> response;
  AccessLogEntry entry;
  Fixture() {
    headers.add("host", "api.example.com");
    headers.add("user-agent", "curl/8");
    headers.add("x-forwarded-for", "10.0.0.9");
    entry.startUnixUs = 1764165406123456;  // 2025-11-26T13:56:46.123Z
    entry.durationUs = 12789;
    entry.method = "POST";
    entry.target = "/pets?limit=2";
    entry.authority = "api.example.com";
    entry.protocol = "HTTP/1.1";
    entry.requestHeaders = &headers;
    entry.responseCode = 201;
    entry.bytesReceived = 17;
    entry.bytesSent = 1024;
    entry.upstreamHost = "10.1.1.1:8080";
    entry.upstreamCluster = "petstore.gloo-system";
    entry.downstreamRemoteAddress = "127.0.0.1";
    entry.routeName = "create-pet";
    entry.requestId = "0f7c-id";
  }
};

std::string renderText(const std::string& format, Fixture& f) {
  std::vector<std::string> resp;
  auto compiled = AccessLogFormat::compileText(format, resp);
  EXPECT_TRUE(compiled.ok()) << compiled.error();
  if (!compiled.ok()) return "";
  f.response.assign(resp.size(), "");
  for (size_t i = 0; i < resp.size(); ++i)
    if (resp[i] == "content-type") f.response[i] = "application/json";
  f.entry.responseHeaders = &f.response;
  std::string out;
  compiled->render(f.entry, out);
  return out;
}

std::string compileError(const std::string& format) {
  std::vector<std::string> resp;
  auto compiled = AccessLogFormat::compileText(format, resp);
  return compiled.ok() ? "" : compiled.error();
}

TEST(AccessLogFormatTest, EveryOperator) {
  Fixture f;
  EXPECT_EQ(renderText("%START_TIME% %REQ(:METHOD)% %REQ(:PATH)% %REQ(:AUTHORITY)% %PROTOCOL% "
                       "%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "
                       "%REQ(User-Agent)% %RESP(Content-Type)% %UPSTREAM_HOST% %UPSTREAM_CLUSTER% "
                       "%DOWNSTREAM_REMOTE_ADDRESS% %ROUTE_NAME% %REQUEST_ID%",
                       f),
            "2025-11-26T13:56:46.123Z POST /pets?limit=2 api.example.com HTTP/1.1 201 - 17 1024 12 "
            "curl/8 application/json 10.1.1.1:8080 petstore.gloo-system 127.0.0.1 create-pet "
            "0f7c-id\n");
}

TEST(AccessLogFormatTest, MissingValuesAlternativesAndTruncation) {
  Fixture f;
  f.entry.upstreamHost = {};
  f.entry.responseFlags = kNoRouteFound | kUpstreamOverflow;
  EXPECT_EQ(renderText("%REQ(x-missing)% %REQ(x-missing?user-agent)% %REQ(user-agent):3% "
                       "%UPSTREAM_HOST% %RESP(x-none)% %RESPONSE_FLAGS%\n",
                       f),
            "- curl/8 cur - - UO,NR\n");
  // x-request-id falls back to the id the gateway generated.
  EXPECT_EQ(renderText("%REQ(X-REQUEST-ID)%", f), "0f7c-id\n");
}

TEST(AccessLogFormatTest, DefaultFormatIsEnvoys) {
  Fixture f;
  EXPECT_EQ(renderText("", f),
            "[2025-11-26T13:56:46.123Z] \"POST /pets?limit=2 HTTP/1.1\" 201 - 17 1024 12 - "
            "\"10.0.0.9\" \"curl/8\" \"0f7c-id\" \"api.example.com\" \"10.1.1.1:8080\"\n");
}

TEST(AccessLogFormatTest, ErrorsNameTheOperator) {
  EXPECT_EQ(compileError("%START_TIME% %BOGUS%"), "unknown command operator %BOGUS%");
  EXPECT_EQ(compileError("%REQ()%"), "command operator %REQ()%: needs a header name, e.g. %REQ(user-agent)%");
  EXPECT_EQ(compileError("%DURATION(x)%"), "command operator %DURATION(x)% takes no argument (or is not supported)");
  EXPECT_NE(compileError("%REQ(:scheme)%").find(":scheme"), std::string::npos);
  EXPECT_NE(compileError("abc %START_TIME").find("unterminated"), std::string::npos);
  EXPECT_NE(compileError("%REQ(a):x%").find("not a length"), std::string::npos);
  EXPECT_EQ(compileError("plain text, no operators"), "");
}

TEST(AccessLogFormatTest, JsonFormat) {
  Fixture f;
  std::vector<std::string> resp;
  auto compiled = AccessLogFormat::compileJson({{"method", "%REQ(:METHOD)%"},
                                                {"code", "%RESPONSE_CODE%"},
                                                {"duration", "%DURATION%"},
                                                {"missing", "%REQ(x-none)%"},
                                                {"line", "%REQ(:METHOD)% %REQ(:PATH)%"},
                                                {"quote\"key", "lit\"eral"}},
                                               resp);
  ASSERT_TRUE(compiled.ok()) << compiled.error();
  f.headers.add("x-evil", "a\"b\\c\x01");
  std::string out;
  compiled->render(f.entry, out);
  EXPECT_EQ(out,
            "{\"method\":\"POST\",\"code\":201,\"duration\":12,\"missing\":null,"
            "\"line\":\"POST /pets?limit=2\",\"quote\\\"key\":\"lit\\\"eral\"}\n");

  auto escaped = AccessLogFormat::compileJson({{"h", "%REQ(x-evil)%"}}, resp);
  ASSERT_TRUE(escaped.ok());
  out.clear();
  escaped->render(f.entry, out);
  EXPECT_EQ(out, "{\"h\":\"a\\\"b\\\\c\\u0001\"}\n");

  auto bad = AccessLogFormat::compileJson({{"k", "%NOPE%"}}, resp);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), "k: unknown command operator %NOPE%");
}

TEST(AccessLogFormatTest, ResponseHeaderListIsShared) {
  std::vector<std::string> resp;
  ASSERT_TRUE(AccessLogFormat::compileText("%RESP(A)% %RESP(b)%", resp).ok());
  ASSERT_TRUE(AccessLogFormat::compileJson({{"x", "%RESP(b)%"}, {"y", "%RESP(c?a)%"}}, resp).ok());
  EXPECT_EQ(resp, (std::vector<std::string>{"a", "b", "c"}));
}

}  // namespace
}  // namespace portico::observability
