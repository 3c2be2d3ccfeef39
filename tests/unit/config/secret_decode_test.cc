// decodeSecret (Gloo and Kubernetes shapes), redactSecretDocument, VirtualService sslConfig and
// Gateway ssl. Secret values must never appear in an error message.
#include <gtest/gtest.h>

#include "config/decode.h"
#include "decode_test_util.h"

namespace portico::config {
namespace {

using testing::rawObject;
using testing::Strings;

Secret decodeOk(const std::string& yaml) {
  Errors errors;
  Secret s = decodeSecret(rawObject(yaml), errors);
  EXPECT_TRUE(errors.empty()) << errors.toString();
  return s;
}

Strings secretErrors(const std::string& yaml) {
  Errors errors;
  decodeSecret(rawObject(yaml), errors);
  return errors.items();
}

TEST(SecretDecodeTest, KnownKinds) {
  EXPECT_TRUE(isKnownKind("gloo.solo.io/v1", "Secret"));
  EXPECT_TRUE(isKnownKind("v1", "Secret"));
  EXPECT_FALSE(isKnownKind("v1", "ConfigMap"));
  EXPECT_FALSE(isKnownKind("gateway.solo.io/v1", "Secret"));
}

TEST(SecretDecodeTest, GlooTlsUnderSpecAndAtRoot) {
  for (const char* layout : {"spec:\n  tls:\n", "tls:\n"}) {
    std::string indent = std::string(layout).rfind("spec", 0) == 0 ? "    " : "  ";
    Secret s = decodeOk("apiVersion: gloo.solo.io/v1\nkind: Secret\nmetadata: {name: tls}\n" +
                        std::string(layout) + indent + "certChain: CERT\n" + indent +
                        "privateKey: KEY\n" + indent + "rootCa: CA\n");
    EXPECT_EQ(s.type, Secret::Type::Tls);
    EXPECT_EQ(s.certChain, "CERT");
    EXPECT_EQ(s.privateKey, "KEY");
    EXPECT_EQ(s.rootCa, "CA");
    EXPECT_EQ(s.meta.ns, "gloo-system");
  }
}

TEST(SecretDecodeTest, GlooAwsHeaderExtensions) {
  Secret aws = decodeOk(
      "apiVersion: gloo.solo.io/v1\nkind: Secret\nmetadata: {name: a}\n"
      "spec: {aws: {accessKey: AK, secretKey: SK, sessionToken: ST}}\n");
  EXPECT_EQ(aws.type, Secret::Type::Aws);
  EXPECT_EQ(aws.accessKey, "AK");
  EXPECT_EQ(aws.secretKey, "SK");
  EXPECT_EQ(aws.sessionToken, "ST");

  Secret header = decodeOk("apiVersion: gloo.solo.io/v1\nkind: Secret\nmetadata: {name: h}\n"
                           "spec: {header: {headers: {x-api-key: K}}}\n");
  EXPECT_EQ(header.type, Secret::Type::Header);
  ASSERT_EQ(header.values.size(), 1u);
  EXPECT_EQ(header.values[0].second, "K");

  Secret ext = decodeOk("apiVersion: gloo.solo.io/v1\nkind: Secret\nmetadata: {name: e}\n"
                        "spec: {extensions: {configs: {plugin: {token: T}}}}\n");
  EXPECT_EQ(ext.type, Secret::Type::Extensions);
  ASSERT_EQ(ext.values.size(), 1u);
  EXPECT_EQ(ext.values[0].first, "plugin");
}

TEST(SecretDecodeTest, GlooErrorsNameFieldsNeverValues) {
  EXPECT_EQ(secretErrors("apiVersion: gloo.solo.io/v1\nkind: Secret\nmetadata: {name: a}\n"
                         "spec: {aws: {accessKeyId: HUSH1, secretAccessKey: HUSH2}}\n"),
            (Strings{"spec.aws.accessKeyId: unknown field: Gloo's AwsSecret fields are accessKey, "
                     "secretKey and sessionToken",
                     "spec.aws.secretAccessKey: unknown field: Gloo's AwsSecret fields are "
                     "accessKey, secretKey and sessionToken",
                     "spec.aws.accessKey: required", "spec.aws.secretKey: required"}));
  EXPECT_EQ(secretErrors("apiVersion: gloo.solo.io/v1\nkind: Secret\nmetadata: {name: a}\n"
                         "spec: {tls: {certChain: HUSH}, aws: {accessKey: a, secretKey: b}}\n"),
            (Strings{"spec: only one of tls, aws, header, extensions is required",
                     "spec.tls: certChain and privateKey go together: set both, or neither "
                     "(rootCa only)"}));
  EXPECT_EQ(secretErrors("apiVersion: gloo.solo.io/v1\nkind: Secret\nmetadata: {name: a}\n"
                         "spec: {azure: {apiKeys: {k: HUSH}}}\n"),
            (Strings{"spec.azure: field not supported by Portico yet"}));
  EXPECT_EQ(secretErrors("apiVersion: gloo.solo.io/v1\nkind: Secret\nmetadata: {name: a}\n"
                         "spec: {tls: {certChain: [HUSH], privateKey: k, ocspStaple: HUSH}}\n"),
            (Strings{"spec.tls.certChain: expected a string, got list",
                     "spec.tls: certChain and privateKey go together: set both, or neither "
                     "(rootCa only)",
                     "spec.tls.ocspStaple: field not supported by Portico yet"}));
}

TEST(SecretDecodeTest, KubernetesTlsBase64AndStringData) {
  // "CERT" = Q0VSVA==, "KEY" = S0VZ, "CA" = Q0E=
  Secret s = decodeOk(
      "apiVersion: v1\nkind: Secret\nmetadata: {name: k8s, namespace: web}\n"
      "type: kubernetes.io/tls\n"
      "data: {tls.crt: Q0VSVA==, tls.key: S0VZ, ca.crt: Q0E=}\n");
  EXPECT_EQ(s.type, Secret::Type::Tls);
  EXPECT_EQ(s.certChain, "CERT");
  EXPECT_EQ(s.privateKey, "KEY");
  EXPECT_EQ(s.rootCa, "CA");
  EXPECT_EQ(s.meta.ns, "web");

  Secret plain = decodeOk("apiVersion: v1\nkind: Secret\nmetadata: {name: k8s}\n"
                          "type: kubernetes.io/tls\nimmutable: true\n"
                          "data: {tls.crt: Q0VSVA==, tls.key: S0VZ}\n"
                          "stringData: {tls.key: OTHER}\n");
  EXPECT_EQ(plain.privateKey, "OTHER");  // stringData wins, as in Kubernetes
}

TEST(SecretDecodeTest, KubernetesErrors) {
  EXPECT_EQ(secretErrors("apiVersion: v1\nkind: Secret\nmetadata: {name: k}\n"
                         "type: kubernetes.io/tls\ndata: {tls.crt: 'HUSH!!', tls.key: S0VZ}\n"),
            (Strings{"data[\"tls.crt\"]: invalid base64 (Kubernetes data values are base64; use "
                     "stringData for plain text)",
                     "data[\"tls.crt\"]: required"}));
  EXPECT_EQ(secretErrors("apiVersion: v1\nkind: Secret\nmetadata: {name: k}\n"
                         "type: kubernetes.io/basic-auth\nstringData: {password: HUSH}\n"),
            (Strings{"type: Secret type \"kubernetes.io/basic-auth\" is not supported by Portico: "
                     "use kubernetes.io/tls or Opaque"}));
  EXPECT_EQ(secretErrors("apiVersion: v1\nkind: Secret\nmetadata: {name: k}\n"
                         "stringData: {aws_access_key_id: HUSH}\n"),
            (Strings{"data.aws_secret_access_key: required"}));
}

TEST(SecretDecodeTest, KubernetesOpaqueAws) {
  Secret s = decodeOk("apiVersion: v1\nkind: Secret\nmetadata: {name: k}\n"
                      "stringData: {aws_access_key_id: AK, aws_secret_access_key: SK}\n");
  EXPECT_EQ(s.type, Secret::Type::Aws);
  EXPECT_EQ(s.accessKey, "AK");
  EXPECT_EQ(s.secretKey, "SK");
}

TEST(SecretDecodeTest, RedactionKeepsOnlyIdentity) {
  RawObject obj = rawObject(
      "apiVersion: v1\nkind: Secret\nmetadata: {name: k, labels: {app: web}}\n"
      "type: kubernetes.io/tls\ndata: {tls.crt: SFVTSA==, tls.key: SFVTSA==}\n"
      "stringData: {extra: [HUSH, {deep: HUSH}]}\n");
  std::string json = toJson(redactSecretDocument(obj.doc));
  EXPECT_EQ(json.find("HUSH"), std::string::npos) << json;
  EXPECT_EQ(json.find("SFVTSA"), std::string::npos) << json;
  EXPECT_NE(json.find("<redacted>"), std::string::npos);
  EXPECT_NE(json.find("\"tls.crt\""), std::string::npos);  // keys stay: what is set is visible
  EXPECT_NE(json.find("kubernetes.io/tls"), std::string::npos);
  EXPECT_NE(json.find("\"app\":\"web\""), std::string::npos);
}

// ---- VirtualService sslConfig, Gateway ssl ----------------------------------------------------

std::string vsWithSsl(const std::string& ssl) {
  return "apiVersion: gateway.solo.io/v1\nkind: VirtualService\nmetadata: {name: web}\n"
         "spec:\n  virtualHost: {domains: [Example.com, 'a.example.com:8443'], routes: []}\n"
         "  sslConfig: " + ssl + "\n";
}

TEST(SecretDecodeTest, VirtualServiceSslConfig) {
  VirtualService vs = testing::decodeVs(
      vsWithSsl("{secretRef: {name: tls, namespace: certs}, sniDomains: [Example.COM, '*.b.io'], "
                "verifySubjectAltName: [spiffe://client]}"));
  ASSERT_TRUE(vs.sslConfig);
  ASSERT_TRUE(vs.sslConfig->secretRef);
  EXPECT_EQ(vs.sslConfig->secretRef->name, "tls");
  EXPECT_EQ(vs.sslConfig->secretRef->ns, "certs");
  EXPECT_EQ(vs.sslConfig->sniDomains, (Strings{"example.com", "*.b.io"}));
  EXPECT_EQ(vs.sslConfig->verifySubjectAltName, (Strings{"spiffe://client"}));

  VirtualService files = testing::decodeVs(
      vsWithSsl("{sslFiles: {tlsCert: /c.pem, tlsKey: /k.pem, rootCa: /ca.pem}}"));
  ASSERT_TRUE(files.sslConfig);
  EXPECT_FALSE(files.sslConfig->secretRef);
  EXPECT_EQ(files.sslConfig->tlsCert, "/c.pem");
  EXPECT_EQ(files.sslConfig->tlsKey, "/k.pem");
  EXPECT_EQ(files.sslConfig->rootCa, "/ca.pem");
  EXPECT_TRUE(files.sslConfig->sniDomains.empty());  // the controller uses the domains

  EXPECT_FALSE(testing::decodeVs("apiVersion: gateway.solo.io/v1\nkind: VirtualService\n"
                                 "metadata: {name: web}\nspec: {virtualHost: {domains: ['*']}}\n")
                   .sslConfig);
}

TEST(SecretDecodeTest, VirtualServiceSslConfigErrors) {
  EXPECT_EQ(testing::vsErrors(vsWithSsl("{secretRef: {name: a}, sslFiles: {tlsCert: c, tlsKey: k}}")),
            (Strings{"spec.sslConfig: only one of secretRef, sslFiles may be set"}));
  EXPECT_EQ(testing::vsErrors(vsWithSsl("{sniDomains: [a.com]}")),
            (Strings{"spec.sslConfig: one of secretRef, sslFiles is required"}));
  EXPECT_EQ(testing::vsErrors(vsWithSsl("{sslFiles: {tlsCert: c}, sniDomains: ['a.com:443']}")),
            (Strings{"spec.sslConfig.sslFiles.tlsKey: required",
                     "spec.sslConfig.sniDomains[0]: invalid SNI name \"a.com:443\": expected a "
                     "host name, \"*.suffix\" or \"*\" (no port)"}));
  EXPECT_EQ(testing::vsErrors(vsWithSsl("{sslFiles: {tlsCert: c, tlsKey: k}, "
                                        "verifySubjectAltName: [x]}")),
            (Strings{"spec.sslConfig.verifySubjectAltName: needs sslFiles.rootCa (the CA that "
                     "client certificates are verified against)"}));
  EXPECT_EQ(testing::vsErrors(vsWithSsl("{sds: {}, parameters: {minimumProtocolVersion: TLSv1_2}}")),
            (Strings{"spec.sslConfig.sds: field not supported by Portico yet",
                     "spec.sslConfig.parameters: field not supported by Portico yet"}));
}

TEST(SecretDecodeTest, GatewaySsl) {
  Errors errors;
  Gateway gw = decodeGateway(rawObject("apiVersion: gateway.solo.io/v1\nkind: Gateway\n"
                                       "metadata: {name: gateway-proxy-ssl}\n"
                                       "spec: {bindPort: 8443, ssl: true, httpGateway: {}}\n"),
                             errors);
  EXPECT_TRUE(errors.empty()) << errors.toString();
  EXPECT_TRUE(gw.ssl);
}

}  // namespace
}  // namespace portico::config
