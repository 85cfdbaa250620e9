#include "engine/rules/parser.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigil::rules {
namespace {

// A compact rendering of the tree, to compare shapes.
std::string Show(const Ast& ast) {
  switch (ast.kind) {
    case AstKind::kInt:
      return std::to_string(ast.int_value);
    case AstKind::kString:
      return "\"" + ast.text + "\"";
    case AstKind::kBool:
      return ast.bool_value ? "true" : "false";
    case AstKind::kMoney:
      return std::to_string(ast.int_value) + ast.text;
    case AstKind::kDuration:
      return std::to_string(ast.int_value) + "ms";
    case AstKind::kName:
      return ast.text;
    case AstKind::kList: {
      std::string out = "[";
      for (const auto& item : ast.args) out += Show(*item) + ";";
      return out + "]";
    }
    case AstKind::kCall: {
      std::string out = ast.text + "(";
      for (const auto& arg : ast.args) out += Show(*arg) + ";";
      return out + ")";
    }
    case AstKind::kNot:
      return "!" + Show(*ast.args[0]);
    case AstKind::kNeg:
      return "-" + Show(*ast.args[0]);
    case AstKind::kIn:
      return "(" + Show(*ast.args[0]) + " in " + Show(*ast.args[1]) + ")";
    case AstKind::kBinary:
      return "(" + Show(*ast.args[0]) + " " + BinaryOpText(ast.op) + " " + Show(*ast.args[1]) + ")";
  }
  return "?";
}

std::string Parse(const std::string& text) {
  std::vector<Diagnostic> diagnostics;
  std::unique_ptr<Ast> ast = ParseExpression(text, TextOrigin{"f", {1, 1}, 1}, diagnostics);
  if (ast == nullptr) return diagnostics.empty() ? "?" : diagnostics[0].ToString();
  return Show(*ast);
}

TEST(ParserTest, PrecedenceFromLoosestToTightest) {
  EXPECT_EQ(Parse("a || b && c"), "(a || (b && c))");
  EXPECT_EQ(Parse("!a && b"), "(!a && b)");
  EXPECT_EQ(Parse("x.y + 2 * 3 > 4"), "((x.y + (2 * 3)) > 4)");
  EXPECT_EQ(Parse("(a || b) && c"), "((a || b) && c)");
  EXPECT_EQ(Parse("a - b - c"), "((a - b) - c)");
}

TEST(ParserTest, Literals) {
  EXPECT_EQ(Parse("199.99 CNY"), "19999CNY");
  EXPECT_EQ(Parse("200 CNY"), "20000CNY");
  EXPECT_EQ(Parse("90d"), "7776000000ms");
  EXPECT_EQ(Parse("10m"), "600000ms");
  EXPECT_EQ(Parse("'single' == \"double\""), "(\"single\" == \"double\")");
  EXPECT_EQ(Parse("true != false"), "(true != false)");
  EXPECT_EQ(Parse("-5"), "-5");
}

TEST(ParserTest, ListsCallsAndIn) {
  EXPECT_EQ(Parse("txn.mcc in [\"5816\", '7994']"), "(txn.mcc in [\"5816\";\"7994\";])");
  EXPECT_EQ(Parse("txn.mcc not in lists.games"), "!(txn.mcc in lists.games)");
  EXPECT_EQ(Parse("user.approvals(1h) >= 10"), "(user.approvals(3600000ms;) >= 10)");
  EXPECT_EQ(Parse("f()"), "f()");
}

TEST(ParserTest, ErrorsSayWhereAndWhat) {
  EXPECT_EQ(Parse("a &&"), "f:1:5: error: expected a value, a name or \"(\", found the end");
  EXPECT_EQ(Parse("a ) b"), "f:1:3: error: expected an operator or the end");
  EXPECT_EQ(Parse("3w"),
            "f:1:2: error: unknown duration unit \"w\"; expected s, m, h or d "
            "(as in 90d, 3h, 10m, 30s)");
  EXPECT_EQ(Parse("1.5"),
            "f:1:1: error: a number with decimals must be money with its currency, as in "
            "199.99 CNY");
  EXPECT_EQ(Parse("1.234 CNY"), "f:1:1: error: amount \"1.234\" has more than 2 decimals for CNY");
  EXPECT_EQ(Parse("\"open"), "f:1:1: error: unterminated string");
  EXPECT_EQ(Parse("a # b"), "f:1:3: error: unexpected character '#'");
  EXPECT_EQ(Parse("[1]"), "f:1:2: error: a list holds strings only");
  EXPECT_EQ(Parse("a not b"), "f:1:7: error: expected \"in\" after \"not\"");
}

TEST(ParserTest, PositionsFollowLinesOfABlock) {
  std::vector<Diagnostic> diagnostics;
  const TextOrigin origin{"rules.yaml", {10, 7}, 7};
  EXPECT_EQ(ParseExpression("a &&\n  b c", origin, diagnostics), nullptr);
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].ToString(), "rules.yaml:11:11: error: expected an operator or the end");
}

TEST(ParserTest, DepthIsLimited) {
  std::vector<Diagnostic> diagnostics;
  const std::string deep = std::string(5000, '(') + "a" + std::string(5000, ')');
  EXPECT_EQ(ParseExpression(deep, TextOrigin{"f", {1, 1}, 1}, diagnostics), nullptr);
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_THAT(diagnostics[0].message, ::testing::HasSubstr("nested deeper than"));
}

}  // namespace
}  // namespace vigil::rules
