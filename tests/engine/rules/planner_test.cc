// The planner's optimisations, each checked on the plan it produces.

#include "engine/rules/planner.h"

#include <string>

#include "engine/rules/checker.h"
#include "engine/rules/evaluator.h"
#include "engine/rules/parser.h"
#include "gtest/gtest.h"

namespace vigil::rules {
namespace {

class PlannerTest : public ::testing::Test {
 protected:
  int32_t Add(PlanBuilder& builder, const std::string& text) {
    std::vector<Diagnostic> diagnostics;
    std::unique_ptr<Ast> ast = ParseExpression(text, TextOrigin{"f", {1, 1}, 1}, diagnostics);
    EXPECT_NE(ast, nullptr) << text;
    Checker checker(symbols_, diagnostics);
    std::unique_ptr<CheckedExpr> checked = checker.Check(*ast, "f", Type::kBool);
    EXPECT_NE(checked, nullptr) << (diagnostics.empty() ? text : diagnostics[0].ToString());
    return builder.Add(*checked);
  }

  SymbolTable symbols_ = [] {
    SymbolTable symbols;
    symbols.currency = "CNY";
    symbols.params["cap"] = Param{Type::kMoney, 20000, ""};
    symbols.params["n"] = Param{Type::kInt, 3, ""};
    return symbols;
  }();
};

TEST_F(PlannerTest, FoldsConstantsAndParams) {
  PlanBuilder builder(symbols_.lists);
  const int32_t root = Add(builder, "2 * params.n + 1 == 7 && params.cap > 100 CNY");
  const Plan plan = std::move(builder).Finish();
  EXPECT_EQ(plan.nodes[root].op, Op::kConst);
  EXPECT_EQ(plan.nodes[root].value, 1);
}

TEST_F(PlannerTest, ShortCircuitsConstantOperands) {
  PlanBuilder builder(symbols_.lists);
  const int32_t always = Add(builder, "txn.amount > 1 CNY || params.n == 3");
  const int32_t same = Add(builder, "txn.amount > 1 CNY && params.n == 3");
  const Plan plan = std::move(builder).Finish();
  EXPECT_EQ(plan.nodes[always].op, Op::kConst);
  EXPECT_EQ(plan.nodes[always].value, 1);
  EXPECT_EQ(plan.nodes[same].op, Op::kCompare) << "true && x is x";
}

TEST_F(PlannerTest, OrdersCheapTestsFirst) {
  PlanBuilder builder(symbols_.lists);
  const int32_t root =
      Add(builder, "txn.merchant_category in [\"5816\"] && user.approvals(1h) > 2 && user.elderly");
  const Plan plan = std::move(builder).Finish();
  const PlanNode& node = plan.nodes[root];
  ASSERT_EQ(node.op, Op::kAnd);
  ASSERT_EQ(node.arg_count, 3);
  EXPECT_EQ(plan.nodes[plan.args[node.first_arg]].op, Op::kField);
  EXPECT_EQ(plan.nodes[plan.args[node.first_arg + 1]].op, Op::kCompare);
  EXPECT_EQ(plan.nodes[plan.args[node.first_arg + 2]].op, Op::kIn);
}

TEST_F(PlannerTest, SharesCommonSubexpressionsAndCachesThem) {
  PlanBuilder builder(symbols_.lists);
  const int32_t a = Add(builder, "user.approvals(1h) + 1 > 3 && user.elderly");
  const int32_t b = Add(builder, "user.approvals(1h) + 1 > 3 || txn.amount > 5 CNY");
  const Plan plan = std::move(builder).Finish();
  const PlanNode& and_node = plan.nodes[a];
  const PlanNode& or_node = plan.nodes[b];
  // The comparison appears once and both roots point at it.
  int32_t shared = -1;
  for (int32_t i = 0; i < and_node.arg_count; ++i) {
    for (int32_t j = 0; j < or_node.arg_count; ++j) {
      if (plan.args[and_node.first_arg + i] == plan.args[or_node.first_arg + j]) {
        shared = plan.args[and_node.first_arg + i];
      }
    }
  }
  ASSERT_GE(shared, 0);
  EXPECT_GE(plan.nodes[shared].memo_slot, 0);
  EXPECT_EQ(plan.memo_slots, 1);
}

TEST_F(PlannerTest, EvaluatesWithoutFacts) {
  PlanBuilder builder(symbols_.lists);
  const int32_t root = Add(builder, "txn.amount > params.cap");
  const Plan plan = std::move(builder).Finish();
  AuthorizeRequest request;
  request.amount_minor = 20001;
  Facts facts;
  facts.request = &request;
  EvalContext context;
  context.facts = &facts;
  EXPECT_EQ(Evaluate(plan, root, context).i, 1);
  request.amount_minor = 20000;
  EXPECT_EQ(Evaluate(plan, root, context).i, 0);
}

}  // namespace
}  // namespace vigil::rules
