#include "core/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace sweep::core {
namespace {

TEST(Utf8, ValidAndInvalid) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("caf\xC3\xA9 \xF0\x9F\x98\x80"));
  EXPECT_EQ(FirstInvalidUtf8("caf\xE9"), 3u);
  EXPECT_EQ(FirstInvalidUtf8("\xC0\xAF"), 0u);          // overlong '/'
  EXPECT_EQ(FirstInvalidUtf8("a\xED\xA0\x80"), 1u);     // surrogate
  EXPECT_EQ(FirstInvalidUtf8("\xF4\x90\x80\x80"), 0u);  // past U+10FFFF
  EXPECT_EQ(FirstInvalidUtf8("ab\xC3"), 2u);            // cut sequence
  EXPECT_EQ(DescribeInvalidUtf8("caf\xE9"), "not valid UTF-8 (byte 0xE9 at offset 3)");
}

TEST(Utf8, SanitizeReplacesOnlyBadBytes) {
  EXPECT_EQ(SanitizeUtf8("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(SanitizeUtf8("caf\xE9!"), "caf\xEF\xBF\xBD!");
  EXPECT_TRUE(IsValidUtf8(SanitizeUtf8("\xFF\xFE\xC3")));
}

TEST(Utf8, PrefixAndSuffixKeepCharactersWhole) {
  std::string text = "a";
  for (int i = 0; i < 10; ++i) text += "\xC3\xA9";  // 'a' + 10 x 'é'
  for (size_t n = 0; n <= text.size() + 1; ++n) {
    std::string_view p = Utf8Prefix(text, n);
    EXPECT_LE(p.size(), n);
    EXPECT_GE(p.size() + 1, std::min(n, text.size()));
    EXPECT_TRUE(IsValidUtf8(p)) << n;
    std::string_view s = Utf8Suffix(text, n);
    EXPECT_LE(s.size(), n);
    EXPECT_TRUE(IsValidUtf8(s)) << n;
  }
  EXPECT_EQ(Utf8Prefix(text, 2), "a");
  EXPECT_EQ(Utf8Suffix(text, 3), "\xC3\xA9");
}

}  // namespace
}  // namespace sweep::core
