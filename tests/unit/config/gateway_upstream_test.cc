// decodeGateway and decodeUpstream.
#include <gtest/gtest.h>

#include "config/decode.h"

namespace portico::config {
namespace {

RawObject raw(const std::string& yaml) {
  auto docs = parseYaml(yaml, "obj.yaml");
  EXPECT_TRUE(docs.ok()) << docs.error();
  if (!docs.ok() || docs->empty()) return {};
  auto obj = toRawObject(docs->front());
  EXPECT_TRUE(obj.ok()) << obj.error();
  return obj.ok() ? obj.value() : RawObject{};
}

std::string gateway(const std::string& spec) {
  return "apiVersion: gateway.solo.io/v1\nkind: Gateway\n"
         "metadata: {name: gateway-proxy, namespace: gloo-system}\nspec:\n" +
         spec;
}

std::vector<std::string> gatewayErrors(const std::string& spec) {
  Errors errors;
  decodeGateway(raw(gateway(spec)), errors);
  return errors.items();
}

std::string upstream(const std::string& spec) {
  return "apiVersion: gloo.solo.io/v1\nkind: Upstream\n"
         "metadata: {name: postman-echo, namespace: gloo-system}\nspec:\n" +
         spec;
}

std::vector<std::string> upstreamErrors(const std::string& spec) {
  Errors errors;
  decodeUpstream(raw(upstream(spec)), errors);
  return errors.items();
}

TEST(DecodeGatewayTest, GlooDefaultGateway) {
  Errors errors;
  Gateway gw = decodeGateway(raw(gateway("  bindAddress: '::'\n"
                                         "  bindPort: 8080\n"
                                         "  proxyNames: [gateway-proxy]\n"
                                         "  useProxyProto: false\n"
                                         "  ssl: false\n"
                                         "  httpGateway: {}\n")),
                             errors);
  ASSERT_TRUE(errors.empty()) << errors.toString();
  EXPECT_EQ(gw.meta.name, "gateway-proxy");
  EXPECT_EQ(gw.bindAddress, "::");
  EXPECT_EQ(gw.bindPort, 8080);
  EXPECT_TRUE(gw.virtualServices.empty());
  EXPECT_TRUE(gw.virtualServiceSelector.empty());
  EXPECT_TRUE(gw.virtualServiceNamespaces.empty());
}

TEST(DecodeGatewayTest, SelectionFields) {
  Errors errors;
  Gateway gw = decodeGateway(raw(gateway("  bindAddress: 127.0.0.1\n"
                                         "  bindPort: 18080\n"
                                         "  httpGateway:\n"
                                         "    virtualServices:\n"
                                         "    - {name: default}\n"
                                         "    - {name: shop, namespace: team-a}\n"
                                         "    virtualServiceSelector: {app: shop}\n"
                                         "    virtualServiceNamespaces: ['*', team-a]\n")),
                             errors);
  ASSERT_TRUE(errors.empty()) << errors.toString();
  EXPECT_EQ(gw.bindAddress, "127.0.0.1");
  EXPECT_EQ(gw.bindPort, 18080);
  EXPECT_EQ(gw.virtualServices,
            (std::vector<ResourceRef>{{"default", "gloo-system"}, {"shop", "team-a"}}));
  ASSERT_EQ(gw.virtualServiceSelector.size(), 1u);
  EXPECT_EQ(gw.virtualServiceSelector[0], (std::pair<std::string, std::string>{"app", "shop"}));
  EXPECT_EQ(gw.virtualServiceNamespaces, (std::vector<std::string>{"*", "team-a"}));
}

TEST(DecodeGatewayTest, Errors) {
  EXPECT_EQ(gatewayErrors("  bindAddress: '::'\n"),
            std::vector<std::string>{"spec.bindPort: required"});
  EXPECT_EQ(gatewayErrors("  bindPort: '8080'\n"),
            std::vector<std::string>{"spec.bindPort: expected a number, got string"});
  EXPECT_EQ(gatewayErrors("  bindPort: 0\n"),
            std::vector<std::string>{"spec.bindPort: must be between 1 and 65535, got 0"});
  EXPECT_EQ(gatewayErrors("  bindPort: 65536\n"),
            std::vector<std::string>{"spec.bindPort: must be between 1 and 65535, got 65536"});
  EXPECT_EQ(gatewayErrors("  bindPort: 8443\n  ssl: yes\n"),
            std::vector<std::string>{"spec.ssl: expected a boolean, got string"});
  EXPECT_EQ(gatewayErrors("  bindPort: 80\n  bindAddress: localhost\n"),
            std::vector<std::string>{"spec.bindAddress: invalid address \"localhost\": expected an "
                                     "IPv4 or IPv6 address such as \"::\" or \"0.0.0.0\""});
  EXPECT_EQ(gatewayErrors("  bindPort: 80\n  useProxyProto: true\n"),
            std::vector<std::string>{"spec.useProxyProto: field not supported by Portico yet"});
  EXPECT_EQ(gatewayErrors("  bindPort: 80\n  tcpGateway: {tcpHosts: []}\n"),
            std::vector<std::string>{"spec.tcpGateway: field not supported by Portico yet"});
  EXPECT_EQ(gatewayErrors("  bindPort: 80\n  hybridGateway: {}\n"),
            std::vector<std::string>{"spec.hybridGateway: field not supported by Portico yet"});
  // spec.options.accessLoggingService is decoded (tests/unit/observability); the rest is not.
  EXPECT_EQ(gatewayErrors("  bindPort: 80\n  options: {perConnectionBufferLimitBytes: 1024}\n"),
            std::vector<std::string>{
                "spec.options.perConnectionBufferLimitBytes: field not supported by Portico yet"});
  EXPECT_EQ(
      gatewayErrors("  bindPort: 80\n  httpGateway:\n    options: {grpcWeb: {disable: true}}\n"
                    "    virtualServiceExpressions: {}\n"),
      (std::vector<std::string>{
          "spec.httpGateway.options.grpcWeb: field not supported by Portico yet",
          "spec.httpGateway.virtualServiceExpressions: field not supported by Portico yet"}));
  EXPECT_EQ(gatewayErrors("  bindPort: 80\n  httpGateway: {virtualServices: [{namespace: x}]}\n"),
            std::vector<std::string>{"spec.httpGateway.virtualServices[0].name: required"});
  EXPECT_EQ(gatewayErrors("  bindPort: 80\n  proxyNames: gateway-proxy\n"),
            std::vector<std::string>{"spec.proxyNames: expected a list, got string"});
}

TEST(DecodeUpstreamTest, StaticExampleFromGlooDocs) {
  Errors errors;
  Upstream us = decodeUpstream(
      raw(upstream("  static: {hosts: [{addr: postman-echo.com, port: 80}], useTls: false}\n"
                   "  connectionConfig: {connectTimeout: 2s}\n"
                   "  discoveryMetadata: {labels: {app: echo}}\n")),
      errors);
  ASSERT_TRUE(errors.empty()) << errors.toString();
  EXPECT_EQ(us.meta.name, "postman-echo");
  EXPECT_EQ(us.type, "static");
  ASSERT_TRUE(us.typeSpec.isMap());
  ASSERT_NE(us.typeSpec.find("hosts"), nullptr);
  EXPECT_NE(us.typeSpec.find("useTls"), nullptr);  // the type subtree is the plugin's to check
  EXPECT_EQ(us.connectTimeoutMs, 2000);
}

TEST(DecodeUpstreamTest, UseHttp2) {
  Errors errors;
  Upstream us = decodeUpstream(
      raw(upstream("  static: {hosts: [{addr: grpc.local, port: 50051}]}\n  useHttp2: true\n")),
      errors);
  ASSERT_TRUE(errors.empty()) << errors.toString();
  EXPECT_TRUE(us.useHttp2);
  Upstream plain = decodeUpstream(raw(upstream("  static: {hosts: [{addr: a, port: 1}]}\n")), errors);
  EXPECT_FALSE(plain.useHttp2);
}

TEST(DecodeUpstreamTest, AwsExampleFromGlooDocs) {
  Errors errors;
  Upstream us = decodeUpstream(
      raw(upstream(
          "  aws: {region: us-east-1, secretRef: {name: aws-creds, namespace: gloo-system}}\n")),
      errors);
  ASSERT_TRUE(errors.empty()) << errors.toString();
  EXPECT_EQ(us.type, "aws");
  EXPECT_EQ(us.connectTimeoutMs, 5000);
}

TEST(DecodeUpstreamTest, Errors) {
  EXPECT_EQ(upstreamErrors("  useHttp2: true\n"),
            (std::vector<std::string>{
                "spec: one of static, kube, aws, azure, consul, awsEc2, gcp, pipe is required"}));
  EXPECT_EQ(upstreamErrors("  static: {hosts: [{addr: a, port: 1}]}\n  useHttp2: yes please\n"),
            (std::vector<std::string>{"spec.useHttp2: expected a boolean, got string"}));
  EXPECT_EQ(
      upstreamErrors("  static: {}\n  kube: {}\n"),
      std::vector<std::string>{
          "spec: only one of static, kube, aws, azure, consul, awsEc2, gcp, pipe may be set"});
  // The resilience fields are decoded (upstream_options_test.cc); the rest are still reported.
  EXPECT_EQ(
      upstreamErrors("  static: {}\n"
                     "  sslConfig: {sni: x, allowRenegotiation: true}\n"
                     "  circuitBreakers: {maxConnections: 1}\n"
                     "  loadBalancerConfig: {roundRobin: {}}\n"
                     "  healthChecks: []\n"
                     "  outlierDetection: {}\n"),
      (std::vector<std::string>{
          "spec.sslConfig.allowRenegotiation: field not supported by Portico yet"}));
  EXPECT_EQ(upstreamErrors("  static: {}\n  connectionConfig: {connectTimeout: 0s, "
                           "maxRequestsPerConnection: 5, http2ProtocolOptions: {}}\n"),
            (std::vector<std::string>{
                "spec.connectionConfig.connectTimeout: must be greater than 0",
                "spec.connectionConfig.http2ProtocolOptions: field not supported by Portico "
                "yet"}));
  Errors errors;
  decodeUpstream(raw("apiVersion: gloo.solo.io/v1\nkind: Upstream\nmetadata: {name: x}\n"), errors);
  EXPECT_EQ(errors.toString(),
            "spec: one of static, kube, aws, azure, consul, awsEc2, gcp, pipe is required");
}

}  // namespace
}  // namespace portico::config
