#include "edgebench/text.h"

#include <gtest/gtest.h>

namespace edgebench {
namespace {

TEST(Text, JoinPutsTheSeparatorBetweenItemsOnly) {
  EXPECT_EQ(Join({}, ", "), "");
  EXPECT_EQ(Join({"a"}, ", "), "a");
  EXPECT_EQ(Join({"a", "", "b"}, ","), "a,,b");
}

TEST(Text, SplitKeepsEmptyPieces) {
  EXPECT_EQ(Split("a,,b", ','), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(Split("", ':'), (std::vector<std::string>{""}));
  EXPECT_EQ(Split("/a:", ':'), (std::vector<std::string>{"/a", ""}));
  EXPECT_EQ(Join(Split("x=1,y=2", ','), ","), "x=1,y=2");
}

}  // namespace
}  // namespace edgebench
