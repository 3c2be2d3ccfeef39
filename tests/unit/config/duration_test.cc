// parseDurationMs: protobuf-JSON and Go duration spellings.
#include <gtest/gtest.h>

#include "config/decode.h"

namespace portico::config {
namespace {

TEST(ParseDurationTest, Accepts) {
  struct Case {
    const char* text;
    int64_t ms;
  };
  const Case cases[] = {
      {"0s", 0},           {"0", 0},           {"1s", 1000},
      {"1.5s", 1500},      {"15s", 15000},     {"0.25s", 250},
      {"250ms", 250},      {"1m", 60000},      {"1h", 3600000},
      {"1h30m", 5400000},  {"2m3.5s", 123500}, {"10us", 1},
      {"10\xC2\xB5s", 1},  {"1ns", 1},         {"1000000ns", 1},
      {"1000001ns", 2},    {"1.0005s", 1001},  {".5s", 500},
      {"1.s", 1000},       {"+2s", 2000},      {"1h1m1s1ms", 3661001},
      {"0.000000001s", 1}, {"0.0s", 0},        {"90m", 5400000},
  };
  for (const Case& c : cases) {
    int64_t out = -1;
    EXPECT_TRUE(parseDurationMs(c.text, out)) << c.text;
    EXPECT_EQ(out, c.ms) << c.text;
  }
}

TEST(ParseDurationTest, Rejects) {
  for (const char* text :
       {"",         "-1s", "-0s", "s",    "1",      "15", "1.5",   "abc",  "1x",
        "1 s",      " 1s", "1s ", "1sec", "1.2.3s", ".s", "1m-1s", "1e3s", "99999999999999999999h",
        "3000000h", "1s1"}) {
    int64_t out = 42;
    EXPECT_FALSE(parseDurationMs(text, out)) << text;
    EXPECT_EQ(out, 42) << text;
  }
}

}  // namespace
}  // namespace portico::config
