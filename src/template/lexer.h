// Lexer: splits template source into text, tag delimiters ({{ }}, {% %}, "##" line statements)
// and expression tokens; applies whitespace control and drops comments and {% raw %} markers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "template/program.h"

namespace portico::tmpl {

struct Token {
  enum class Kind : uint8_t {
    Text, ExprOpen, ExprClose, StmtOpen, StmtClose, LineOpen, LineClose, End,
    Id, Number, String, LParen, RParen, LBracket, RBracket, LBrace, RBrace, Comma, Colon,
    Plus, Minus, Star, Slash, Percent, Caret, Eq, Ne, Lt, Le, Gt, Ge, Assign,
  };
  Kind kind = Kind::End;
  std::string_view text;  ///< Text: the (whitespace-controlled) text; others: the lexeme
  uint32_t offset = 0;    ///< byte offset in the source
};

/// Converts byte offsets to 1-based line / column.
class LineMap {
public:
  explicit LineMap(std::string_view source);
  Pos at(size_t offset) const;

private:
  std::vector<uint32_t> starts_;
};

/// Formats "line L, column C: message".
std::string positioned(Pos pos, std::string_view message);

/// Tokenizes the whole source. Errors: unterminated tags, comments, strings, raw blocks, and
/// characters that start no token.
Result<std::vector<Token>> tokenize(std::string_view source, const LineMap& lines);

const char* tokenName(Token::Kind kind);

}  // namespace portico::tmpl
