#include "engine/rules/compiler.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "engine/core/calendar.h"
#include "engine/core/interned.h"
#include "engine/core/stable_hash.h"
#include "engine/core/validation.h"
#include "engine/rules/checker.h"
#include "engine/rules/parser.h"
#include "yaml-cpp/yaml.h"

namespace vigil::rules {
namespace {

constexpr absl::string_view kReservedRoots[] = {"txn",   "user",   "mandate",  "decision", "params",
                                                "lists", "device", "merchant", "settings", "true",
                                                "false", "in",     "not"};

bool IsIdentifier(absl::string_view name) {
  if (name.empty() || !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

bool IsRuleId(absl::string_view id) {
  return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) ||
           std::isdigit(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

bool IsReasonCode(absl::string_view code) {
  return !code.empty() && std::isupper(static_cast<unsigned char>(code[0])) &&
         std::all_of(code.begin(), code.end(), [](char c) {
           return std::isupper(static_cast<unsigned char>(c)) ||
                  std::isdigit(static_cast<unsigned char>(c)) || c == '_';
         });
}

struct Loaded {
  const RuleFile* file;
  YAML::Node root;
  std::vector<std::string> lines;
};

class Compiler {
 public:
  Compiler(const std::vector<RuleFile>& files, const ListFileReader& lists)
      : files_(files), list_reader_(lists), checker_(symbols_, diagnostics_) {}

  CompileOutput Run() {
    for (const RuleFile& file : files_) Load(file);
    for (const Loaded& loaded : loaded_) {
      if (loaded.root["settings"]) ReadSettings(loaded, loaded.root["settings"]);
    }
    if (!has_settings_ && !loaded_.empty() && !HasErrors(diagnostics_)) {
      diagnostics_.push_back(Diagnostic{Severity::kError, loaded_.front().file->path, 1, 1,
                                        "no file of the rule set has a \"settings\" section"});
    }
    symbols_.currency = settings_.currency;
    for (const Loaded& loaded : loaded_) {
      if (loaded.root["params"]) ReadParams(loaded, loaded.root["params"]);
      if (loaded.root["lists"]) ReadLists(loaded, loaded.root["lists"]);
      if (loaded.root["macros"]) ReadMacros(loaded, loaded.root["macros"]);
    }
    PlanInputs inputs;
    if (notify_ast_ != nullptr) {
      inputs.notify = checker_.Check(*notify_ast_, notify_file_, Type::kBool);
    }
    for (const Loaded& loaded : loaded_) {
      if (loaded.root["rules"]) ReadRules(loaded, loaded.root["rules"], inputs);
    }
    for (const auto& [name, macro] : symbols_.macros) {
      if (macro.checked == nullptr && !macro.checking) {
        diagnostics_.push_back(Diagnostic{Severity::kWarning, macro.file, macro.pos.line,
                                          macro.pos.column,
                                          absl::StrCat("macro \"", name, "\" is never used")});
      }
    }
    CompileOutput output;
    if (!HasErrors(diagnostics_)) output.rule_set = Build(inputs);
    std::stable_sort(
        diagnostics_.begin(), diagnostics_.end(), [](const Diagnostic& a, const Diagnostic& b) {
          return std::tie(a.file, a.line, a.column) < std::tie(b.file, b.line, b.column);
        });
    output.diagnostics = std::move(diagnostics_);
    return output;
  }

 private:
  struct PendingRule {
    CompiledRule rule;
    std::unique_ptr<CheckedExpr> when;
  };
  struct PlanInputs {
    std::unique_ptr<CheckedExpr> notify;
    std::vector<PendingRule> rules;
  };

  void Error(const std::string& file, const YAML::Mark& mark, std::string message) {
    diagnostics_.push_back(
        Diagnostic{Severity::kError, file, mark.line + 1, mark.column + 1, std::move(message)});
  }

  void Load(const RuleFile& file) {
    version_input_ +=
        absl::StrCat(file.path.size(), ":", file.path, file.text.size(), ":", file.text);
    Loaded loaded;
    loaded.file = &file;
    loaded.lines = absl::StrSplit(file.text, '\n');
    try {
      loaded.root = YAML::Load(file.text);
    } catch (const YAML::Exception& e) {
      Error(file.path, e.mark, e.msg);
      return;
    }
    if (loaded.root.IsNull()) return;
    if (!loaded.root.IsMap()) {
      Error(file.path, loaded.root.Mark(),
            "a rule file is a mapping with some of: settings, "
            "params, lists, macros, rules");
      return;
    }
    for (const auto& entry : loaded.root) {
      const std::string key = entry.first.Scalar();
      if (key != "settings" && key != "params" && key != "lists" && key != "macros" &&
          key != "rules") {
        Error(file.path, entry.first.Mark(),
              absl::StrCat("unknown section \"", key,
                           "\"; expected settings, params, lists, macros or rules"));
      }
    }
    loaded_.push_back(std::move(loaded));
  }

  // Where a scalar's text starts in its file, for diagnostics inside expressions.
  TextOrigin OriginOf(const Loaded& loaded, const YAML::Node& node) const {
    const YAML::Mark mark = node.Mark();
    TextOrigin origin;
    origin.file = loaded.file->path;
    origin.start = SourcePos{mark.line + 1, mark.column + 1};
    origin.continuation_column = mark.column + 1;
    const size_t line = static_cast<size_t>(mark.line);
    if (line >= loaded.lines.size()) return origin;
    const std::string& text = loaded.lines[line];
    const char first = static_cast<size_t>(mark.column) < text.size() ? text[mark.column] : ' ';
    if (first == '"' || first == '\'') {
      origin.start.column += 1;
    } else if (first == '|' || first == '>') {
      // A block scalar: its text starts on the next line, at that line's indentation.
      for (size_t next = line + 1; next < loaded.lines.size(); ++next) {
        const std::string& content = loaded.lines[next];
        const size_t indent = content.find_first_not_of(' ');
        if (indent == std::string::npos) continue;
        origin.start = SourcePos{static_cast<int>(next) + 1, static_cast<int>(indent) + 1};
        origin.continuation_column = static_cast<int>(indent) + 1;
        break;
      }
    }
    return origin;
  }

  std::unique_ptr<Ast> Parse(const Loaded& loaded, const YAML::Node& node) {
    if (!node.IsScalar()) {
      Error(loaded.file->path, node.Mark(), "expected an expression");
      return nullptr;
    }
    return ParseExpression(node.Scalar(), OriginOf(loaded, node), diagnostics_);
  }

  // Checks that `map` is a mapping whose keys are all in `allowed` and has all of `required`.
  bool ExpectMap(const Loaded& loaded, const YAML::Node& map, absl::string_view what,
                 std::initializer_list<absl::string_view> allowed,
                 std::initializer_list<absl::string_view> required) {
    const std::string& file = loaded.file->path;
    if (!map.IsMap()) {
      Error(file, map.Mark(), absl::StrCat("expected ", what, " to be a mapping"));
      return false;
    }
    bool ok = true;
    for (const auto& entry : map) {
      const std::string key = entry.first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        Error(file, entry.first.Mark(),
              absl::StrCat("unknown key \"", key, "\" in ", what,
                           "; expected one of: ", absl::StrJoin(allowed, ", ")));
        ok = false;
      }
    }
    for (absl::string_view key : required) {
      if (!map[std::string(key)]) {
        Error(file, map.Mark(), absl::StrCat(what, " is missing \"", key, "\""));
        ok = false;
      }
    }
    return ok;
  }

  // A scalar that must be one literal of `type` (params, settings).
  bool Literal(const Loaded& loaded, const YAML::Node& node, Type type, int64_t& value,
               std::string* text = nullptr) {
    std::unique_ptr<Ast> ast = Parse(loaded, node);
    if (ast == nullptr) return false;
    std::unique_ptr<CheckedExpr> checked;
    {
      std::vector<Diagnostic> ignored;
      SymbolTable literal_symbols;
      literal_symbols.currency = settings_.currency;
      Checker literal_checker(literal_symbols, ignored);
      checked = literal_checker.Check(*ast, loaded.file->path, type);
    }
    if (checked == nullptr || checked->op != Op::kConst) {
      Error(loaded.file->path, node.Mark(),
            absl::StrCat("expected a ", TypeName(type), " value such as ",
                         type == Type::kMoney      ? "200 " + settings_.currency
                         : type == Type::kDuration ? std::string("90d")
                         : type == Type::kBool     ? std::string("true")
                                                   : std::string("60"),
                         ", got \"", node.IsScalar() ? node.Scalar() : "...", "\""));
      return false;
    }
    value = checked->value;
    if (text != nullptr) *text = checked->text;
    return true;
  }

  // settings.notices: {scan_at: "HH:MM", summary_day: 1..28, expiring_within: DURATION}, each
  // optional.
  void ReadNoticeSettings(const Loaded& loaded, const YAML::Node& node) {
    const std::string& file = loaded.file->path;
    if (!ExpectMap(loaded, node, "settings.notices", {"scan_at", "summary_day", "expiring_within"},
                   {})) {
      return;
    }
    NoticeSchedule& notices = settings_.notices;
    if (const YAML::Node at = node["scan_at"]; at) {
      int hours = 0;
      int minutes = 0;
      const std::string text = at.Scalar();
      const std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
      if (text.size() != 5 || parts.size() != 2 || !absl::SimpleAtoi(parts[0], &hours) ||
          !absl::SimpleAtoi(parts[1], &minutes) || hours < 0 || hours > 23 || minutes < 0 ||
          minutes > 59) {
        Error(file, at.Mark(), "expected a local time of day such as \"09:00\"");
      } else {
        notices.scan_at_ms = (int64_t{hours} * 60 + minutes) * 60'000;
      }
    }
    int64_t day = 0;
    if (node["summary_day"] && Literal(loaded, node["summary_day"], Type::kInt, day)) {
      if (day < 1 || day > 28) {
        Error(file, node["summary_day"].Mark(),
              "expected a day of the month from 1 to 28 (every month has it)");
      } else {
        notices.summary_day = static_cast<int>(day);
      }
    }
    if (node["expiring_within"]) {
      Literal(loaded, node["expiring_within"], Type::kDuration, notices.expiring_within_ms);
    }
  }

  void ReadSettings(const Loaded& loaded, const YAML::Node& node) {
    const std::string& file = loaded.file->path;
    if (has_settings_) {
      Error(file, node.Mark(),
            absl::StrCat("a second \"settings\" section; the first is in ", settings_file_));
      return;
    }
    has_settings_ = true;
    settings_file_ = file;
    if (!ExpectMap(loaded, node, "settings",
                   {"currency", "utc_offset", "elderly_age", "elderly_requires_risk_assessment",
                    "dormant_after", "caps", "notify_user", "notices"},
                   {"currency", "utc_offset", "elderly_age", "elderly_requires_risk_assessment",
                    "dormant_after", "caps"})) {
      return;
    }
    settings_.currency = node["currency"].Scalar();
    if (!ValidateCurrency("currency", settings_.currency).ok()) {
      Error(file, node["currency"].Mark(), "expected a currency such as CNY");
      settings_.currency = "CNY";
    }
    absl::StatusOr<int64_t> offset = ParseUtcOffset(node["utc_offset"].Scalar());
    if (!offset.ok()) {
      Error(file, node["utc_offset"].Mark(), std::string(offset.status().message()));
    } else {
      settings_.utc_offset_ms = *offset;
    }
    int64_t age = 0;
    if (Literal(loaded, node["elderly_age"], Type::kInt, age)) {
      settings_.elderly_age = static_cast<int>(age);
    }
    int64_t flag = 0;
    if (Literal(loaded, node["elderly_requires_risk_assessment"], Type::kBool, flag)) {
      settings_.elderly_requires_risk_assessment = flag != 0;
    }
    Literal(loaded, node["dormant_after"], Type::kDuration, settings_.dormant_after_ms);
    const YAML::Node caps = node["caps"];
    if (ExpectMap(loaded, caps, "settings.caps", {"standard", "elderly"},
                  {"standard", "elderly"})) {
      for (const auto& [segment, per_txn, daily] :
           {std::tuple{"standard", &settings_.standard_per_txn_cap_minor,
                       &settings_.standard_daily_cap_minor},
            std::tuple{"elderly", &settings_.elderly_per_txn_cap_minor,
                       &settings_.elderly_daily_cap_minor}}) {
        const YAML::Node limits = caps[segment];
        if (!ExpectMap(loaded, limits, absl::StrCat("settings.caps.", segment),
                       {"per_txn", "daily"}, {"per_txn", "daily"})) {
          continue;
        }
        Literal(loaded, limits["per_txn"], Type::kMoney, *per_txn);
        Literal(loaded, limits["daily"], Type::kMoney, *daily);
      }
    }
    if (node["notices"]) ReadNoticeSettings(loaded, node["notices"]);
    if (node["notify_user"]) {
      notify_ast_ = Parse(loaded, node["notify_user"]);
      contents_.notify_user = node["notify_user"].Scalar();
      notify_file_ = file;
    }
  }

  void ReadParams(const Loaded& loaded, const YAML::Node& node) {
    if (!node.IsMap()) {
      Error(loaded.file->path, node.Mark(), "expected \"params\" to be a mapping of name: value");
      return;
    }
    for (const auto& entry : node) {
      const std::string name = entry.first.Scalar();
      if (!IsIdentifier(name)) {
        Error(loaded.file->path, entry.first.Mark(),
              absl::StrCat("param name \"", name, "\" must be letters, digits and _"));
        continue;
      }
      if (symbols_.params.count(name) != 0) {
        Error(loaded.file->path, entry.first.Mark(),
              absl::StrCat("param \"", name, "\" is defined twice"));
        continue;
      }
      std::unique_ptr<Ast> ast = Parse(loaded, entry.second);
      if (ast == nullptr) continue;
      SymbolTable literal_symbols;
      literal_symbols.currency = settings_.currency;
      std::vector<Diagnostic> errors;
      Checker literal_checker(literal_symbols, errors);
      std::unique_ptr<CheckedExpr> checked;
      for (Type type : {Type::kInt, Type::kMoney, Type::kDuration, Type::kBool, Type::kString}) {
        errors.clear();
        checked = literal_checker.Check(*ast, loaded.file->path, type);
        if (checked != nullptr) break;
      }
      if (checked == nullptr || checked->op != Op::kConst || checked->type == Type::kList) {
        const bool currency = !errors.empty() && absl::StrContains(errors[0].message, "currency");
        Error(loaded.file->path, entry.second.Mark(),
              currency ? errors[0].message
                       : absl::StrCat("param \"", name,
                                      "\" must be one value: a number, money "
                                      "(200 ",
                                      settings_.currency,
                                      "), a duration (90d), true/false or a string"));
        continue;
      }
      symbols_.params[name] = Param{checked->type, checked->value, checked->text};
      contents_.params.push_back({name, entry.second.Scalar(), loaded.file->path});
    }
  }

  void ReadLists(const Loaded& loaded, const YAML::Node& node) {
    const std::string& file = loaded.file->path;
    if (!node.IsMap()) {
      Error(file, node.Mark(), "expected \"lists\" to be a mapping of name: [items]");
      return;
    }
    for (const auto& entry : node) {
      const std::string name = entry.first.Scalar();
      if (!IsIdentifier(name) || symbols_.list_index.count(name) != 0) {
        Error(file, entry.first.Mark(),
              absl::StrCat("list \"", name, "\" is defined twice or is not a valid name"));
        continue;
      }
      std::vector<std::string> items;
      const YAML::Node value = entry.second;
      std::string source = file;
      if (value.IsSequence()) {
        for (const auto& item : value) {
          if (!item.IsScalar()) {
            Error(file, item.Mark(), "list items are single values");
            continue;
          }
          items.push_back(item.Scalar());
        }
      } else if (value.IsMap() && value["file"] && value.size() == 1) {
        const std::string relative = value["file"].Scalar();
        source = relative;
        absl::StatusOr<std::string> text = list_reader_(relative);
        if (!text.ok()) {
          Error(
              file, value["file"].Mark(),
              absl::StrCat("cannot read list file \"", relative, "\": ", text.status().message()));
          continue;
        }
        version_input_ += absl::StrCat(relative, ":", *text);
        // One item a line; "#" starts a comment.
        for (absl::string_view line : absl::StrSplit(*text, '\n')) {
          line = absl::StripAsciiWhitespace(line.substr(0, line.find('#')));
          if (!line.empty()) items.emplace_back(line);
        }
      } else {
        Error(file, value.Mark(),
              "a list is a sequence of items ([a, b]) or {file: lists/NAME.txt}");
        continue;
      }
      symbols_.list_index[name] = static_cast<int>(symbols_.lists.size());
      contents_.lists.push_back({name, source, items.size()});
      symbols_.lists.push_back(std::move(items));
    }
  }

  void ReadMacros(const Loaded& loaded, const YAML::Node& node) {
    const std::string& file = loaded.file->path;
    if (!node.IsMap()) {
      Error(file, node.Mark(), "expected \"macros\" to be a mapping of name: expression");
      return;
    }
    for (const auto& entry : node) {
      const std::string name = entry.first.Scalar();
      const bool reserved = std::find(std::begin(kReservedRoots), std::end(kReservedRoots), name) !=
                            std::end(kReservedRoots);
      if (!IsIdentifier(name) || reserved) {
        Error(file, entry.first.Mark(),
              absl::StrCat("macro name \"", name, "\" must be one word and not one of: ",
                           absl::StrJoin(kReservedRoots, ", ")));
        continue;
      }
      if (symbols_.macros.count(name) != 0) {
        Error(file, entry.first.Mark(), absl::StrCat("macro \"", name, "\" is defined twice"));
        continue;
      }
      std::unique_ptr<Ast> ast = Parse(loaded, entry.second);
      if (ast == nullptr) continue;
      Macro macro;
      macro.ast = std::move(ast);
      macro.file = file;
      macro.pos = SourcePos{entry.first.Mark().line + 1, entry.first.Mark().column + 1};
      symbols_.macros.emplace(name, std::move(macro));
    }
  }

  void ReadRules(const Loaded& loaded, const YAML::Node& node, PlanInputs& inputs) {
    if (!node.IsSequence()) {
      Error(loaded.file->path, node.Mark(),
            "expected \"rules\" to be a list of rules (\"- id: ...\")");
      return;
    }
    for (const auto& rule : node) {
      if (!ExpectMap(loaded, rule, "a rule",
                     {"id", "description", "when", "action", "code", "notify", "mode", "enabled",
                      "exceptions"},
                     {"id", "when", "action", "code"})) {
        continue;
      }
      ReadRule(loaded, rule, inputs);
    }
  }

  // One rule: its id, code, action, mode and flags, then its condition less its exceptions.
  // A disabled rule is checked but not planned.
  void ReadRule(const Loaded& loaded, const YAML::Node& rule, PlanInputs& inputs) {
    const std::string& file = loaded.file->path;
    PendingRule pending;
    CompiledRule& compiled = pending.rule;
    compiled.id = rule["id"].Scalar();
    if (!IsRuleId(compiled.id)) {
      Error(file, rule["id"].Mark(),
            absl::StrCat("rule id \"", compiled.id,
                         "\" must be lower-case letters, digits, '.', '_' or '-'"));
    } else if (auto [it, inserted] = rule_ids_.emplace(
                   compiled.id, absl::StrCat(file, ":", rule["id"].Mark().line + 1));
               !inserted) {
      Error(file, rule["id"].Mark(),
            absl::StrCat("rule id \"", compiled.id, "\" is already used at ", it->second));
    }
    const std::string code = rule["code"].Scalar();
    if (!IsReasonCode(code)) {
      Error(file, rule["code"].Mark(),
            absl::StrCat("reason code \"", code, "\" must be UPPER_SNAKE_CASE"));
    }
    const std::string action = rule["action"].Scalar();
    if (action == "approve") {
      compiled.action = Decision::kApprove;
    } else if (action == "challenge") {
      compiled.action = Decision::kChallenge;
    } else if (action == "decline") {
      compiled.action = Decision::kDecline;
    } else {
      Error(file, rule["action"].Mark(),
            absl::StrCat("unknown action \"", action,
                         "\"; expected approve, challenge or "
                         "decline"));
    }
    const std::string mode = rule["mode"] ? rule["mode"].Scalar() : "enforce";
    if (mode == "shadow") {
      compiled.mode = RuleMode::kShadow;
    } else if (mode != "enforce") {
      Error(file, rule["mode"].Mark(),
            absl::StrCat("unknown mode \"", mode, "\"; expected enforce or shadow"));
    }
    bool enabled = true;
    for (const auto& [key, target] :
         {std::pair{"notify", &compiled.notify}, std::pair{"enabled", &enabled}}) {
      if (!rule[key]) continue;
      const std::string text = rule[key].Scalar();
      if (text != "true" && text != "false") {
        Error(file, rule[key].Mark(), absl::StrCat("\"", key, "\" is true or false"));
      }
      *target = text == "true";
    }
    const std::string description =
        rule["description"] ? rule["description"].Scalar() : std::string();
    RuleSetContents::Rule& listed = contents_.rules.emplace_back();
    listed.id = compiled.id;
    listed.file = file;
    listed.line = rule["id"].Mark().line + 1;
    listed.description = description;
    listed.when = rule["when"].Scalar();
    if (rule["exceptions"] && rule["exceptions"].IsSequence()) {
      for (const auto& exception : rule["exceptions"])
        listed.exceptions.push_back(exception.Scalar());
    }
    listed.action = action;
    listed.mode = mode;
    listed.code = code;
    listed.notify = compiled.notify;
    listed.enabled = enabled;
    compiled.reason =
        InternReason(Reason{code, compiled.id, description.empty() ? code : description});

    std::unique_ptr<Ast> when = Parse(loaded, rule["when"]);
    std::unique_ptr<CheckedExpr> checked =
        when == nullptr ? nullptr : checker_.Check(*when, file, Type::kBool);
    if (rule["exceptions"]) checked = ExceptWhen(loaded, rule["exceptions"], std::move(checked));
    if (checked == nullptr || !enabled) return;
    pending.when = std::move(checked);
    inputs.rules.push_back(std::move(pending));
  }

  // `exceptions`: `when` && !(any of them). nullptr when `when` is.
  std::unique_ptr<CheckedExpr> ExceptWhen(const Loaded& loaded, const YAML::Node& exceptions,
                                          std::unique_ptr<CheckedExpr> when) {
    const std::string& file = loaded.file->path;
    if (!exceptions.IsSequence()) {
      Error(file, exceptions.Mark(), "\"exceptions\" is a list of expressions");
      return when;
    }
    auto any = std::make_unique<CheckedExpr>();
    any->op = Op::kOr;
    any->type = Type::kBool;
    for (const auto& exception : exceptions) {
      std::unique_ptr<Ast> ast = Parse(loaded, exception);
      std::unique_ptr<CheckedExpr> one =
          ast == nullptr ? nullptr : checker_.Check(*ast, file, Type::kBool);
      if (one != nullptr) any->args.push_back(std::move(one));
    }
    if (when == nullptr || any->args.empty()) return when;
    auto negated = std::make_unique<CheckedExpr>();
    negated->op = Op::kNot;
    negated->type = Type::kBool;
    negated->args.push_back(std::move(any));
    auto both = std::make_unique<CheckedExpr>();
    both->op = Op::kAnd;
    both->type = Type::kBool;
    both->args.push_back(std::move(when));
    both->args.push_back(std::move(negated));
    return both;
  }

  std::unique_ptr<CompiledRuleSet> Build(PlanInputs& inputs) {
    PlanBuilder builder(symbols_.lists);
    std::vector<CompiledRule> rules;
    for (PendingRule& pending : inputs.rules) {
      pending.rule.root = builder.Add(*pending.when);
      rules.push_back(std::move(pending.rule));
    }
    const int32_t notify = inputs.notify == nullptr ? -1 : builder.Add(*inputs.notify);
    Plan plan = std::move(builder).Finish();
    for (CompiledRule& rule : rules) rule.reads_decision = plan.nodes[rule.root].reads_decision;
    return std::make_unique<CompiledRuleSet>(
        settings_, std::move(plan), std::move(rules), notify, symbols_.windows.specs(),
        // 48 bits of the content's hash: enough to tell rule sets apart, and short enough (15
        // characters) that answers carry it without allocating.
        absl::StrCat("rs-", absl::Hex(StableHash(version_input_) >> 16, absl::kZeroPad12)),
        std::move(contents_));
  }

  const std::vector<RuleFile>& files_;
  const ListFileReader& list_reader_;
  std::vector<Diagnostic> diagnostics_;
  SymbolTable symbols_;
  Checker checker_;
  std::vector<Loaded> loaded_;
  RuleSetSettings settings_;
  bool has_settings_ = false;
  std::string settings_file_;
  std::unique_ptr<Ast> notify_ast_;
  std::string notify_file_;
  std::map<std::string, std::string> rule_ids_;
  std::string version_input_;
  RuleSetContents contents_;
};

}  // namespace

CompileOutput CompileRuleFiles(const std::vector<RuleFile>& files, const ListFileReader& lists) {
  Compiler compiler(files, lists);
  return compiler.Run();
}

}  // namespace vigil::rules
