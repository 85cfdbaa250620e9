#include "engine/rules/checker.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/core/validation.h"

namespace vigil::rules {
namespace {

constexpr int kMaxMacroDepth = 16;

std::unique_ptr<CheckedExpr> Make(Op op, Type type, SourcePos pos) {
  auto node = std::make_unique<CheckedExpr>();
  node->op = op;
  node->type = type;
  node->pos = pos;
  return node;
}

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = up;
    }
  }
  return row[b.size()];
}

bool IsOrdered(Type type) {
  return type == Type::kInt || type == Type::kMoney || type == Type::kDuration;
}

}  // namespace

std::unique_ptr<CheckedExpr> CheckedExpr::Clone() const {
  auto copy = std::make_unique<CheckedExpr>();
  copy->op = op;
  copy->type = type;
  copy->pos = pos;
  copy->value = value;
  copy->text = text;
  copy->field = field;
  copy->window = window;
  copy->window_sum = window_sum;
  copy->list = list;
  copy->binary = binary;
  copy->operand_type = operand_type;
  for (const auto& arg : args) copy->args.push_back(arg->Clone());
  return copy;
}

int WindowCollector::IndexOf(Subject subject, WindowMetric metric, int64_t span_ms) {
  const int64_t bucket_ms = (span_ms + kBuckets - 1) / kBuckets;
  const WindowSpec spec{subject, metric, WindowShape{bucket_ms * kBuckets, kBuckets}};
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i] == spec) return static_cast<int>(i);
  }
  specs_.push_back(spec);
  return static_cast<int>(specs_.size()) - 1;
}

std::string Suggest(absl::string_view name, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, name.size() / 4) + 1;
  for (const std::string& candidate : candidates) {
    const size_t distance = EditDistance(name, candidate);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

std::nullptr_t Checker::Error(SourcePos pos, std::string message) {
  diagnostics_.push_back(
      Diagnostic{Severity::kError, file_, pos.line, pos.column, std::move(message)});
  return nullptr;
}

std::unique_ptr<CheckedExpr> Checker::Check(const Ast& ast, const std::string& file,
                                            Type expected) {
  file_ = file;
  std::unique_ptr<CheckedExpr> checked = Visit(ast);
  if (checked == nullptr) return nullptr;
  if (checked->type != expected) {
    return Error(ast.pos, absl::StrCat("expected a ", TypeName(expected), " expression, got ",
                                       TypeName(checked->type)));
  }
  return checked;
}

std::unique_ptr<CheckedExpr> Checker::Visit(const Ast& ast) {
  switch (ast.kind) {
    case AstKind::kInt: {
      auto node = Make(Op::kConst, Type::kInt, ast.pos);
      node->value = ast.int_value;
      return node;
    }
    case AstKind::kBool: {
      auto node = Make(Op::kConst, Type::kBool, ast.pos);
      node->value = ast.bool_value;
      return node;
    }
    case AstKind::kString: {
      auto node = Make(Op::kConst, Type::kString, ast.pos);
      node->text = ast.text;
      return node;
    }
    case AstKind::kDuration: {
      auto node = Make(Op::kConst, Type::kDuration, ast.pos);
      node->value = ast.int_value;
      return node;
    }
    case AstKind::kMoney: {
      if (ast.text != symbols_.currency) {
        return Error(ast.pos, absl::StrCat("money in ", ast.text,
                                           ", but the rule set's currency is ", symbols_.currency));
      }
      auto node = Make(Op::kConst, Type::kMoney, ast.pos);
      node->value = ast.int_value;
      return node;
    }
    case AstKind::kList: {
      // An inline list becomes an anonymous list of the rule set.
      std::vector<std::string> items;
      for (const auto& item : ast.args) items.push_back(item->text);
      symbols_.lists.push_back(std::move(items));
      auto node = Make(Op::kConst, Type::kList, ast.pos);
      node->list = static_cast<int>(symbols_.lists.size()) - 1;
      return node;
    }
    case AstKind::kName:
      return Name(ast);
    case AstKind::kCall:
      return Call(ast);
    case AstKind::kNot: {
      std::unique_ptr<CheckedExpr> operand = Visit(*ast.args[0]);
      if (operand == nullptr) return nullptr;
      if (operand->type != Type::kBool) {
        return Error(ast.pos, absl::StrCat("\"!\" needs a bool, got ", TypeName(operand->type)));
      }
      auto node = Make(Op::kNot, Type::kBool, ast.pos);
      node->args.push_back(std::move(operand));
      return node;
    }
    case AstKind::kNeg: {
      std::unique_ptr<CheckedExpr> operand = Visit(*ast.args[0]);
      if (operand == nullptr) return nullptr;
      if (!IsOrdered(operand->type)) {
        return Error(ast.pos, absl::StrCat("\"-\" needs a number, money or a duration, got ",
                                           TypeName(operand->type)));
      }
      auto node = Make(Op::kNeg, operand->type, ast.pos);
      node->args.push_back(std::move(operand));
      return node;
    }
    case AstKind::kBinary:
      return Binary(ast);
    case AstKind::kIn:
      return In(ast);
  }
  return Error(ast.pos, "unsupported expression");
}

std::unique_ptr<CheckedExpr> Checker::Name(const Ast& ast) {
  const std::string& name = ast.text;
  if (const FieldInfo* info = FindField(name); info != nullptr) {
    auto node = Make(Op::kField, info->type, ast.pos);
    node->field = info;
    return node;
  }
  if (absl::StartsWith(name, "params.")) {
    auto it = symbols_.params.find(name.substr(7));
    if (it == symbols_.params.end()) {
      std::vector<std::string> names;
      for (const auto& [param, _] : symbols_.params) names.push_back("params." + param);
      const std::string hint = Suggest(name, names);
      return Error(ast.pos, absl::StrCat("unknown param \"", name, "\"",
                                         hint.empty() ? "" : "; did you mean \"" + hint + "\"?"));
    }
    auto node = Make(Op::kConst, it->second.type, ast.pos);
    node->value = it->second.value;
    node->text = it->second.text;
    return node;
  }
  if (absl::StartsWith(name, "lists.")) {
    auto it = symbols_.list_index.find(name.substr(6));
    if (it == symbols_.list_index.end()) {
      std::vector<std::string> names;
      for (const auto& [list, _] : symbols_.list_index) names.push_back("lists." + list);
      const std::string hint = Suggest(name, names);
      return Error(ast.pos, absl::StrCat("unknown list \"", name, "\"",
                                         hint.empty() ? "" : "; did you mean \"" + hint + "\"?"));
    }
    auto node = Make(Op::kConst, Type::kList, ast.pos);
    node->list = it->second;
    return node;
  }
  if (auto it = symbols_.macros.find(name); it != symbols_.macros.end()) {
    Macro& macro = it->second;
    if (macro.checked == nullptr) {
      if (macro.checking) {
        return Error(ast.pos, absl::StrCat("macro \"", name, "\" refers to itself"));
      }
      if (macro_depth_ >= kMaxMacroDepth) {
        return Error(ast.pos, absl::StrCat("macros nested deeper than ", kMaxMacroDepth));
      }
      const std::string file = file_;
      macro.checking = true;
      ++macro_depth_;
      file_ = macro.file;
      macro.checked = Visit(*macro.ast);
      file_ = file;
      --macro_depth_;
      macro.checking = false;
      // Its body's errors are already reported.
      if (macro.checked == nullptr) return nullptr;
    }
    return macro.checked->Clone();
  }
  std::vector<std::string> names;
  for (const FieldInfo& info : AllFields()) names.emplace_back(info.name);
  for (const auto& [macro, _] : symbols_.macros) names.push_back(macro);
  const std::string hint = Suggest(name, names);
  return Error(
      ast.pos,
      absl::StrCat(
          "unknown name \"", name, "\"", hint.empty() ? "" : "; did you mean \"" + hint + "\"?",
          name.find('.') == std::string::npos ? "" : " (fields are listed in rules/README.md)"));
}

std::unique_ptr<CheckedExpr> Checker::Call(const Ast& ast) {
  const std::string& path = ast.text;
  if (path == "txn.attribute") {
    if (ast.args.size() != 1 || ast.args[0]->kind != AstKind::kString) {
      return Error(ast.pos,
                   "txn.attribute takes one string literal, as in "
                   "txn.attribute(\"risk_level\")");
    }
    auto node = Make(Op::kAttribute, Type::kString, ast.pos);
    node->text = ast.args[0]->text;
    return node;
  }
  const size_t dot = path.find('.');
  Subject subject;
  const VelocityFunction* function =
      dot == std::string::npos ? nullptr : FindVelocityFunction(path.substr(dot + 1));
  if (dot == std::string::npos || !ParseSubject(path.substr(0, dot), subject) ||
      function == nullptr) {
    std::vector<std::string> names;
    for (absl::string_view s : {"user", "device", "merchant", "mandate"}) {
      for (const VelocityFunction& f : AllVelocityFunctions()) {
        names.push_back(absl::StrCat(s, ".", f.method));
      }
    }
    names.push_back("txn.attribute");
    const std::string hint = Suggest(path, names);
    return Error(ast.pos, absl::StrCat("unknown function \"", path, "\"",
                                       hint.empty() ? "" : "; did you mean \"" + hint + "\"?"));
  }
  if (ast.args.size() != 1) {
    return Error(ast.pos, absl::StrCat(path, " takes one duration, as in ", path, "(1h)"));
  }
  std::unique_ptr<CheckedExpr> span = Visit(*ast.args[0]);
  if (span == nullptr) return nullptr;
  if (span->type != Type::kDuration || span->op != Op::kConst) {
    return Error(ast.args[0]->pos,
                 absl::StrCat(path, " takes a constant duration such as 10m, 1h or 7d, got ",
                              span->op == Op::kConst ? TypeName(span->type) : "an expression"));
  }
  if (span->value <= 0) return Error(ast.args[0]->pos, "a window must be longer than 0");
  if (function->metric == WindowMetric::kDistinctMerchants && subject == Subject::kMerchant) {
    return Error(ast.pos, "merchant.distinct_merchants is always 1; count users or devices");
  }
  auto node = Make(Op::kWindow, function->type, ast.pos);
  node->window = symbols_.windows.IndexOf(subject, function->metric, span->value);
  node->window_sum = function->sum;
  return node;
}

std::unique_ptr<CheckedExpr> Checker::Binary(const Ast& ast) {
  std::unique_ptr<CheckedExpr> left = Visit(*ast.args[0]);
  std::unique_ptr<CheckedExpr> right = left == nullptr ? nullptr : Visit(*ast.args[1]);
  if (left == nullptr || right == nullptr) return nullptr;
  const BinaryOp op = ast.op;
  const Type l = left->type;
  const Type r = right->type;
  auto mismatch = [&](absl::string_view what) {
    std::string hint;
    if ((l == Type::kMoney && r == Type::kInt) || (l == Type::kInt && r == Type::kMoney)) {
      hint = absl::StrCat("; write money with its currency, as in 200 ", symbols_.currency);
    } else if ((l == Type::kDuration && r == Type::kInt) ||
               (l == Type::kInt && r == Type::kDuration)) {
      hint = "; write durations with a unit, as in 90d or 10m";
    }
    return Error(ast.pos, absl::StrCat("\"", BinaryOpText(op), "\" ", what, ", got ", TypeName(l),
                                       " and ", TypeName(r), hint));
  };
  std::unique_ptr<CheckedExpr> node;
  switch (op) {
    case BinaryOp::kOr:
    case BinaryOp::kAnd:
      if (l != Type::kBool || r != Type::kBool) return mismatch("needs two bools");
      node = Make(op == BinaryOp::kOr ? Op::kOr : Op::kAnd, Type::kBool, ast.pos);
      break;
    case BinaryOp::kEq:
    case BinaryOp::kNe:
      if (l != r || l == Type::kList) return mismatch("needs two values of the same type");
      // "AUTO_DEBT" would never match: say so now rather than never firing.
      for (const auto* pair : {&left, &right}) {
        const CheckedExpr& field = **pair;
        const CheckedExpr& other = pair == &left ? *right : *left;
        if (field.op != Op::kField || other.op != Op::kConst) continue;
        absl::Span<const absl::string_view> values = field.field->values;
        if (values.empty() || std::find(values.begin(), values.end(), other.text) != values.end()) {
          continue;
        }
        return Error(other.pos, absl::StrCat("\"", other.text,
                                             "\" is not a value of this field; "
                                             "expected one of: ",
                                             absl::StrJoin(values, ", ")));
      }
      node = Make(Op::kCompare, Type::kBool, ast.pos);
      node->operand_type = l;
      break;
    case BinaryOp::kLt:
    case BinaryOp::kLe:
    case BinaryOp::kGt:
    case BinaryOp::kGe:
      if (l != r || !IsOrdered(l)) return mismatch("compares two numbers, amounts or durations");
      node = Make(Op::kCompare, Type::kBool, ast.pos);
      node->operand_type = l;
      break;
    case BinaryOp::kAdd:
    case BinaryOp::kSub:
      if (l != r || !IsOrdered(l)) return mismatch("needs two numbers, amounts or durations");
      node = Make(Op::kArith, l, ast.pos);
      break;
    case BinaryOp::kMul:
      if (l == Type::kInt && IsOrdered(r)) {
        node = Make(Op::kArith, r, ast.pos);
      } else if (r == Type::kInt && IsOrdered(l)) {
        node = Make(Op::kArith, l, ast.pos);
      } else {
        return mismatch("multiplies a number by a number, an amount or a duration");
      }
      break;
  }
  node->binary = op;
  node->args.push_back(std::move(left));
  node->args.push_back(std::move(right));
  return node;
}

std::unique_ptr<CheckedExpr> Checker::In(const Ast& ast) {
  std::unique_ptr<CheckedExpr> item = Visit(*ast.args[0]);
  std::unique_ptr<CheckedExpr> list = item == nullptr ? nullptr : Visit(*ast.args[1]);
  if (item == nullptr || list == nullptr) return nullptr;
  if (item->type != Type::kString) {
    return Error(ast.pos, absl::StrCat("\"in\" looks for a string, got ", TypeName(item->type)));
  }
  if (list->type != Type::kList) {
    return Error(ast.args[1]->pos, absl::StrCat("\"in\" needs a list (lists.NAME or [\"a\", "
                                                "\"b\"]), got ",
                                                TypeName(list->type)));
  }
  auto node = Make(Op::kIn, Type::kBool, ast.pos);
  node->list = list->list;
  node->args.push_back(std::move(item));
  return node;
}

}  // namespace vigil::rules
