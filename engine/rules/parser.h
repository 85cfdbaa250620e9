#pragma once

// Parses one rule expression into an Ast. Grammar (EBNF), loosest binding first:
//
//   expr       = and { "||" and } ;
//   and        = not { "&&" not } ;
//   not        = "!" not | comparison ;
//   comparison = sum [ ( "==" | "!=" | "<" | "<=" | ">" | ">=" ) sum
//                    | [ "not" ] "in" sum ] ;
//   sum        = product { ( "+" | "-" ) product } ;
//   product    = unary { "*" unary } ;
//   unary      = "-" unary | primary ;
//   primary    = INT | MONEY | DURATION | STRING | "true" | "false"
//              | path [ "(" [ expr { "," expr } ] ")" ]
//              | "[" [ STRING { "," STRING } ] "]"
//              | "(" expr ")" ;
//   path       = IDENT { "." IDENT } ;
//   MONEY      = digits [ "." digits ] CURRENCY      e.g. 200 CNY, 199.99 CNY
//   DURATION   = digits ( "s" | "m" | "h" | "d" )    e.g. 90d, 10m
//
// Nesting is limited to kMaxDepth levels so that a hostile file cannot exhaust the stack.
// Thread-safe (no state).

#include <memory>

#include "absl/strings/string_view.h"
#include "engine/rules/ast.h"
#include "engine/rules/diagnostic.h"

namespace vigil::rules {

inline constexpr int kMaxDepth = 64;

// Where an expression's text sits in its file, to turn offsets into file:line:column. For a
// YAML block scalar, lines after the first start at `continuation_column`.
struct TextOrigin {
  std::string file;
  SourcePos start;
  int continuation_column = 1;
};

// Parses `text`. On a syntax error returns nullptr and appends one diagnostic.
std::unique_ptr<Ast> ParseExpression(absl::string_view text, const TextOrigin& origin,
                                     std::vector<Diagnostic>& diagnostics);

}  // namespace vigil::rules
