#include <gtest/gtest.h>

#include "common/buffer.h"

namespace portico {
namespace {

TEST(Buffer, AppendConsumeReuse) {
  Buffer b;
  b.append("hello ");
  b.append(std::string(5000, 'x'));
  EXPECT_EQ(b.size(), 5006u);
  b.consume(6);
  EXPECT_EQ(b.view().substr(0, 3), "xxx");
  size_t cap = b.capacity();
  b.consume(5000);
  EXPECT_TRUE(b.empty());
  b.append("again");
  EXPECT_EQ(b.capacity(), cap);  // storage kept
  EXPECT_EQ(b.view(), "again");
}

TEST(Buffer, NumbersAndShrink) {
  Buffer b;
  b.appendDecimal(0);
  b.append(' ');
  b.appendDecimal(18446744073709551615ULL);
  b.append(' ');
  b.appendHex(255);
  EXPECT_EQ(b.view(), "0 18446744073709551615 ff");
  b.clear();
  b.append(std::string(100000, 'a'));
  b.clear();
  b.shrinkTo(1024);
  EXPECT_LE(b.capacity(), 1024u);
}

}  // namespace
}  // namespace portico
