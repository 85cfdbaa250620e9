#pragma once

// The checker resolves every name in a parsed expression (fields, params, lists, macros,
// velocity functions) and gives every node a type, reporting each mistake with its
// file:line:column. Its output, a CheckedExpr tree, no longer refers to the source text.
//
// Thread-compatible.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/core/subject_windows.h"
#include "engine/rules/ast.h"
#include "engine/rules/diagnostic.h"
#include "engine/rules/fields.h"
#include "engine/rules/parser.h"

namespace vigil::rules {

// The leaves (kConst, kField, kWindow) come first: the evaluator tells them apart by order.
enum class Op : uint8_t {
  kConst,      // value / text
  kField,      // field
  kWindow,     // velocity reading `window` (count, or sum when window_sum)
  kAttribute,  // txn.attribute("text")
  kNot,
  kNeg,
  kAnd,      // n-ary after planning
  kOr,       // n-ary after planning
  kCompare,  // binary on operand_type
  kArith,    // binary
  kIn,       // args[0] in lists[list]
};

struct CheckedExpr {
  Op op = Op::kConst;
  Type type = Type::kBool;
  SourcePos pos;
  int64_t value = 0;                 // kConst of bool, int, money (minor), duration (ms)
  std::string text;                  // kConst of string; kAttribute key
  const FieldInfo* field = nullptr;  // kField
  int window = -1;
  bool window_sum = false;
  int list = -1;
  BinaryOp binary = BinaryOp::kEq;
  Type operand_type = Type::kInt;
  std::vector<std::unique_ptr<CheckedExpr>> args;

  std::unique_ptr<CheckedExpr> Clone() const;
};

// A named constant from `params`.
struct Param {
  Type type = Type::kInt;
  int64_t value = 0;
  std::string text;
};

// A named expression from `macros`, checked on first use.
struct Macro {
  std::unique_ptr<Ast> ast;
  std::string file;
  SourcePos pos;
  bool checking = false;  // set while its body is checked, to catch cycles
  std::unique_ptr<CheckedExpr> checked;
};

// The window specs that checked expressions read, without duplicates.
class WindowCollector {
 public:
  // The index of the window counting `metric` of `subject` over `span_ms`.
  int IndexOf(Subject subject, WindowMetric metric, int64_t span_ms);
  const std::vector<WindowSpec>& specs() const { return specs_; }

  // Buckets per window: a reading errs by at most 1/kBuckets of the span, towards counting.
  static constexpr int kBuckets = 12;

 private:
  std::vector<WindowSpec> specs_;
};

// Everything names resolve to. Lists are numbered; inline lists in expressions are appended.
struct SymbolTable {
  std::string currency;
  std::map<std::string, Param> params;
  std::map<std::string, int> list_index;
  std::vector<std::vector<std::string>> lists;
  std::map<std::string, Macro> macros;
  WindowCollector windows;
};

class Checker {
 public:
  Checker(SymbolTable& symbols, std::vector<Diagnostic>& diagnostics)
      : symbols_(symbols), diagnostics_(diagnostics) {}

  // Checks `ast` (from `file`) and requires its type to be `expected`. nullptr after reporting
  // at least one error.
  std::unique_ptr<CheckedExpr> Check(const Ast& ast, const std::string& file, Type expected);

 private:
  std::unique_ptr<CheckedExpr> Visit(const Ast& ast);
  std::unique_ptr<CheckedExpr> Name(const Ast& ast);
  std::unique_ptr<CheckedExpr> Call(const Ast& ast);
  std::unique_ptr<CheckedExpr> Binary(const Ast& ast);
  std::unique_ptr<CheckedExpr> In(const Ast& ast);
  std::nullptr_t Error(SourcePos pos, std::string message);

  SymbolTable& symbols_;
  std::vector<Diagnostic>& diagnostics_;
  std::string file_;
  int macro_depth_ = 0;
};

// The closest name in `candidates` to `name`, or "" if none is close.
std::string Suggest(absl::string_view name, const std::vector<std::string>& candidates);

}  // namespace vigil::rules
