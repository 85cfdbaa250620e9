#pragma once

// A Plan is the compiled, immutable form of every expression in a rule set: one array of nodes
// in which identical sub-expressions appear once (whichever rules or macros wrote them),
// constants are folded, and the operands of && and || are ordered cheapest first. Rules point
// at their root nodes. Evaluating it reads Facts through field slots and window indices and
// allocates nothing.
//
// Immutable after PlanBuilder::Finish(); thread-safe.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "engine/rules/checker.h"

namespace vigil::rules {

struct PlanNode {
  Op op = Op::kConst;
  Type type = Type::kBool;
  BinaryOp binary = BinaryOp::kEq;
  Type operand_type = Type::kInt;
  const FieldInfo* field = nullptr;  // kField
  bool window_sum = false;
  bool reads_decision = false;  // depends on decision.*: never cached
  int32_t window = -1;
  int32_t list = -1;
  int32_t first_arg = 0;  // into Plan::args
  int32_t arg_count = 0;
  int32_t memo_slot = -1;  // >= 0 for nodes used by more than one parent
  int32_t cost = 0;        // estimated evaluation cost, for ordering
  int64_t value = 0;
  std::string text;
};

struct Plan {
  std::vector<PlanNode> nodes;
  std::vector<int32_t> args;
  std::vector<absl::flat_hash_set<std::string>> lists;
  int32_t memo_slots = 0;

  // Approximate heap bytes held, for the benchmark report.
  size_t MemoryBytes() const;
};

// Builds a Plan from checked expressions. Thread-compatible.
class PlanBuilder {
 public:
  explicit PlanBuilder(const std::vector<std::vector<std::string>>& lists);

  // Adds `expr` and returns its root node.
  int32_t Add(const CheckedExpr& expr);
  // Marks nodes shared by several parents for caching and returns the plan.
  Plan Finish() &&;

 private:
  int32_t Intern(PlanNode node, std::vector<int32_t> args);
  int32_t Constant(Type type, int64_t value, std::string text);
  // Flattens nested && (or ||) into `out`.
  void Flatten(const CheckedExpr& expr, Op op, std::vector<int32_t>& out);

  Plan plan_;
  std::vector<std::string> keys_;  // structural key of each node, for sharing
  absl::flat_hash_map<std::string, int32_t> by_key_;
};

}  // namespace vigil::rules
