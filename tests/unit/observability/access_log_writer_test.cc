// AccessLogWriter: per-worker rings to files, drops when full, reopen after rotation, and the
// Gateway decoder's accessLoggingService with the checks that name unsupported fields.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "config/decode.h"
#include "observability/access_log.h"
#include "observability/access_log_writer.h"

namespace portico::observability {
namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string tempPath(const char* name) {
  return testing::TempDir() + "/portico_" + name + "_" + std::to_string(getpid()) + ".log";
}

TEST(AccessLogWriterTest, WritesEveryWorkersLines) {
  std::string path = tempPath("writer");
  std::remove(path.c_str());
  AccessLogWriter writer(2, 1024);
  auto sink = writer.sink(path);
  ASSERT_TRUE(sink.ok()) << sink.error();
  EXPECT_EQ(*writer.sink(path), *sink);  // one sink per path
  EXPECT_TRUE((*sink)->push(0, "a1\n"));
  EXPECT_TRUE((*sink)->push(1, "b1\n"));
  EXPECT_TRUE((*sink)->push(0, "a2\n"));
  EXPECT_FALSE((*sink)->push(7, "no such worker\n"));
  writer.flush();
  std::string text = readFile(path);
  EXPECT_NE(text.find("a1\na2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("b1\n"), std::string::npos) << text;
  std::remove(path.c_str());
}

TEST(AccessLogWriterTest, FullRingDropsAndWrapsCorrectly) {
  std::string path = tempPath("wrap");
  std::remove(path.c_str());
  AccessLogWriter writer(1, 16);
  auto sink = writer.sink(path);
  ASSERT_TRUE(sink.ok());
  EXPECT_TRUE((*sink)->push(0, "0123456789\n"));  // 11 bytes
  EXPECT_FALSE((*sink)->push(0, "abcdefghij\n"));  // would not fit: dropped, never blocks
  EXPECT_EQ((*sink)->dropped(), 1u);
  writer.flush();
  EXPECT_TRUE((*sink)->push(0, "wrapped-xyz\n"));  // crosses the end of the ring
  writer.flush();
  EXPECT_EQ(readFile(path), "0123456789\nwrapped-xyz\n");
  std::remove(path.c_str());
}

TEST(AccessLogWriterTest, ReopenAfterRotation) {
  std::string path = tempPath("rotate");
  std::string rotated = path + ".1";
  std::remove(path.c_str());
  std::remove(rotated.c_str());
  AccessLogWriter writer(1);
  writer.start(5);
  auto sink = writer.sink(path);
  ASSERT_TRUE(sink.ok());
  (*sink)->push(0, "before\n");
  writer.flush();
  ASSERT_EQ(std::rename(path.c_str(), rotated.c_str()), 0);
  writer.reopen();
  writer.flush();
  (*sink)->push(0, "after\n");
  writer.stop();
  EXPECT_EQ(readFile(rotated), "before\n");
  EXPECT_EQ(readFile(path), "after\n");
  std::remove(path.c_str());
  std::remove(rotated.c_str());
}

TEST(AccessLogWriterTest, OpenErrorNamesThePath) {
  AccessLogWriter writer(1);
  auto sink = writer.sink("/nonexistent-dir/x.log");
  ASSERT_FALSE(sink.ok());
  EXPECT_NE(sink.error().find("/nonexistent-dir/x.log"), std::string::npos);
}

// ---- Gateway spec.options.accessLoggingService ----

config::RawObject gatewayObject(const std::string& options) {
  std::string yaml = "apiVersion: gateway.solo.io/v1\nkind: Gateway\n"
                     "metadata: {name: gw, namespace: gloo-system}\nspec:\n  bindPort: 8080\n"
                     "  options:\n" + options;
  auto docs = config::parseYaml(yaml, "gw.yaml");
  EXPECT_TRUE(docs.ok());
  auto obj = config::toRawObject(docs->front());
  EXPECT_TRUE(obj.ok());
  return *obj;
}

std::vector<std::string> gatewayErrors(const std::string& options) {
  config::Errors errors;
  config::Gateway gw = config::decodeGateway(gatewayObject(options), errors);
  checkAccessLogs(gw.accessLogs, errors);
  return errors.items();
}

TEST(GatewayAccessLogTest, DecodesFileSinks) {
  config::Errors errors;
  config::Gateway gw = config::decodeGateway(
      gatewayObject("    accessLoggingService:\n      accessLog:\n"
                    "      - fileSink: {path: /dev/stdout, stringFormat: '%REQ(:METHOD)%'}\n"
                    "      - fileSink: {path: /tmp/a.json, jsonFormat: {m: '%REQ(:METHOD)%', c: '%RESPONSE_CODE%'}}\n"
                    "      - fileSink: {path: /tmp/default.log}\n"),
      errors);
  EXPECT_TRUE(errors.empty()) << errors.toString();
  ASSERT_EQ(gw.accessLogs.size(), 3u);
  EXPECT_EQ(gw.accessLogs[0].path, "/dev/stdout");
  EXPECT_EQ(gw.accessLogs[0].stringFormat, "%REQ(:METHOD)%");
  EXPECT_FALSE(gw.accessLogs[0].json);
  EXPECT_TRUE(gw.accessLogs[1].json);
  EXPECT_EQ(gw.accessLogs[1].jsonFormat,
            (std::vector<std::pair<std::string, std::string>>{{"m", "%REQ(:METHOD)%"}, {"c", "%RESPONSE_CODE%"}}));
  EXPECT_EQ(gw.accessLogs[2].fieldPath, "spec.options.accessLoggingService.accessLog[2].fileSink");
}

TEST(GatewayAccessLogTest, RejectsWhatIsNotImplemented) {
  const std::string prefix = "    accessLoggingService:\n      accessLog:\n";
  EXPECT_EQ(gatewayErrors(prefix + "      - grpcService: {logName: x}\n"),
            std::vector<std::string>{
                "spec.options.accessLoggingService.accessLog[0].grpcService: field not supported by Portico yet"});
  EXPECT_EQ(gatewayErrors(prefix + "      - fileSink: {path: /tmp/x}\n        filter: {statusCodeFilter: {}}\n"),
            std::vector<std::string>{
                "spec.options.accessLoggingService.accessLog[0].filter: field not supported by Portico yet"});
  EXPECT_EQ(gatewayErrors(prefix + "      - fileSink: {stringFormat: x}\n"),
            std::vector<std::string>{"spec.options.accessLoggingService.accessLog[0].fileSink.path: required"});
  EXPECT_EQ(gatewayErrors(prefix + "      - fileSink: {path: /tmp/x, stringFormat: a, jsonFormat: {k: v}}\n"),
            std::vector<std::string>{
                "spec.options.accessLoggingService.accessLog[0].fileSink: set only one of stringFormat and jsonFormat"});
  EXPECT_EQ(gatewayErrors(prefix + "      - fileSink: {path: /tmp/x, stringFormat: '%FOO% x'}\n"),
            std::vector<std::string>{
                "spec.options.accessLoggingService.accessLog[0].fileSink.stringFormat: unknown command operator %FOO%"});
  EXPECT_EQ(gatewayErrors(prefix + "      - fileSink: {path: /tmp/x, jsonFormat: {code: '%CODE%'}}\n"),
            std::vector<std::string>{
                "spec.options.accessLoggingService.accessLog[0].fileSink.jsonFormat.code: unknown command operator %CODE%"});
  EXPECT_EQ(gatewayErrors("    socketOptions: []\n"),
            std::vector<std::string>{"spec.options.socketOptions: field not supported by Portico yet"});
}

TEST(GatewayAccessLogTest, BuildUsesTheDefaultPathOnlyWithoutSpecs) {
  std::string path = tempPath("default");
  AccessLogWriter writer(1);
  auto none = buildAccessLogs({}, "", writer);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);
  auto flagged = buildAccessLogs({}, path, writer);
  ASSERT_TRUE(flagged.ok()) << flagged.error();
  ASSERT_NE(*flagged, nullptr);
  EXPECT_EQ((*flagged)->logs.size(), 1u);
  EXPECT_EQ((*flagged)->logs[0].sink->path(), path);
  config::AccessLogSpec bad;
  bad.path = "/nonexistent-dir/y.log";
  bad.fieldPath = "spec.options.accessLoggingService.accessLog[0].fileSink";
  auto failed = buildAccessLogs({bad}, path, writer);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().find("accessLog[0].fileSink.path: cannot open access log /nonexistent-dir/y.log"),
            std::string::npos)
      << failed.error();
  std::remove(path.c_str());
}

}  // namespace
}  // namespace portico::observability
