#pragma once

// The parsed form of one rule expression, before any name is resolved. Every node carries the
// source position it came from, so that later stages can report file:line:column.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vigil::rules {

struct SourcePos {
  int line = 0;    // 1-based
  int column = 0;  // 1-based
};

enum class AstKind {
  kInt,       // 42
  kString,    // "AUTO_DEBIT"
  kBool,      // true
  kMoney,     // 200 CNY, 199.99 CNY
  kDuration,  // 90d, 3h, 10m, 30s
  kName,      // txn.amount, params.cap, lists.games, elderly_user (a dotted path)
  kCall,      // user.approvals(1h): `name` is the dotted path, `args` the arguments
  kNot,       // !x
  kNeg,       // -x
  kBinary,    // x op y
  kIn,        // x in y
  kList,      // ["5816", "5815"]: a list of string literals
};

enum class BinaryOp { kOr, kAnd, kEq, kNe, kLt, kLe, kGt, kGe, kAdd, kSub, kMul };

struct Ast {
  AstKind kind;
  SourcePos pos;
  int64_t int_value = 0;  // kInt, kMoney (minor units), kDuration (ms)
  bool bool_value = false;
  std::string text;  // kString value, kName/kCall path, kMoney currency
  BinaryOp op = BinaryOp::kOr;
  std::vector<std::unique_ptr<Ast>> args;  // operands, in order
};

const char* BinaryOpText(BinaryOp op);

}  // namespace vigil::rules
