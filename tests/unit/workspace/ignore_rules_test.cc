// gitignore semantics of the snapshot's ignore rules.
#include "workspace/ignore_rules.h"

#include "gtest/gtest.h"

namespace sweep::workspace {
namespace {

TEST(IgnoreRulesTest, NameWithoutSlashMatchesAtAnyDepth) {
  IgnoreRules rules = IgnoreRules::Parse("*.pyc\n__pycache__\n");
  EXPECT_TRUE(rules.Ignored("a.pyc", false));
  EXPECT_TRUE(rules.Ignored("pkg/sub/b.pyc", false));
  EXPECT_TRUE(rules.Ignored("pkg/__pycache__", true));
  EXPECT_FALSE(rules.Ignored("a.py", false));
  EXPECT_FALSE(rules.Ignored("pyc/a.py", false));
}

TEST(IgnoreRulesTest, CommentsBlankLinesAndEscapes) {
  IgnoreRules rules = IgnoreRules::Parse("# a comment\n\n\\#hash\n\\!bang\nspace.txt   \n");
  EXPECT_FALSE(rules.Ignored("# a comment", false));
  EXPECT_TRUE(rules.Ignored("#hash", false));
  EXPECT_TRUE(rules.Ignored("!bang", false));
  EXPECT_TRUE(rules.Ignored("space.txt", false));
}

TEST(IgnoreRulesTest, NegationReincludesAndLastMatchWins) {
  IgnoreRules rules = IgnoreRules::Parse("*.csv\n!keep.csv\n");
  EXPECT_TRUE(rules.Ignored("data.csv", false));
  EXPECT_FALSE(rules.Ignored("keep.csv", false));
  EXPECT_FALSE(rules.Ignored("sub/keep.csv", false));
  IgnoreRules again = IgnoreRules::Parse("!keep.csv\n*.csv\n");
  EXPECT_TRUE(again.Ignored("keep.csv", false));
}

TEST(IgnoreRulesTest, TrailingSlashMatchesDirectoriesOnly) {
  IgnoreRules rules = IgnoreRules::Parse("data/\n");
  EXPECT_TRUE(rules.Ignored("data", true));
  EXPECT_TRUE(rules.Ignored("sub/data", true));
  EXPECT_FALSE(rules.Ignored("data", false));
}

TEST(IgnoreRulesTest, SlashAnchorsAtTheCodeDirectory) {
  IgnoreRules rules = IgnoreRules::Parse("/build\ndocs/*.md\n");
  EXPECT_TRUE(rules.Ignored("build", true));
  EXPECT_FALSE(rules.Ignored("src/build", true));
  EXPECT_TRUE(rules.Ignored("docs/a.md", false));
  EXPECT_FALSE(rules.Ignored("x/docs/a.md", false));
  EXPECT_FALSE(rules.Ignored("docs/sub/a.md", false));  // '*' never crosses '/'
}

TEST(IgnoreRulesTest, DoubleStar) {
  IgnoreRules rules = IgnoreRules::Parse("**/logs\nout/**\na/**/z.txt\n");
  EXPECT_TRUE(rules.Ignored("logs", true));
  EXPECT_TRUE(rules.Ignored("x/y/logs", true));
  EXPECT_TRUE(rules.Ignored("out/file", false));
  EXPECT_TRUE(rules.Ignored("out/deep/file", false));
  EXPECT_FALSE(rules.Ignored("out", true));  // "out/**" is what is inside out
  EXPECT_TRUE(rules.Ignored("a/z.txt", false));
  EXPECT_TRUE(rules.Ignored("a/b/c/z.txt", false));
  EXPECT_FALSE(rules.Ignored("b/z.txt", false));
}

TEST(IgnoreRulesTest, EmptyRulesIgnoreNothing) {
  IgnoreRules rules = IgnoreRules::Parse("");
  EXPECT_TRUE(rules.empty());
  EXPECT_FALSE(rules.Ignored("anything", false));
}

}  // namespace
}  // namespace sweep::workspace
