// SigV4Signer against AWS's published cases: the aws-sig-v4-test-suite (credentials AKIDEXAMPLE,
// service "service", us-east-1, 20150830T123600Z) and the IAM ListUsers worked example.
#include <gtest/gtest.h>

#include "filters/aws_sigv4.h"

namespace portico::filters {
namespace {

const AwsCredentials kCreds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
constexpr const char* kDate = "20150830T123600Z";
constexpr const char* kEmptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The Signature= part of the suite's Authorization header for a request to example.amazonaws.com.
std::string suiteSignature(const std::string& method, const std::string& target,
                           SigV4Signer::Headers extra, const AwsCredentials& creds = kCreds,
                           const std::string& payloadHash = kEmptyHash) {
  SigV4Signer::Headers headers{{"Host", "example.amazonaws.com"}, {"X-Amz-Date", kDate}};
  headers.insert(headers.end(), extra.begin(), extra.end());
  std::string auth = SigV4Signer("service", "us-east-1")
                         .authorization(creds, kDate, method, target, headers, payloadHash);
  EXPECT_TRUE(auth.starts_with(
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "))
      << auth;
  return auth.substr(auth.find("SignedHeaders="));
}

TEST(SigV4Test, Hashes) {
  EXPECT_EQ(sha256Hex(""), kEmptyHash);
  EXPECT_EQ(sha256Hex("hello"), "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  std::tm tm{};
  tm.tm_year = 115, tm.tm_mon = 7, tm.tm_mday = 30, tm.tm_hour = 12, tm.tm_min = 36;
  EXPECT_EQ(amzDate(std::chrono::system_clock::from_time_t(timegm(&tm))), kDate);
}

TEST(SigV4Test, GetVanilla) {
  EXPECT_EQ(suiteSignature("GET", "/", {}),
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  EXPECT_EQ(SigV4Signer::canonicalRequest("GET", "/",
                                          {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", kDate}},
                                          kEmptyHash),
            std::string("GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
                        "host;x-amz-date\n") + kEmptyHash);
}

TEST(SigV4Test, PostVanilla) {
  EXPECT_EQ(suiteSignature("POST", "/", {}),
            "SignedHeaders=host;x-amz-date, "
            "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

TEST(SigV4Test, QueryOrderKeyCase) {
  EXPECT_EQ(suiteSignature("GET", "/?Param2=value2&Param1=value1", {}),
            "SignedHeaders=host;x-amz-date, "
            "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(SigV4Test, Utf8QueryAndPath) {
  EXPECT_EQ(suiteSignature("GET", "/?\xe1\x88\xb4=bar", {}),
            "SignedHeaders=host;x-amz-date, "
            "Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04");
  EXPECT_EQ(suiteSignature("GET", "/\xe1\x88\xb4", {}),
            "SignedHeaders=host;x-amz-date, "
            "Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");
}

TEST(SigV4Test, QueryCanonicalisation) {
  // Sorted by name then value, decoded and re-encoded (so %24 and $ sign the same), an empty
  // value and a bare key both end in "=".
  std::string a = SigV4Signer::canonicalRequest("GET", "/?b=2&a=z&a=y&Qualifier=%24LATEST&k", {},
                                                kEmptyHash);
  std::string b = SigV4Signer::canonicalRequest("GET", "/?k=&Qualifier=$LATEST&b=2&a=y&a=z", {},
                                                kEmptyHash);
  EXPECT_EQ(a, b);
  EXPECT_NE(a.find("\nQualifier=%24LATEST&a=y&a=z&b=2&k=\n"), std::string::npos) << a;
  // Path: dot segments and empty segments go; each segment is encoded as given, so a path
  // already percent-encoded on the wire is encoded again (every service but S3).
  std::string p = SigV4Signer::canonicalRequest("GET", "//a/./b/../c%3Ad/", {}, kEmptyHash);
  EXPECT_TRUE(p.starts_with("GET\n/a/c%253Ad/\n")) << p;
}

TEST(SigV4Test, HeaderValueCase) {
  EXPECT_EQ(suiteSignature("POST", "/", {{"My-Header1", "VALUE1"}}),
            "SignedHeaders=host;my-header1;x-amz-date, "
            "Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d");
}

TEST(SigV4Test, HeaderValueTrim) {
  EXPECT_EQ(suiteSignature("GET", "/", {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}}),
            "SignedHeaders=host;my-header1;my-header2;x-amz-date, "
            "Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");
}

TEST(SigV4Test, HeaderValueMultilineFolding) {
  EXPECT_EQ(suiteSignature("GET", "/", {{"My-Header1", "value1\n  value2\n     value3"}}),
            "SignedHeaders=host;my-header1;x-amz-date, "
            "Signature=ba17b383a53190154eb5fa66a1b836cc297cc0a3d70a5d00705980573d8ff790");
}

TEST(SigV4Test, RepeatedHeadersJoinInOrder) {
  std::string c = SigV4Signer::canonicalRequest(
      "GET", "/", {{"My-Header1", "value2"}, {"my-header1", "value2"}, {"MY-HEADER1", "value1"}},
      kEmptyHash);
  EXPECT_NE(c.find("\nmy-header1:value2,value2,value1\n"), std::string::npos) << c;
}

TEST(SigV4Test, SessionToken) {
  const std::string token =
      "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfp"
      "SPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPky"
      "QDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz"
      "+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
  AwsCredentials creds = kCreds;
  creds.sessionToken = token;
  // post-sts-header-before: the token is a signed header.
  EXPECT_EQ(suiteSignature("POST", "/", {{"X-Amz-Security-Token", token}}, creds),
            "SignedHeaders=host;x-amz-date;x-amz-security-token, "
            "Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead");
}

TEST(SigV4Test, SignedPayload) {
  // awscrt's published body case: "hello" with its hash in x-amz-content-sha256.
  std::string hash = sha256Hex("hello");
  EXPECT_EQ(suiteSignature("POST", "/", {{"Content-Length", "5"}, {"x-amz-content-sha256", hash}},
                           kCreds, hash),
            "SignedHeaders=content-length;host;x-amz-content-sha256;x-amz-date, "
            "Signature=8e17c5b22b7bb28da47f44b08691c087a0993d0965bfab053376360790d44d6c");
}

TEST(SigV4Test, IamListUsersWorkedExample) {
  SigV4Signer signer("iam", "us-east-1");
  SigV4Signer::Headers headers{{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                               {"Host", "iam.amazonaws.com"},
                               {"X-Amz-Date", kDate}};
  std::string target = "/?Action=ListUsers&Version=2010-05-08";
  std::string canonical = SigV4Signer::canonicalRequest("GET", target, headers, kEmptyHash);
  EXPECT_EQ(sha256Hex(canonical), "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  EXPECT_EQ(signer.authorization(kCreds, kDate, "GET", target, headers, kEmptyHash),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

}  // namespace
}  // namespace portico::filters
