// The lexer tokenizes the whole template up front (compile time only), so whitespace control
// can trim the neighbouring text tokens in place: "{{-" / "{%-" / "{#-" strip the whitespace
// before the tag, "-}}" / "-%}" / "-#}" the whitespace after it (inja 3.x).
#include "template/lexer.h"

#include <algorithm>

namespace portico::tmpl {

namespace {

using K = Token::Kind;

bool isSpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isIdChar(char c) {
  return isAlpha(c) || isDigit(c) || c == '_' || c == '.' || c == '/' || c == '-' || c == '~';
}

class Lexer {
public:
  Lexer(std::string_view src, const LineMap& lines) : src_(src), lines_(lines) {}

  Result<std::vector<Token>> run() {
    while (pos_ < src_.size()) {
      if (!scanText()) return Status::error(error_);
    }
    emit(K::End, pos_, 0);
    return std::move(tokens_);
  }

private:
  bool fail(size_t offset, std::string message) {
    error_ = positioned(lines_.at(offset), message);
    return false;
  }

  void emit(K kind, size_t offset, size_t len) {
    tokens_.push_back(Token{kind, src_.substr(offset, len), static_cast<uint32_t>(offset)});
  }

  void emitText(size_t begin, size_t end) {
    std::string_view text = src_.substr(begin, end - begin);
    if (stripNext_) {
      while (!text.empty() && isSpace(text.front())) text.remove_prefix(1);
      stripNext_ = false;
    }
    if (!text.empty()) tokens_.push_back(Token{K::Text, text, static_cast<uint32_t>(begin)});
  }

  // "{{-" and friends: trim the whitespace at the end of the text just before.
  void stripPrevious() {
    stripNext_ = false;  // an empty stretch between two tags
    if (tokens_.empty() || tokens_.back().kind != K::Text) return;
    std::string_view& text = tokens_.back().text;
    while (!text.empty() && isSpace(text.back())) text.remove_suffix(1);
    if (text.empty()) tokens_.pop_back();
  }

  bool startsWith(size_t at, std::string_view s) const { return src_.substr(at, s.size()) == s; }

  // Matches "{%[-] <word> [-]%}" at `at`; returns the end offset or 0. Sets the strip flags.
  size_t matchWordTag(size_t at, std::string_view word, bool& stripBefore, bool& stripAfter) const {
    size_t p = at + 2;
    stripBefore = p < src_.size() && src_[p] == '-';
    if (stripBefore) ++p;
    while (p < src_.size() && isSpace(src_[p])) ++p;
    if (!startsWith(p, word)) return 0;
    p += word.size();
    if (p < src_.size() && !isSpace(src_[p]) && src_[p] != '-' && src_[p] != '%') return 0;
    while (p < src_.size() && isSpace(src_[p])) ++p;
    stripAfter = p < src_.size() && src_[p] == '-';
    if (stripAfter) ++p;
    if (!startsWith(p, "%}")) return 0;
    return p + 2;
  }

  // One text run and the tag (or comment, raw block) that ends it.
  bool scanText() {
    size_t begin = pos_;
    size_t p = pos_;
    for (;;) {
      p = src_.find_first_of("{#", p);
      if (p == std::string_view::npos) {
        emitText(begin, src_.size());
        pos_ = src_.size();
        return true;
      }
      if (startsWith(p, "{{") || startsWith(p, "{%") || startsWith(p, "{#")) break;
      if (startsWith(p, "##") && (p == 0 || src_[p - 1] == '\n')) break;
      ++p;
    }
    emitText(begin, p);
    pos_ = p;
    if (startsWith(p, "{#")) return scanComment();
    if (startsWith(p, "##")) {
      emit(K::LineOpen, p, 2);
      pos_ = p + 2;
      return scanBody(K::LineClose, p);
    }
    bool stripBefore = false, stripAfter = false;
    if (startsWith(p, "{%")) {
      if (size_t end = matchWordTag(p, "raw", stripBefore, stripAfter)) return scanRaw(p, end, stripBefore, stripAfter);
    }
    bool expr = startsWith(p, "{{");
    pos_ = p + 2;
    if (pos_ < src_.size() && src_[pos_] == '-') {
      stripPrevious();
      ++pos_;
    }
    emit(expr ? K::ExprOpen : K::StmtOpen, p, 2);
    return scanBody(expr ? K::ExprClose : K::StmtClose, p);
  }

  bool scanComment() {
    size_t open = pos_;
    if (open + 2 < src_.size() && src_[open + 2] == '-') stripPrevious();
    size_t close = src_.find("#}", open + 2);
    if (close == std::string_view::npos) return fail(open, "unterminated comment: expected '#}'");
    if (close > open + 2 && src_[close - 1] == '-') stripNext_ = true;
    pos_ = close + 2;
    return true;
  }

  bool scanRaw(size_t open, size_t contentBegin, bool stripBefore, bool stripAfter) {
    if (stripBefore) stripPrevious();
    stripNext_ = stripAfter;
    for (size_t p = contentBegin;; ++p) {
      p = src_.find("{%", p);
      if (p == std::string_view::npos) return fail(open, "unterminated raw block: expected '{% endraw %}'");
      bool before = false, after = false;
      if (size_t end = matchWordTag(p, "endraw", before, after)) {
        // Raw text is emitted as is, apart from the whitespace control of its own markers.
        std::string_view text = src_.substr(contentBegin, p - contentBegin);
        if (stripNext_) {
          while (!text.empty() && isSpace(text.front())) text.remove_prefix(1);
          stripNext_ = false;
        }
        if (before) {
          while (!text.empty() && isSpace(text.back())) text.remove_suffix(1);
        }
        if (!text.empty())
          tokens_.push_back(Token{K::Text, text, static_cast<uint32_t>(contentBegin)});
        stripNext_ = after;
        pos_ = end;
        return true;
      }
    }
  }

  // Tokens up to and including the close delimiter of the tag opened at `open`.
  bool scanBody(K close, size_t open) {
    std::string_view closeText = close == K::ExprClose ? "}}" : close == K::StmtClose ? "%}" : "\n";
    for (;;) {
      while (pos_ < src_.size() && (src_[pos_] == ' ' || src_[pos_] == '\t' || src_[pos_] == '\r' ||
                                    (src_[pos_] == '\n' && close != K::LineClose)))
        ++pos_;
      if (pos_ >= src_.size()) {
        if (close == K::LineClose) {
          emit(K::LineClose, pos_, 0);
          return true;
        }
        return fail(open, std::string("unterminated tag: expected '") + std::string(closeText) + "'");
      }
      if (startsWith(pos_, closeText)) {
        emit(close, pos_, closeText.size());
        pos_ += closeText.size();
        return true;
      }
      if (src_[pos_] == '-' && close != K::LineClose && startsWith(pos_ + 1, closeText)) {
        emit(close, pos_, closeText.size() + 1);
        pos_ += closeText.size() + 1;
        stripNext_ = true;
        return true;
      }
      if (!scanToken()) return false;
    }
  }

  bool scanToken() {
    size_t start = pos_;
    char c = src_[pos_];
    if (isAlpha(c) || c == '_') {
      while (pos_ < src_.size() && isIdChar(src_[pos_])) ++pos_;
      emit(K::Id, start, pos_ - start);
      return true;
    }
    if (isDigit(c)) {
      while (pos_ < src_.size() && isDigit(src_[pos_])) ++pos_;
      if (pos_ + 1 < src_.size() && src_[pos_] == '.' && isDigit(src_[pos_ + 1])) {
        ++pos_;
        while (pos_ < src_.size() && isDigit(src_[pos_])) ++pos_;
      }
      if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
        size_t q = pos_ + 1;
        if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) ++q;
        if (q < src_.size() && isDigit(src_[q])) {
          pos_ = q;
          while (pos_ < src_.size() && isDigit(src_[pos_])) ++pos_;
        }
      }
      emit(K::Number, start, pos_ - start);
      return true;
    }
    if (c == '"') {
      ++pos_;
      while (pos_ < src_.size() && src_[pos_] != '"') pos_ += src_[pos_] == '\\' ? 2 : 1;
      if (pos_ >= src_.size()) return fail(start, "unterminated string literal");
      ++pos_;
      emit(K::String, start, pos_ - start);
      return true;
    }
    auto two = [&](char next, K yes, K no) {
      bool match = pos_ + 1 < src_.size() && src_[pos_ + 1] == next;
      emit(match ? yes : no, start, match ? 2 : 1);
      pos_ += match ? 2 : 1;
      return true;
    };
    auto one = [&](K kind) {
      emit(kind, start, 1);
      ++pos_;
      return true;
    };
    switch (c) {
      case '(': return one(K::LParen);
      case ')': return one(K::RParen);
      case '[': return one(K::LBracket);
      case ']': return one(K::RBracket);
      case '{': return one(K::LBrace);
      case '}': return one(K::RBrace);
      case ',': return one(K::Comma);
      case ':': return one(K::Colon);
      case '+': return one(K::Plus);
      case '-': return one(K::Minus);
      case '*': return one(K::Star);
      case '/': return one(K::Slash);
      case '%': return one(K::Percent);
      case '^': return one(K::Caret);
      case '<': return two('=', K::Le, K::Lt);
      case '>': return two('=', K::Ge, K::Gt);
      case '=': return two('=', K::Eq, K::Assign);
      case '!':
        if (pos_ + 1 < src_.size() && src_[pos_ + 1] == '=') return two('=', K::Ne, K::Ne);
        return fail(start, "unexpected '!' (use 'not' or '!=')");
      default: {
        std::string shown = (uint8_t(c) >= 0x20 && uint8_t(c) < 0x7F) ? std::string(1, c) : "\\x" + std::to_string(uint8_t(c));
        return fail(start, "unexpected character '" + shown + "'");
      }
    }
  }

  std::string_view src_;
  const LineMap& lines_;
  size_t pos_ = 0;
  bool stripNext_ = false;
  std::vector<Token> tokens_;
  std::string error_;
};

}  // namespace

LineMap::LineMap(std::string_view source) {
  starts_.push_back(0);
  for (size_t i = 0; i < source.size(); ++i)
    if (source[i] == '\n') starts_.push_back(static_cast<uint32_t>(i + 1));
}

Pos LineMap::at(size_t offset) const {
  auto it = std::upper_bound(starts_.begin(), starts_.end(), offset);
  size_t line = static_cast<size_t>(it - starts_.begin());  // >= 1: starts_[0] == 0
  return Pos{static_cast<uint32_t>(line), static_cast<uint32_t>(offset - starts_[line - 1] + 1)};
}

std::string positioned(Pos pos, std::string_view message) {
  std::string out = "line " + std::to_string(pos.line) + ", column " + std::to_string(pos.column) + ": ";
  out.append(message);
  return out;
}

Result<std::vector<Token>> tokenize(std::string_view source, const LineMap& lines) {
  return Lexer(source, lines).run();
}

const char* tokenName(Token::Kind kind) {
  switch (kind) {
    case K::Text: return "text";
    case K::ExprOpen: return "'{{'";
    case K::ExprClose: return "'}}'";
    case K::StmtOpen: return "'{%'";
    case K::StmtClose: return "'%}'";
    case K::LineOpen: return "'##'";
    case K::LineClose: return "end of line";
    case K::End: return "end of template";
    case K::Id: return "name";
    case K::Number: return "number";
    case K::String: return "string";
    case K::LParen: return "'('";
    case K::RParen: return "')'";
    case K::LBracket: return "'['";
    case K::RBracket: return "']'";
    case K::LBrace: return "'{'";
    case K::RBrace: return "'}'";
    case K::Comma: return "','";
    case K::Colon: return "':'";
    case K::Plus: return "'+'";
    case K::Minus: return "'-'";
    case K::Star: return "'*'";
    case K::Slash: return "'/'";
    case K::Percent: return "'%'";
    case K::Caret: return "'^'";
    case K::Eq: return "'=='";
    case K::Ne: return "'!='";
    case K::Lt: return "'<'";
    case K::Le: return "'<='";
    case K::Gt: return "'>'";
    case K::Ge: return "'>='";
    case K::Assign: return "'='";
  }
  return "token";
}

}  // namespace portico::tmpl
