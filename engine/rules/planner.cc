#include "engine/rules/planner.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/rules/evaluator.h"

namespace vigil::rules {
namespace {

// Rough relative costs: a constant is free, a field read a load, a window reading a load from
// a small array, a list lookup a hash.
int32_t LeafCost(Op op) {
  switch (op) {
    case Op::kConst:
      return 0;
    case Op::kField:
      return 1;
    case Op::kWindow:
      return 2;
    case Op::kAttribute:
      return 4;
    case Op::kIn:
      return 5;
    default:
      return 1;
  }
}

}  // namespace

size_t Plan::MemoryBytes() const {
  size_t bytes = nodes.capacity() * sizeof(PlanNode) + args.capacity() * sizeof(int32_t);
  for (const PlanNode& node : nodes) bytes += node.text.capacity() > 15 ? node.text.capacity() : 0;
  for (const auto& list : lists) {
    bytes += list.capacity() * (sizeof(std::string) + 1);
    for (const std::string& item : list) bytes += item.capacity() > 15 ? item.capacity() : 0;
  }
  return bytes;
}

PlanBuilder::PlanBuilder(const std::vector<std::vector<std::string>>& lists) {
  for (const auto& items : lists) plan_.lists.emplace_back(items.begin(), items.end());
}

int32_t PlanBuilder::Intern(PlanNode node, std::vector<int32_t> args) {
  std::string key = absl::StrCat(
      static_cast<int>(node.op), ":", static_cast<int>(node.type), ":",
      static_cast<int>(node.binary), ":", static_cast<int>(node.operand_type), ":",
      (node.field != nullptr ? node.field->name : ""), ":", node.window_sum, ":", node.window, ":",
      node.list, ":", node.value, ":", node.text.size(), ":", node.text, "(");
  for (int32_t arg : args) absl::StrAppend(&key, arg, ",");
  if (auto it = by_key_.find(key); it != by_key_.end()) return it->second;

  node.cost = LeafCost(node.op);
  node.reads_decision = node.op == Op::kField && node.field->reads_decision;
  for (int32_t arg : args) {
    node.cost += plan_.nodes[arg].cost;
    node.reads_decision = node.reads_decision || plan_.nodes[arg].reads_decision;
  }
  node.first_arg = static_cast<int32_t>(plan_.args.size());
  node.arg_count = static_cast<int32_t>(args.size());
  plan_.args.insert(plan_.args.end(), args.begin(), args.end());

  // Fold: an operation whose operands are all constants is a constant.
  bool constant = node.op != Op::kConst && node.op != Op::kField && node.op != Op::kWindow &&
                  node.op != Op::kAttribute && !args.empty();
  for (int32_t arg : args) constant = constant && plan_.nodes[arg].op == Op::kConst;
  if (constant) {
    plan_.nodes.push_back(node);
    EvalContext context;
    const Value value = Evaluate(plan_, static_cast<int32_t>(plan_.nodes.size()) - 1, context);
    std::string text(value.s);
    plan_.nodes.pop_back();
    plan_.args.resize(node.first_arg);
    const int32_t folded = Constant(node.type, value.i, std::move(text));
    by_key_.emplace(std::move(key), folded);
    return folded;
  }

  plan_.nodes.push_back(std::move(node));
  const int32_t index = static_cast<int32_t>(plan_.nodes.size()) - 1;
  by_key_.emplace(std::move(key), index);
  return index;
}

int32_t PlanBuilder::Constant(Type type, int64_t value, std::string text) {
  PlanNode node;
  node.op = Op::kConst;
  node.type = type;
  node.value = value;
  node.text = std::move(text);
  return Intern(std::move(node), {});
}

void PlanBuilder::Flatten(const CheckedExpr& expr, Op op, std::vector<int32_t>& out) {
  if (expr.op == op) {
    for (const auto& arg : expr.args) Flatten(*arg, op, out);
    return;
  }
  out.push_back(Add(expr));
}

int32_t PlanBuilder::Add(const CheckedExpr& expr) {
  if (expr.op == Op::kAnd || expr.op == Op::kOr) {
    std::vector<int32_t> operands;
    Flatten(expr, expr.op, operands);
    // Short-circuit constants away: true && x is x; false && x is false (dually for ||).
    const int64_t absorbing = expr.op == Op::kAnd ? 0 : 1;
    std::vector<int32_t> kept;
    for (int32_t operand : operands) {
      const PlanNode& node = plan_.nodes[operand];
      if (node.op != Op::kConst) {
        if (std::find(kept.begin(), kept.end(), operand) == kept.end()) kept.push_back(operand);
        continue;
      }
      if ((node.value != 0) == (absorbing != 0)) return Constant(Type::kBool, absorbing, "");
    }
    if (kept.empty()) return Constant(Type::kBool, 1 - absorbing, "");
    if (kept.size() == 1) return kept[0];
    // Cheapest first, so that most decisions are settled by a field or two. Evaluation has no
    // side effects, so any order gives the same answer.
    std::stable_sort(kept.begin(), kept.end(), [this](int32_t a, int32_t b) {
      return plan_.nodes[a].cost < plan_.nodes[b].cost;
    });
    PlanNode node;
    node.op = expr.op;
    node.type = Type::kBool;
    return Intern(std::move(node), std::move(kept));
  }
  std::vector<int32_t> args;
  args.reserve(expr.args.size());
  for (const auto& arg : expr.args) args.push_back(Add(*arg));
  PlanNode node;
  node.op = expr.op;
  node.type = expr.type;
  node.binary = expr.binary;
  node.operand_type = expr.operand_type;
  node.field = expr.field;
  node.window_sum = expr.window_sum;
  node.window = expr.window;
  node.list = expr.list;
  node.value = expr.value;
  node.text = expr.text;
  return Intern(std::move(node), std::move(args));
}

Plan PlanBuilder::Finish() && {
  std::vector<int32_t> parents(plan_.nodes.size(), 0);
  for (int32_t arg : plan_.args) {
    if (arg >= 0 && static_cast<size_t>(arg) < parents.size()) ++parents[arg];
  }
  for (size_t i = 0; i < plan_.nodes.size(); ++i) {
    PlanNode& node = plan_.nodes[i];
    // Caching pays only for shared nodes that do work; decision.* changes between phases.
    if (parents[i] > 1 && node.op != Op::kConst && node.op != Op::kField &&
        node.op != Op::kWindow && !node.reads_decision) {
      node.memo_slot = plan_.memo_slots++;
    }
  }
  return std::move(plan_);
}

}  // namespace vigil::rules
