#include "engine/rules/parser.h"

#include <cctype>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/core/money.h"

namespace vigil::rules {

const char* BinaryOpText(BinaryOp op) {
  switch (op) {
    case BinaryOp::kOr:
      return "||";
    case BinaryOp::kAnd:
      return "&&";
    case BinaryOp::kEq:
      return "==";
    case BinaryOp::kNe:
      return "!=";
    case BinaryOp::kLt:
      return "<";
    case BinaryOp::kLe:
      return "<=";
    case BinaryOp::kGt:
      return ">";
    case BinaryOp::kGe:
      return ">=";
    case BinaryOp::kAdd:
      return "+";
    case BinaryOp::kSub:
      return "-";
    case BinaryOp::kMul:
      return "*";
  }
  return "?";
}

namespace {

enum class Tok {
  kEnd,
  kInt,
  kMoney,
  kDuration,
  kString,
  kIdent,
  kTrue,
  kFalse,
  kIn,
  kNot,
  kOrOr,
  kAndAnd,
  kBang,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kPlus,
  kMinus,
  kStar,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kComma,
  kDot,
};

struct Token {
  Tok kind = Tok::kEnd;
  size_t offset = 0;
  int64_t number = 0;  // kInt; kMoney minor units; kDuration ms
  std::string text;    // kIdent, kString; kMoney currency
};

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A recursive-descent parser over a token stream produced on demand.
class Parser {
 public:
  Parser(absl::string_view text, const TextOrigin& origin, std::vector<Diagnostic>& diagnostics)
      : text_(text), origin_(origin), diagnostics_(diagnostics) {}

  std::unique_ptr<Ast> ParseAll() {
    if (!Advance()) return nullptr;
    std::unique_ptr<Ast> expr = Expr(0);
    if (expr == nullptr) return nullptr;
    if (token_.kind != Tok::kEnd) return Fail(token_.offset, "expected an operator or the end");
    return expr;
  }

 private:
  SourcePos PosOf(size_t offset) const {
    int line = origin_.start.line;
    size_t line_start = 0;
    for (size_t i = 0; i < offset && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
    }
    const int base =
        line == origin_.start.line ? origin_.start.column : origin_.continuation_column;
    return SourcePos{line, base + static_cast<int>(offset - line_start)};
  }

  std::nullptr_t Fail(size_t offset, absl::string_view message) {
    if (!failed_) {
      const SourcePos pos = PosOf(offset);
      diagnostics_.push_back(
          Diagnostic{Severity::kError, origin_.file, pos.line, pos.column, std::string(message)});
    }
    failed_ = true;
    return nullptr;
  }

  // Reads the next token into token_; false (with a diagnostic) on a lexical error.
  bool Advance() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    token_ = Token{};
    token_.offset = pos_;
    if (pos_ >= text_.size()) return true;
    const char c = text_[pos_];
    auto two = [&](char next) { return pos_ + 1 < text_.size() && text_[pos_ + 1] == next; };
    auto single = [&](Tok kind, size_t length) {
      token_.kind = kind;
      pos_ += length;
      return true;
    };
    if (IsDigit(c)) return Number();
    if (IsIdentStart(c)) {
      const size_t start = pos_;
      while (pos_ < text_.size() && IsIdentChar(text_[pos_])) ++pos_;
      token_.text = std::string(text_.substr(start, pos_ - start));
      token_.kind = token_.text == "true"    ? Tok::kTrue
                    : token_.text == "false" ? Tok::kFalse
                    : token_.text == "in"    ? Tok::kIn
                    : token_.text == "not"   ? Tok::kNot
                                             : Tok::kIdent;
      return true;
    }
    if (c == '"' || c == '\'') return String(c);
    switch (c) {
      case '|':
        if (two('|')) return single(Tok::kOrOr, 2);
        break;
      case '&':
        if (two('&')) return single(Tok::kAndAnd, 2);
        break;
      case '=':
        if (two('=')) return single(Tok::kEq, 2);
        break;
      case '!':
        return two('=') ? single(Tok::kNe, 2) : single(Tok::kBang, 1);
      case '<':
        return two('=') ? single(Tok::kLe, 2) : single(Tok::kLt, 1);
      case '>':
        return two('=') ? single(Tok::kGe, 2) : single(Tok::kGt, 1);
      case '+':
        return single(Tok::kPlus, 1);
      case '-':
        return single(Tok::kMinus, 1);
      case '*':
        return single(Tok::kStar, 1);
      case '(':
        return single(Tok::kLParen, 1);
      case ')':
        return single(Tok::kRParen, 1);
      case '[':
        return single(Tok::kLBracket, 1);
      case ']':
        return single(Tok::kRBracket, 1);
      case ',':
        return single(Tok::kComma, 1);
      case '.':
        return single(Tok::kDot, 1);
      default:
        break;
    }
    Fail(pos_, absl::StrCat("unexpected character '", absl::string_view(&c, 1), "'"));
    return false;
  }

  // INT, MONEY (number then a currency code) or DURATION (number then a unit letter).
  bool Number() {
    const size_t start = pos_;
    while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
    }
    const absl::string_view digits = text_.substr(start, pos_ - start);
    // A unit letter glued to the number: a duration.
    if (pos_ < text_.size() && IsIdentStart(text_[pos_])) {
      const size_t unit_start = pos_;
      while (pos_ < text_.size() && IsIdentChar(text_[pos_])) ++pos_;
      const absl::string_view unit = text_.substr(unit_start, pos_ - unit_start);
      int64_t unit_ms = 0;
      if (unit == "s") unit_ms = 1000;
      if (unit == "m") unit_ms = 60 * 1000;
      if (unit == "h") unit_ms = 3600 * 1000;
      if (unit == "d") unit_ms = 24 * 3600 * 1000;
      int64_t count = 0;
      if (unit_ms == 0) {
        Fail(unit_start, absl::StrCat("unknown duration unit \"", unit,
                                      "\"; expected s, m, h or d (as in 90d, 3h, 10m, 30s)"));
        return false;
      }
      if (!absl::SimpleAtoi(digits, &count) || count > (int64_t{1} << 40)) {
        Fail(start, "a duration is a whole number followed by s, m, h or d");
        return false;
      }
      token_.kind = Tok::kDuration;
      token_.number = count * unit_ms;
      return true;
    }
    // A currency code after white space: money.
    size_t look = pos_;
    while (look < text_.size() && text_[look] == ' ') ++look;
    if (look + 3 <= text_.size() && look > pos_) {
      const absl::string_view code = text_.substr(look, 3);
      const bool upper = std::isupper(static_cast<unsigned char>(code[0])) &&
                         std::isupper(static_cast<unsigned char>(code[1])) &&
                         std::isupper(static_cast<unsigned char>(code[2]));
      const bool ends = look + 3 == text_.size() || !IsIdentChar(text_[look + 3]);
      if (upper && ends) {
        absl::StatusOr<int64_t> minor = ParseAmount(digits, code);
        if (!minor.ok()) {
          Fail(start, minor.status().message());
          return false;
        }
        pos_ = look + 3;
        token_.kind = Tok::kMoney;
        token_.number = *minor;
        token_.text = std::string(code);
        return true;
      }
    }
    if (digits.find('.') != absl::string_view::npos) {
      Fail(start, "a number with decimals must be money with its currency, as in 199.99 CNY");
      return false;
    }
    if (!absl::SimpleAtoi(digits, &token_.number)) {
      Fail(start, "number too large");
      return false;
    }
    token_.kind = Tok::kInt;
    return true;
  }

  bool String(char quote) {
    const size_t start = pos_++;
    std::string value;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
      value.push_back(text_[pos_++]);
    }
    if (pos_ >= text_.size()) {
      Fail(start, "unterminated string");
      return false;
    }
    ++pos_;
    token_.kind = Tok::kString;
    token_.text = std::move(value);
    return true;
  }

  std::unique_ptr<Ast> Node(AstKind kind, size_t offset) {
    auto node = std::make_unique<Ast>();
    node->kind = kind;
    node->pos = PosOf(offset);
    return node;
  }

  std::unique_ptr<Ast> Binary(BinaryOp op, size_t offset, std::unique_ptr<Ast> left,
                              std::unique_ptr<Ast> right) {
    if (left == nullptr || right == nullptr) return nullptr;
    auto node = Node(AstKind::kBinary, offset);
    node->op = op;
    node->args.push_back(std::move(left));
    node->args.push_back(std::move(right));
    return node;
  }

  bool Deeper(int depth) {
    if (depth < kMaxDepth) return true;
    Fail(token_.offset, absl::StrCat("expression nested deeper than ", kMaxDepth, " levels"));
    return false;
  }

  std::unique_ptr<Ast> Expr(int depth) {
    if (!Deeper(depth)) return nullptr;
    std::unique_ptr<Ast> left = And(depth + 1);
    while (left != nullptr && token_.kind == Tok::kOrOr) {
      const size_t at = token_.offset;
      if (!Advance()) return nullptr;
      left = Binary(BinaryOp::kOr, at, std::move(left), And(depth + 1));
    }
    return left;
  }

  std::unique_ptr<Ast> And(int depth) {
    std::unique_ptr<Ast> left = Not(depth + 1);
    while (left != nullptr && token_.kind == Tok::kAndAnd) {
      const size_t at = token_.offset;
      if (!Advance()) return nullptr;
      left = Binary(BinaryOp::kAnd, at, std::move(left), Not(depth + 1));
    }
    return left;
  }

  std::unique_ptr<Ast> Not(int depth) {
    if (!Deeper(depth)) return nullptr;
    if (token_.kind != Tok::kBang) return Comparison(depth + 1);
    const size_t at = token_.offset;
    if (!Advance()) return nullptr;
    std::unique_ptr<Ast> operand = Not(depth + 1);
    if (operand == nullptr) return nullptr;
    auto node = Node(AstKind::kNot, at);
    node->args.push_back(std::move(operand));
    return node;
  }

  std::unique_ptr<Ast> Comparison(int depth) {
    std::unique_ptr<Ast> left = Sum(depth + 1);
    if (left == nullptr) return nullptr;
    const size_t at = token_.offset;
    BinaryOp op;
    switch (token_.kind) {
      case Tok::kEq:
        op = BinaryOp::kEq;
        break;
      case Tok::kNe:
        op = BinaryOp::kNe;
        break;
      case Tok::kLt:
        op = BinaryOp::kLt;
        break;
      case Tok::kLe:
        op = BinaryOp::kLe;
        break;
      case Tok::kGt:
        op = BinaryOp::kGt;
        break;
      case Tok::kGe:
        op = BinaryOp::kGe;
        break;
      case Tok::kIn:
      case Tok::kNot: {
        const bool negated = token_.kind == Tok::kNot;
        if (!Advance()) return nullptr;
        if (negated) {
          if (token_.kind != Tok::kIn) return Fail(token_.offset, "expected \"in\" after \"not\"");
          if (!Advance()) return nullptr;
        }
        std::unique_ptr<Ast> list = Sum(depth + 1);
        if (list == nullptr) return nullptr;
        auto in = Node(AstKind::kIn, at);
        in->args.push_back(std::move(left));
        in->args.push_back(std::move(list));
        if (!negated) return in;
        auto node = Node(AstKind::kNot, at);
        node->args.push_back(std::move(in));
        return node;
      }
      default:
        return left;
    }
    if (!Advance()) return nullptr;
    return Binary(op, at, std::move(left), Sum(depth + 1));
  }

  std::unique_ptr<Ast> Sum(int depth) {
    std::unique_ptr<Ast> left = Product(depth + 1);
    while (left != nullptr && (token_.kind == Tok::kPlus || token_.kind == Tok::kMinus)) {
      const BinaryOp op = token_.kind == Tok::kPlus ? BinaryOp::kAdd : BinaryOp::kSub;
      const size_t at = token_.offset;
      if (!Advance()) return nullptr;
      left = Binary(op, at, std::move(left), Product(depth + 1));
    }
    return left;
  }

  std::unique_ptr<Ast> Product(int depth) {
    std::unique_ptr<Ast> left = Unary(depth + 1);
    while (left != nullptr && token_.kind == Tok::kStar) {
      const size_t at = token_.offset;
      if (!Advance()) return nullptr;
      left = Binary(BinaryOp::kMul, at, std::move(left), Unary(depth + 1));
    }
    return left;
  }

  std::unique_ptr<Ast> Unary(int depth) {
    if (!Deeper(depth)) return nullptr;
    if (token_.kind != Tok::kMinus) return Primary(depth + 1);
    const size_t at = token_.offset;
    if (!Advance()) return nullptr;
    std::unique_ptr<Ast> operand = Unary(depth + 1);
    if (operand == nullptr) return nullptr;
    auto node = Node(AstKind::kNeg, at);
    node->args.push_back(std::move(operand));
    return node;
  }

  std::unique_ptr<Ast> Primary(int depth) {
    if (!Deeper(depth)) return nullptr;
    const Token token = token_;
    switch (token.kind) {
      case Tok::kInt:
      case Tok::kMoney:
      case Tok::kDuration: {
        auto node = Node(token.kind == Tok::kInt     ? AstKind::kInt
                         : token.kind == Tok::kMoney ? AstKind::kMoney
                                                     : AstKind::kDuration,
                         token.offset);
        node->int_value = token.number;
        node->text = token.text;
        return Advance() ? std::move(node) : nullptr;
      }
      case Tok::kString: {
        auto node = Node(AstKind::kString, token.offset);
        node->text = token.text;
        return Advance() ? std::move(node) : nullptr;
      }
      case Tok::kTrue:
      case Tok::kFalse: {
        auto node = Node(AstKind::kBool, token.offset);
        node->bool_value = token.kind == Tok::kTrue;
        return Advance() ? std::move(node) : nullptr;
      }
      case Tok::kLParen: {
        if (!Advance()) return nullptr;
        std::unique_ptr<Ast> inner = Expr(depth + 1);
        if (inner == nullptr) return nullptr;
        if (token_.kind != Tok::kRParen) return Fail(token_.offset, "expected \")\"");
        return Advance() ? std::move(inner) : nullptr;
      }
      case Tok::kLBracket:
        return List();
      case Tok::kIdent:
        return PathOrCall(depth);
      case Tok::kEnd:
        return Fail(token.offset, "expected a value, a name or \"(\", found the end");
      default:
        return Fail(token.offset, "expected a value, a name or \"(\"");
    }
  }

  std::unique_ptr<Ast> List() {
    auto node = Node(AstKind::kList, token_.offset);
    if (!Advance()) return nullptr;
    while (token_.kind != Tok::kRBracket) {
      if (token_.kind != Tok::kString) return Fail(token_.offset, "a list holds strings only");
      auto item = Node(AstKind::kString, token_.offset);
      item->text = token_.text;
      node->args.push_back(std::move(item));
      if (!Advance()) return nullptr;
      if (token_.kind == Tok::kComma) {
        if (!Advance()) return nullptr;
      } else if (token_.kind != Tok::kRBracket) {
        return Fail(token_.offset, "expected \",\" or \"]\"");
      }
    }
    return Advance() ? std::move(node) : nullptr;
  }

  std::unique_ptr<Ast> PathOrCall(int depth) {
    auto node = Node(AstKind::kName, token_.offset);
    node->text = token_.text;
    if (!Advance()) return nullptr;
    while (token_.kind == Tok::kDot) {
      if (!Advance()) return nullptr;
      if (token_.kind != Tok::kIdent) return Fail(token_.offset, "expected a name after \".\"");
      absl::StrAppend(&node->text, ".", token_.text);
      if (!Advance()) return nullptr;
    }
    if (token_.kind != Tok::kLParen) return node;
    node->kind = AstKind::kCall;
    if (!Advance()) return nullptr;
    while (token_.kind != Tok::kRParen) {
      std::unique_ptr<Ast> arg = Expr(depth + 1);
      if (arg == nullptr) return nullptr;
      node->args.push_back(std::move(arg));
      if (token_.kind == Tok::kComma) {
        if (!Advance()) return nullptr;
      } else if (token_.kind != Tok::kRParen) {
        return Fail(token_.offset, "expected \",\" or \")\"");
      }
    }
    return Advance() ? std::move(node) : nullptr;
  }

  absl::string_view text_;
  const TextOrigin& origin_;
  std::vector<Diagnostic>& diagnostics_;
  size_t pos_ = 0;
  Token token_;
  bool failed_ = false;
};

}  // namespace

std::unique_ptr<Ast> ParseExpression(absl::string_view text, const TextOrigin& origin,
                                     std::vector<Diagnostic>& diagnostics) {
  Parser parser(text, origin, diagnostics);
  return parser.ParseAll();
}

}  // namespace vigil::rules
