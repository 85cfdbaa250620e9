#include "engine/rules/evaluator.h"

#include <limits>

namespace vigil::rules {
namespace {

// Saturating arithmetic: rule values come from requests, and an overflow must not wrap a huge
// amount into a small one.
int64_t Saturate(__int128 value) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  return value > kMax ? kMax : value < kMin ? kMin : static_cast<int64_t>(value);
}

bool Compare(BinaryOp op, const Value& a, const Value& b, Type type) {
  if (type == Type::kString) {
    return op == BinaryOp::kEq ? a.s == b.s : a.s != b.s;
  }
  switch (op) {
    case BinaryOp::kEq:
      return a.i == b.i;
    case BinaryOp::kNe:
      return a.i != b.i;
    case BinaryOp::kLt:
      return a.i < b.i;
    case BinaryOp::kLe:
      return a.i <= b.i;
    case BinaryOp::kGt:
      return a.i > b.i;
    case BinaryOp::kGe:
      return a.i >= b.i;
    default:
      return false;
  }
}

Value WindowValue(const PlanNode& node, const EvalContext& context) {
  const WindowReading& reading = context.facts->windows[node.window];
  return IntValue(node.window_sum ? reading.sum_minor : reading.count);
}

// Constants, fields and window readings: the nodes that read rather than compute. The Op enum
// lists them first.
constexpr bool IsLeaf(Op op) { return op <= Op::kWindow; }

// A leaf's value. REQUIRES: IsLeaf(node.op).
inline Value Leaf(const PlanNode& node, const EvalContext& context) {
  switch (node.op) {
    case Op::kField:
      return node.field->read(context);
    case Op::kWindow:
      return WindowValue(node, context);
    default:
      return Value{node.value, node.text};
  }
}

// An operand: leaves are read here, saving the calls through Evaluate and Compute that make up
// most of an interpreter's cost; half of a plan's nodes are leaves, and they are never cached.
inline Value Operand(const Plan& plan, int32_t index, EvalContext& context) {
  const PlanNode& node = plan.nodes[index];
  return IsLeaf(node.op) ? Leaf(node, context) : Evaluate(plan, index, context);
}

Value Compute(const Plan& plan, const PlanNode& node, EvalContext& context) {
  const int32_t* args = plan.args.data() + node.first_arg;
  switch (node.op) {
    case Op::kConst:
    case Op::kField:
    case Op::kWindow:
      return Leaf(node, context);
    case Op::kAttribute:
      for (const auto& [key, value] : context.facts->request->attributes) {
        if (key == node.text) return Value{0, value};
      }
      return Value{};
    case Op::kNot:
      return IntValue(!Operand(plan, args[0], context).i);
    case Op::kNeg:
      return IntValue(Saturate(-static_cast<__int128>(Operand(plan, args[0], context).i)));
    case Op::kAnd:
      for (int32_t i = 0; i < node.arg_count; ++i) {
        if (!Operand(plan, args[i], context).i) return IntValue(0);
      }
      return IntValue(1);
    case Op::kOr:
      for (int32_t i = 0; i < node.arg_count; ++i) {
        if (Operand(plan, args[i], context).i) return IntValue(1);
      }
      return IntValue(0);
    case Op::kCompare:
      return IntValue(Compare(node.binary, Operand(plan, args[0], context),
                              Operand(plan, args[1], context), node.operand_type));
    case Op::kArith: {
      const __int128 a = Operand(plan, args[0], context).i;
      const __int128 b = Operand(plan, args[1], context).i;
      switch (node.binary) {
        case BinaryOp::kAdd:
          return IntValue(Saturate(a + b));
        case BinaryOp::kSub:
          return IntValue(Saturate(a - b));
        case BinaryOp::kMul:
          return IntValue(Saturate(a * b));
        default:
          return IntValue(0);
      }
    }
    case Op::kIn: {
      const Value item = Operand(plan, args[0], context);
      return IntValue(plan.lists[node.list].contains(item.s));
    }
  }
  return Value{};
}

}  // namespace

Value Evaluate(const Plan& plan, int32_t index, EvalContext& context) {
  const PlanNode& node = plan.nodes[index];
  if (node.memo_slot < 0 || context.memo.empty()) return Compute(plan, node, context);
  if (context.memo_done[node.memo_slot]) return context.memo[node.memo_slot];
  const Value value = Compute(plan, node, context);
  context.memo[node.memo_slot] = value;
  context.memo_done[node.memo_slot] = 1;
  return value;
}

}  // namespace vigil::rules
