#include "engine/rules/evaluator.h"

#include <limits>

namespace vigil::rules {
namespace {

absl::string_view ChannelName(Channel channel) {
  switch (channel) {
    case Channel::kUnspecified:
      return "CHANNEL_UNSPECIFIED";
    case Channel::kQrCode:
      return "QR_CODE";
    case Channel::kNfc:
      return "NFC";
    case Channel::kInApp:
      return "IN_APP";
    case Channel::kAutoDebit:
      return "AUTO_DEBIT";
    case Channel::kOnline:
      return "ONLINE";
  }
  return "";
}

absl::string_view FundingName(FundingSource source) {
  switch (source) {
    case FundingSource::kUnspecified:
      return "FUNDING_SOURCE_UNSPECIFIED";
    case FundingSource::kBalance:
      return "BALANCE";
    case FundingSource::kDebitCard:
      return "DEBIT_CARD";
    case FundingSource::kCreditCard:
      return "CREDIT_CARD";
    case FundingSource::kCreditLine:
      return "CREDIT_LINE";
  }
  return "";
}

absl::string_view MandateStatusName(const MandateFacts& mandate) {
  switch (mandate.match) {
    case MandateMatch::kNone:
      return "NONE";
    case MandateMatch::kUnknownId:
      return "UNKNOWN_ID";
    case MandateMatch::kMerchantMismatch:
      return "MERCHANT_MISMATCH";
    case MandateMatch::kFound:
      break;
  }
  switch (mandate.status) {
    case MandateStatus::kActive:
    case MandateStatus::kDormant:
      return "ACTIVE";
    case MandateStatus::kPaused:
      return "PAUSED";
    case MandateStatus::kRevoked:
      return "REVOKED";
    case MandateStatus::kExpired:
      return "EXPIRED";
  }
  return "";
}

Value Int(int64_t i) { return Value{i, {}}; }

Value ReadField(Field field, const EvalContext& context) {
  const Facts& facts = *context.facts;
  const AuthorizeRequest& txn = *facts.request;
  const UserProfile* profile = facts.profile;
  const MandateFacts& mandate = facts.mandate;
  switch (field) {
    case Field::kTxnAmount:
      return Int(txn.amount_minor);
    case Field::kTxnCurrency:
      return Value{0, txn.currency};
    case Field::kTxnChannel:
      return Value{0, ChannelName(txn.channel)};
    case Field::kTxnMerchantId:
      return Value{0, txn.merchant_id};
    case Field::kTxnMerchantCategory:
      return Value{0, txn.merchant_category};
    case Field::kTxnDeviceId:
      return Value{0, txn.device_id};
    case Field::kTxnFundingSource:
      return Value{0, FundingName(txn.funding_source)};
    case Field::kUserAge:
      return Int(facts.age.value_or(-1));
    case Field::kUserElderly:
      return Int(facts.segment.elderly);
    case Field::kUserHasProfile:
      return Int(profile != nullptr);
    case Field::kUserRiskAssessmentCompleted:
      return Int(profile != nullptr && profile->risk_assessment_completed);
    case Field::kUserNotifyEveryTransaction:
      return Int(profile != nullptr && profile->notify_every_transaction);
    case Field::kUserOwnPerTxnLimit:
      return Int(profile ? profile->per_txn_limit_minor : 0);
    case Field::kUserOwnDailyLimit:
      return Int(profile ? profile->daily_limit_minor : 0);
    case Field::kUserPerTxnCap:
      return Int(facts.segment.per_txn_cap_minor);
    case Field::kUserDailyCap:
      return Int(facts.segment.daily_cap_minor);
    case Field::kUserApprovedToday:
      return Int(facts.user_day_used_minor);
    case Field::kUserStrongAuthFailures:
      return Int(facts.strong_auth_failures);
    case Field::kUserApprovalsSinceStrongAuth:
      return Int(facts.approvals_since_strong_auth);
    case Field::kUserAttemptsSinceStrongAuth:
      return Int(facts.attempts_since_strong_auth);
    case Field::kMandateStatus:
      return Value{0, MandateStatusName(mandate)};
    case Field::kMandateGeneral:
      return Int(mandate.general);
    case Field::kMandateIdle:
      return Int(mandate.idle_ms);
    case Field::kMandateDormant:
      return Int(mandate.match == MandateMatch::kFound && mandate.dormant);
    case Field::kMandatePerTxnLimit:
      return Int(mandate.per_txn_limit_minor);
    case Field::kMandateDailyLimit:
      return Int(mandate.daily_limit_minor);
    case Field::kMandateMonthlyLimit:
      return Int(mandate.monthly_limit_minor);
    case Field::kMandateApprovedToday:
      return Int(mandate.day_used_minor);
    case Field::kMandateApprovedThisMonth:
      return Int(mandate.month_used_minor);
    case Field::kDecisionApprove:
      return Int(context.decision == Decision::kApprove);
    case Field::kDecisionChallenge:
      return Int(context.decision == Decision::kChallenge);
    case Field::kDecisionDecline:
      return Int(context.decision == Decision::kDecline);
  }
  return Value{};
}

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
  return Int(node.window_sum ? reading.sum_minor : reading.count);
}

// An operand: leaves (constants, fields, windows) are read here as Compute reads them, saving
// the calls through Evaluate and Compute that make up most of an interpreter's cost; half of a
// plan's nodes are leaves, and they are never cached.
inline Value Operand(const Plan& plan, int32_t index, EvalContext& context) {
  const PlanNode& node = plan.nodes[index];
  switch (node.op) {
    case Op::kConst:
      return Value{node.value, node.text};
    case Op::kField:
      return ReadField(node.field, context);
    case Op::kWindow:
      return WindowValue(node, context);
    default:
      return Evaluate(plan, index, context);
  }
}

Value Compute(const Plan& plan, const PlanNode& node, EvalContext& context) {
  const int32_t* args = plan.args.data() + node.first_arg;
  switch (node.op) {
    case Op::kConst:
      return Value{node.value, node.text};
    case Op::kField:
      return ReadField(node.field, context);
    case Op::kWindow:
      return WindowValue(node, context);
    case Op::kAttribute:
      for (const auto& [key, value] : context.facts->request->attributes) {
        if (key == node.text) return Value{0, value};
      }
      return Value{};
    case Op::kNot:
      return Int(!Operand(plan, args[0], context).i);
    case Op::kNeg:
      return Int(Saturate(-static_cast<__int128>(Operand(plan, args[0], context).i)));
    case Op::kAnd:
      for (int32_t i = 0; i < node.arg_count; ++i) {
        if (!Operand(plan, args[i], context).i) return Int(0);
      }
      return Int(1);
    case Op::kOr:
      for (int32_t i = 0; i < node.arg_count; ++i) {
        if (Operand(plan, args[i], context).i) return Int(1);
      }
      return Int(0);
    case Op::kCompare:
      return Int(Compare(node.binary, Operand(plan, args[0], context),
                         Operand(plan, args[1], context), node.operand_type));
    case Op::kArith: {
      const __int128 a = Operand(plan, args[0], context).i;
      const __int128 b = Operand(plan, args[1], context).i;
      switch (node.binary) {
        case BinaryOp::kAdd:
          return Int(Saturate(a + b));
        case BinaryOp::kSub:
          return Int(Saturate(a - b));
        case BinaryOp::kMul:
          return Int(Saturate(a * b));
        default:
          return Int(0);
      }
    }
    case Op::kIn: {
      const Value item = Operand(plan, args[0], context);
      return Int(plan.lists[node.list].contains(item.s));
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
