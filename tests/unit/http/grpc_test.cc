#include "http/grpc.h"

#include <gtest/gtest.h>

namespace portico::http {
namespace {

TEST(GrpcTest, ContentTypes) {
  EXPECT_TRUE(isGrpcContentType("application/grpc"));
  EXPECT_TRUE(isGrpcContentType("application/grpc+proto"));
  EXPECT_TRUE(isGrpcContentType("application/grpc;charset=utf-8"));
  EXPECT_TRUE(isGrpcContentType("Application/GRPC"));
  EXPECT_FALSE(isGrpcContentType("application/grpc-web"));
  EXPECT_FALSE(isGrpcContentType("application/grpcx"));
  EXPECT_FALSE(isGrpcContentType("application/json"));
  EXPECT_FALSE(isGrpcContentType(""));
}

TEST(GrpcTest, TimeoutUnits) {
  EXPECT_EQ(parseGrpcTimeout("1H"), 3600000);
  EXPECT_EQ(parseGrpcTimeout("2M"), 120000);
  EXPECT_EQ(parseGrpcTimeout("3S"), 3000);
  EXPECT_EQ(parseGrpcTimeout("250m"), 250);
  EXPECT_EQ(parseGrpcTimeout("1500u"), 2);     // rounded up
  EXPECT_EQ(parseGrpcTimeout("1n"), 1);
  EXPECT_EQ(parseGrpcTimeout("99999999S"), 99999999000LL);  // 8 digits, the most allowed
}

TEST(GrpcTest, MalformedTimeoutsAreIgnored) {
  EXPECT_EQ(parseGrpcTimeout(""), std::nullopt);
  EXPECT_EQ(parseGrpcTimeout("S"), std::nullopt);
  EXPECT_EQ(parseGrpcTimeout("10"), std::nullopt);
  EXPECT_EQ(parseGrpcTimeout("10s"), std::nullopt);  // units are case-sensitive: s is not one
  EXPECT_EQ(parseGrpcTimeout("123456789S"), std::nullopt);  // 9 digits
  EXPECT_EQ(parseGrpcTimeout("-1S"), std::nullopt);
  EXPECT_EQ(parseGrpcTimeout("1 S"), std::nullopt);
}

TEST(GrpcTest, StatusMapping) {
  EXPECT_EQ(grpcStatusForHttp(400), 13);
  EXPECT_EQ(grpcStatusForHttp(401), 16);
  EXPECT_EQ(grpcStatusForHttp(403), 7);
  EXPECT_EQ(grpcStatusForHttp(404), 12);
  EXPECT_EQ(grpcStatusForHttp(429), 14);
  EXPECT_EQ(grpcStatusForHttp(502), 14);
  EXPECT_EQ(grpcStatusForHttp(503), 14);
  EXPECT_EQ(grpcStatusForHttp(504), 14);
  EXPECT_EQ(grpcStatusForHttp(500), 2);
  EXPECT_EQ(grpcStatusForHttp(413), 2);
}

TEST(GrpcTest, MessagePercentEncoding) {
  Buffer out;
  appendGrpcMessage(out, "no route: 100% \xc3\xa9\n");
  EXPECT_EQ(out.view(), "no route: 100%25 %C3%A9%0A");
}

}  // namespace
}  // namespace portico::http
