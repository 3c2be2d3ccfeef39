// %DYNAMIC_METADATA(NAMESPACE:KEY):Z%: values transformations set, in text (as-is, "-" when
// missing) and JSON formats (a string, null when missing), truncation, and the forms rejected.
#include <gtest/gtest.h>

#include "observability/access_log_format.h"

namespace portico::observability {
namespace {

struct Metadata {
  filters::DynamicMetadata store;
  AccessLogEntry entry;
  Metadata() {
    store.set("io.solo.transformation", "user", "alice \"a\"");
    store.set("my.ns", "long", "abcdefgh");
    entry.target = "/pets";
    entry.dynamicMetadata = &store;
  }
};

std::string render(const AccessLogFormat& f, const AccessLogEntry& e) {
  std::string out;
  f.render(e, out);
  return out;
}

TEST(AccessLogMetadataTest, TextFormat) {
  Metadata m;
  std::vector<std::string> resp;
  auto f = AccessLogFormat::compileText(
      "%DYNAMIC_METADATA(io.solo.transformation:user)% %DYNAMIC_METADATA(my.ns:long):3% "
      "%DYNAMIC_METADATA(my.ns:none)% %DYNAMIC_METADATA(no.ns:user)% %REQ(:PATH)%\n",
      resp);
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_EQ(render(*f, m.entry), "alice \"a\" abc - - /pets\n");
  m.entry.dynamicMetadata = nullptr;  // a request nothing set metadata on
  EXPECT_EQ(render(*f, m.entry), "- - - - /pets\n");
}

TEST(AccessLogMetadataTest, JsonFormat) {
  Metadata m;
  std::vector<std::string> resp;
  auto f = AccessLogFormat::compileJson({{"user", "%DYNAMIC_METADATA(io.solo.transformation:user)%"},
                                         {"short", "%DYNAMIC_METADATA(my.ns:long):2%"},
                                         {"missing", "%DYNAMIC_METADATA(my.ns:none)%"},
                                         {"mixed", "u=%DYNAMIC_METADATA(my.ns:none)%"}},
                                        resp);
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_EQ(render(*f, m.entry),
            "{\"user\":\"alice \\\"a\\\"\",\"short\":\"ab\",\"missing\":null,\"mixed\":\"u=-\"}\n");
}

TEST(AccessLogMetadataTest, RejectedForms) {
  std::vector<std::string> resp;
  auto error = [&](const std::string& format) {
    auto f = AccessLogFormat::compileText(format, resp);
    return f.ok() ? std::string() : f.error();
  };
  const std::string form =
      ": expected %DYNAMIC_METADATA(NAMESPACE:KEY)%, e.g. "
      "%DYNAMIC_METADATA(io.solo.transformation:user)%";
  EXPECT_EQ(error("%DYNAMIC_METADATA%"), "command operator %DYNAMIC_METADATA%" + form);
  EXPECT_EQ(error("%DYNAMIC_METADATA(ns)%"), "command operator %DYNAMIC_METADATA(ns)%" + form);
  EXPECT_EQ(error("%DYNAMIC_METADATA(:k)%"), "command operator %DYNAMIC_METADATA(:k)%" + form);
  EXPECT_EQ(error("%DYNAMIC_METADATA(ns:)%"), "command operator %DYNAMIC_METADATA(ns:)%" + form);
  EXPECT_EQ(error("%DYNAMIC_METADATA(ns:a:b)%"),
            "command operator %DYNAMIC_METADATA(ns:a:b)%: nested keys are not supported "
            "(transformation metadata values are strings); to truncate, write "
            "%DYNAMIC_METADATA(NAMESPACE:KEY):LENGTH%");
  EXPECT_EQ(error("%DYNAMIC_METADATA(ns:k):x%"),
            "command operator %DYNAMIC_METADATA(ns:k):x%: \"x\" is not a length");
}

}  // namespace
}  // namespace portico::observability
