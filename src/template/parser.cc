// Recursive descent over the token vector. Two guards keep hostile templates from overflowing
// a stack: the parser's own recursion (blocks + expression nesting) and every expression tree's
// height (what the evaluator will recurse through) are both capped at Template::kMaxDepth.
#include "template/parser.h"

#include <charconv>
#include <cstdlib>
#include <initializer_list>

#include "template/evaluator.h"
#include "template/functions.h"
#include "template/lexer.h"
#include "template/text_util.h"

namespace portico::tmpl {

namespace {

using K = Token::Kind;

constexpr size_t kMaxSourceBytes = 16u << 20;

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

bool hex4(std::string_view s, size_t at, uint32_t& out) {
  if (at + 4 > s.size()) return false;
  out = 0;
  for (size_t i = at; i < at + 4; ++i) {
    char c = s[i];
    uint32_t v = c >= '0' && c <= '9'   ? uint32_t(c - '0')
                 : c >= 'a' && c <= 'f' ? uint32_t(c - 'a' + 10)
                 : c >= 'A' && c <= 'F' ? uint32_t(c - 'A' + 10)
                                        : 16;
    if (v == 16) return false;
    out = out * 16 + v;
  }
  return true;
}

// A string literal's lexeme (with quotes) → its value, using JSON's escapes (inja parses string
// literals as JSON). Raw control characters are accepted.
bool decodeString(std::string_view lexeme, std::string& out) {
  std::string_view s = lexeme.substr(1, lexeme.size() - 2);
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    if (++i >= s.size()) return false;
    switch (s[i]) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        uint32_t cp = 0;
        if (!hex4(s, i + 1, cp)) return false;
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint32_t lo = 0;
          if (i + 2 >= s.size() || s[i + 1] != '\\' || s[i + 2] != 'u' || !hex4(s, i + 3, lo) ||
              lo < 0xDC00 || lo > 0xDFFF)
            return false;
          i += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return false;
        }
        appendUtf8(out, cp);
        break;
      }
      default: return false;
    }
  }
  return true;
}

Json parseNumber(std::string_view text) {
  bool integral = text.find_first_of(".eE") == std::string_view::npos;
  if (integral) {
    int64_t i = 0;
    auto r = std::from_chars(text.data(), text.data() + text.size(), i);
    if (r.ec == std::errc() && r.ptr == text.data() + text.size()) return Json(i);
    uint64_t u = 0;
    r = std::from_chars(text.data(), text.data() + text.size(), u);
    if (r.ec == std::errc() && r.ptr == text.data() + text.size()) return Json(u);
  }
  std::string copy(text);
  return Json(std::strtod(copy.c_str(), nullptr));  // out of range: ±inf, as strtod reports
}

class Parser {
public:
  Parser(std::string_view source, const CompileOptions& options, const LineMap& lines,
         std::vector<Token> tokens)
      : lines_(lines), tokens_(std::move(tokens)) {
    program_ = std::make_shared<Program>();
    program_->source = std::string(source);
    program_->advanced = options.advancedTemplates;
    program_->escapeStrings = options.escapeStrings;
    program_->randomKey = options.randomKey ? *options.randomKey : randomKey();
  }

  Result<std::shared_ptr<Program>> run() {
    std::string_view stop;
    if (!parseBlock(program_->body, {}, stop)) return Status::error(error_);
    return std::move(program_);
  }

private:
  const Token& peek(size_t k = 0) const {
    size_t i = std::min(at_ + k, tokens_.size() - 1);
    return tokens_[i];
  }
  const Token& next() {
    const Token& t = tokens_[at_];
    if (at_ + 1 < tokens_.size()) ++at_;
    return t;
  }
  Pos posOf(const Token& t) const { return lines_.at(t.offset); }

  bool fail(const Token& t, std::string message) {
    if (error_.empty()) error_ = positioned(posOf(t), message);
    return false;
  }
  bool unexpected(const Token& t, std::string_view expected) {
    std::string got = t.kind == K::Id || t.kind == K::Number ? "'" + std::string(t.text) + "'"
                                                              : tokenName(t.kind);
    return fail(t, "expected " + std::string(expected) + ", got " + got);
  }
  bool expect(K kind) {
    if (peek().kind != kind) return unexpected(peek(), tokenName(kind));
    next();
    return true;
  }
  bool isKeyword(const Token& t, std::string_view word) const { return t.kind == K::Id && t.text == word; }

  // Recursion guard shared by blocks and expressions.
  struct Guard {
    explicit Guard(int& d) : depth(d) { ++depth; }
    ~Guard() { --depth; }
    int& depth;
  };
  bool tooDeep(const Token& t) {
    if (depth_ <= Template::kMaxDepth) return false;
    fail(t, "too deeply nested (limit " + std::to_string(Template::kMaxDepth) + ")");
    return true;
  }
  bool finish(Expr& e, const Token& at) {
    uint16_t h = 0;
    for (const Expr& a : e.args) h = std::max(h, a.height);
    e.height = static_cast<uint16_t>(h + 1);
    if (e.height + blockDepth_ > Template::kMaxDepth)
      return fail(at, "too deeply nested (limit " + std::to_string(Template::kMaxDepth) + ")");
    return true;
  }

  // ---- statements ------------------------------------------------------------------------------

  bool parseBlock(std::vector<Stmt>& out, std::initializer_list<std::string_view> stops,
                  std::string_view& stoppedAt) {
    Guard g(depth_);
    if (tooDeep(peek())) return false;
    for (;;) {
      const Token& t = peek();
      switch (t.kind) {
        case K::Text: {
          Stmt s;
          s.kind = Stmt::Kind::Text;
          s.text = std::string(t.text);
          out.push_back(std::move(s));
          next();
          break;
        }
        case K::ExprOpen: {
          next();
          Stmt s;
          s.kind = Stmt::Kind::Output;
          s.pos = posOf(t);
          s.exprs.emplace_back();
          if (!parseExpr(s.exprs.back()) || !expect(K::ExprClose)) return false;
          out.push_back(std::move(s));
          break;
        }
        case K::StmtOpen:
        case K::LineOpen: {
          const Token& kw = peek(1);
          for (std::string_view stop : stops) {
            if (isKeyword(kw, stop)) {
              stoppedAt = stop;
              return true;
            }
          }
          if (!parseStatement(out)) return false;
          break;
        }
        case K::End:
          if (stops.size() == 0) return true;
          return fail(t, "unexpected end of template: expected '{% " + std::string(*(stops.end() - 1)) + " %}'");
        default:
          return unexpected(t, "text or a tag");
      }
    }
  }

  // Consumes "{%" / "##" + keyword and returns the close kind that must end this tag.
  K openTag() {
    K close = next().kind == K::LineOpen ? K::LineClose : K::StmtClose;
    next();  // the keyword
    return close;
  }

  bool parseStatement(std::vector<Stmt>& out) {
    const Token& kw = peek(1);
    if (kw.kind != K::Id) return unexpected(kw, "a statement name");
    std::string_view word = kw.text;
    if (word == "if") return parseIf(out);
    if (word == "for") return parseFor(out);
    if (word == "set") return parseSet(out);
    if (word == "else" || word == "endif" || word == "endfor" || word == "endraw")
      return fail(kw, "unexpected '" + std::string(word) + "'");
    if (word == "include" || word == "extends" || word == "block" || word == "endblock" ||
        word == "macro")
      return fail(kw, "'" + std::string(word) + "' is not supported (templates are standalone)");
    return fail(kw, "unknown statement '" + std::string(word) + "'");
  }

  bool parseIf(std::vector<Stmt>& out) {
    Stmt s;
    s.kind = Stmt::Kind::If;
    s.pos = posOf(peek(1));
    K close = openTag();
    s.exprs.emplace_back();
    if (!parseExpr(s.exprs.back()) || !expect(close)) return false;
    ++blockDepth_;
    for (;;) {
      s.bodies.emplace_back();
      std::string_view stop;
      if (!parseBlock(s.bodies.back(), {"else", "endif"}, stop)) return false;
      K c = openTag();
      if (stop == "endif") {
        if (!expect(c)) return false;
        break;
      }
      if (isKeyword(peek(), "if")) {  // else if
        next();
        s.exprs.emplace_back();
        if (!parseExpr(s.exprs.back()) || !expect(c)) return false;
        continue;
      }
      if (!expect(c)) return false;
      s.bodies.emplace_back();
      if (!parseBlock(s.bodies.back(), {"endif"}, stop)) return false;
      if (!expect(openTag())) return false;
      break;
    }
    --blockDepth_;
    out.push_back(std::move(s));
    return true;
  }

  bool loopVar(std::string& name) {
    const Token& t = peek();
    if (t.kind != K::Id) return unexpected(t, "a loop variable name");
    if (t.text.find_first_of("./-") != std::string_view::npos || t.text == "loop" || t.text == "in")
      return fail(t, "invalid loop variable name '" + std::string(t.text) + "'");
    name = std::string(t.text);
    next();
    return true;
  }

  bool parseFor(std::vector<Stmt>& out) {
    Stmt s;
    s.kind = Stmt::Kind::For;
    s.pos = posOf(peek(1));
    K close = openTag();
    if (!loopVar(s.valueVar)) return false;
    if (peek().kind == K::Comma) {
      next();
      s.keyVar = std::move(s.valueVar);
      if (!loopVar(s.valueVar)) return false;
    }
    if (!isKeyword(peek(), "in")) return unexpected(peek(), "'in'");
    next();
    s.exprs.emplace_back();
    if (!parseExpr(s.exprs.back()) || !expect(close)) return false;
    scopes_.push_back({s.valueVar, s.keyVar});
    ++blockDepth_;
    s.bodies.emplace_back();
    std::string_view stop;
    if (!parseBlock(s.bodies.back(), {"endfor"}, stop)) return false;
    if (!expect(openTag())) return false;
    --blockDepth_;
    scopes_.pop_back();
    out.push_back(std::move(s));
    return true;
  }

  bool parseSet(std::vector<Stmt>& out) {
    Stmt s;
    s.kind = Stmt::Kind::Set;
    s.pos = posOf(peek(1));
    K close = openTag();
    const Token& target = peek();
    if (target.kind != K::Id) return unexpected(target, "a variable name");
    if (!splitPath(target.text, program_->advanced, s.target))
      return fail(target, "invalid JSON pointer escape in '" + std::string(target.text) + "'");
    next();
    if (!expect(K::Assign)) return false;
    s.exprs.emplace_back();
    if (!parseExpr(s.exprs.back()) || !expect(close)) return false;
    program_->hasSet = true;
    out.push_back(std::move(s));
    return true;
  }

  // ---- expressions -----------------------------------------------------------------------------

  bool parseExpr(Expr& out) {
    Guard g(depth_);
    if (tooDeep(peek())) return false;
    return parseOr(out);
  }

  bool binary(Expr& left, Op op, const Token& at, Expr&& right) {
    Expr e;
    e.kind = Expr::Kind::Binary;
    e.op = op;
    e.pos = posOf(at);
    e.args.push_back(std::move(left));
    e.args.push_back(std::move(right));
    left = std::move(e);
    return finish(left, at);
  }

  bool parseOr(Expr& out) {
    if (!parseAnd(out)) return false;
    while (isKeyword(peek(), "or")) {
      const Token& t = next();
      Expr r;
      if (!parseAnd(r) || !binary(out, Op::Or, t, std::move(r))) return false;
    }
    return true;
  }

  bool parseAnd(Expr& out) {
    if (!parseNot(out)) return false;
    while (isKeyword(peek(), "and")) {
      const Token& t = next();
      Expr r;
      if (!parseNot(r) || !binary(out, Op::And, t, std::move(r))) return false;
    }
    return true;
  }

  bool unary(Expr& out, Op op, const Token& t, Expr&& operand) {
    out = Expr();
    out.kind = Expr::Kind::Unary;
    out.op = op;
    out.pos = posOf(t);
    out.args.push_back(std::move(operand));
    return finish(out, t);
  }

  bool parseNot(Expr& out) {
    if (isKeyword(peek(), "not")) {
      Guard g(depth_);
      const Token& t = next();
      if (tooDeep(t)) return false;
      Expr operand;
      if (!parseNot(operand)) return false;
      return unary(out, Op::Not, t, std::move(operand));
    }
    return parseCompare(out);
  }

  bool compareOp(const Token& t, Op& op) const {
    switch (t.kind) {
      case K::Eq: op = Op::Eq; return true;
      case K::Ne: op = Op::Ne; return true;
      case K::Lt: op = Op::Lt; return true;
      case K::Le: op = Op::Le; return true;
      case K::Gt: op = Op::Gt; return true;
      case K::Ge: op = Op::Ge; return true;
      default:
        if (isKeyword(t, "in")) {
          op = Op::In;
          return true;
        }
        return false;
    }
  }

  bool parseCompare(Expr& out) {
    if (!parseAdd(out)) return false;
    Op op;
    while (compareOp(peek(), op)) {
      const Token& t = next();
      Expr r;
      if (!parseAdd(r) || !binary(out, op, t, std::move(r))) return false;
    }
    return true;
  }

  bool parseAdd(Expr& out) {
    if (!parseMul(out)) return false;
    while (peek().kind == K::Plus || peek().kind == K::Minus) {
      const Token& t = next();
      Expr r;
      if (!parseMul(r) || !binary(out, t.kind == K::Plus ? Op::Add : Op::Sub, t, std::move(r))) return false;
    }
    return true;
  }

  bool parseMul(Expr& out) {
    if (!parsePow(out)) return false;
    for (;;) {
      K k = peek().kind;
      Op op = k == K::Star ? Op::Mul : k == K::Slash ? Op::Div : k == K::Percent ? Op::Mod : Op::Or;
      if (op == Op::Or) return true;
      const Token& t = next();
      Expr r;
      if (!parsePow(r) || !binary(out, op, t, std::move(r))) return false;
    }
  }

  bool parsePow(Expr& out) {
    if (!parseUnary(out)) return false;
    if (peek().kind != K::Caret) return true;
    Guard g(depth_);
    const Token& t = next();
    if (tooDeep(t)) return false;
    Expr r;
    if (!parsePow(r)) return false;  // right-associative: 2 ^ 3 ^ 2 == 2 ^ 9
    return binary(out, Op::Pow, t, std::move(r));
  }

  bool parseUnary(Expr& out) {
    if (peek().kind == K::Minus || peek().kind == K::Plus) {
      Guard g(depth_);
      const Token& t = next();
      if (tooDeep(t)) return false;
      Expr operand;
      if (!parseUnary(operand)) return false;
      if (t.kind == K::Plus) {
        out = std::move(operand);
        return true;
      }
      // Fold "-<number>" so that negative literals stay literals.
      if (operand.kind == Expr::Kind::Literal && operand.literal.is_number()) {
        const Json& v = operand.literal;
        if (v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() != INT64_MIN) {
          operand.literal = Json(-v.get<int64_t>());
        } else if (v.is_number_unsigned() && v.get<uint64_t>() == uint64_t(INT64_MAX) + 1) {
          operand.literal = Json(INT64_MIN);
        } else {
          operand.literal = Json(-v.get<double>());
        }
        out = std::move(operand);
        return true;
      }
      return unary(out, Op::Neg, t, std::move(operand));
    }
    return parsePrimary(out);
  }

  bool literal(Expr& out, const Token& t, Json value) {
    out = Expr();
    out.kind = Expr::Kind::Literal;
    out.pos = posOf(t);
    out.literal = std::move(value);
    return true;
  }

  bool parsePrimary(Expr& out) {
    const Token& t = peek();
    switch (t.kind) {
      case K::Number:
        next();
        return literal(out, t, parseNumber(t.text));
      case K::String: {
        next();
        std::string s;
        if (!decodeString(t.text, s)) return fail(t, "invalid escape in string literal");
        return literal(out, t, Json(std::move(s)));
      }
      case K::LParen: {
        next();
        if (!parseExpr(out)) return false;
        return expect(K::RParen);
      }
      case K::LBracket: return parseArray(out);
      case K::LBrace: return parseObject(out);
      case K::Id: {
        next();
        if (t.text == "true") return literal(out, t, Json(true));
        if (t.text == "false") return literal(out, t, Json(false));
        if (t.text == "null") return literal(out, t, Json(nullptr));
        if (peek().kind == K::LParen) return parseCall(out, t);
        return variable(out, t);
      }
      default:
        return unexpected(t, "an expression");
    }
  }

  bool parseArray(Expr& out) {
    const Token& open = next();
    out = Expr();
    out.kind = Expr::Kind::Array;
    out.pos = posOf(open);
    while (peek().kind != K::RBracket) {
      out.args.emplace_back();
      if (!parseExpr(out.args.back())) return false;
      if (peek().kind == K::Comma) {
        next();
      } else if (peek().kind != K::RBracket) {
        return unexpected(peek(), "',' or ']'");
      }
    }
    next();
    return foldConstant(out) && finish(out, open);
  }

  bool parseObject(Expr& out) {
    const Token& open = next();
    out = Expr();
    out.kind = Expr::Kind::Object;
    out.pos = posOf(open);
    while (peek().kind != K::RBrace) {
      const Token& key = peek();
      if (key.kind != K::String) return unexpected(key, "a string key");
      std::string k;
      if (!decodeString(key.text, k)) return fail(key, "invalid escape in string literal");
      next();
      if (!expect(K::Colon)) return false;
      out.keys.push_back(std::move(k));
      out.args.emplace_back();
      if (!parseExpr(out.args.back())) return false;
      if (peek().kind == K::Comma) {
        next();
      } else if (peek().kind != K::RBrace) {
        return unexpected(peek(), "',' or '}'");
      }
    }
    next();
    return foldConstant(out) && finish(out, open);
  }

  // An array or object of literals becomes one literal.
  bool foldConstant(Expr& e) {
    for (const Expr& a : e.args)
      if (a.kind != Expr::Kind::Literal) return true;
    Json v = e.kind == Expr::Kind::Array ? Json::array() : Json::object();
    for (size_t i = 0; i < e.args.size(); ++i) {
      if (e.kind == Expr::Kind::Array)
        v.push_back(std::move(e.args[i].literal));
      else
        v[e.keys[i]] = std::move(e.args[i].literal);
    }
    e.kind = Expr::Kind::Literal;
    e.literal = std::move(v);
    e.args.clear();
    e.keys.clear();
    return true;
  }

  bool variable(Expr& out, const Token& t) {
    out = Expr();
    out.kind = Expr::Kind::Variable;
    out.pos = posOf(t);
    out.name = std::string(t.text);
    if (!splitPath(t.text, program_->advanced, out.path) || out.path.empty())
      return fail(t, "invalid variable name '" + out.name + "'");
    const std::string& first = out.path[0];
    for (size_t i = scopes_.size(); i-- > 0;) {
      if (first == scopes_[i].value) {
        out.binding = Binding::LoopValue;
      } else if (!scopes_[i].key.empty() && first == scopes_[i].key) {
        out.binding = Binding::LoopKey;
      } else {
        continue;
      }
      out.loopDepth = static_cast<uint16_t>(i);
      return true;
    }
    if (first == "loop" && !scopes_.empty()) {
      out.binding = Binding::LoopMeta;
      out.loopDepth = static_cast<uint16_t>(scopes_.size() - 1);
      return true;
    }
    program_->readsData = program_->readsBody = true;
    program_->dataRoots.push_back(first);
    return true;
  }

  bool parseCall(Expr& out, const Token& name) {
    const FunctionSpec* spec = findFunction(name.text);
    if (!spec) return fail(name, "unknown function '" + std::string(name.text) + "'");
    out = Expr();
    out.kind = Expr::Kind::Call;
    out.fn = spec->fn;
    out.pos = posOf(name);
    next();  // '('
    while (peek().kind != K::RParen) {
      out.args.emplace_back();
      if (!parseExpr(out.args.back())) return false;
      if (peek().kind == K::Comma) {
        next();
      } else if (peek().kind != K::RParen) {
        return unexpected(peek(), "',' or ')'");
      }
    }
    next();
    size_t n = out.args.size();
    if (n < spec->minArgs || n > spec->maxArgs) {
      std::string takes = spec->minArgs == spec->maxArgs
                              ? std::to_string(spec->minArgs)
                              : std::to_string(spec->minArgs) + " or " + std::to_string(spec->maxArgs);
      bool plural = spec->maxArgs != 1;
      return fail(name, "function '" + std::string(spec->name) + "' takes " + takes +
                            (plural ? " arguments" : " argument") + ", got " + std::to_string(n));
    }
    return specialize(out) && finish(out, name);
  }

  // Compile-time work for Gloo's functions: what they read, lowercased literal header names,
  // env() of a literal name resolved now (Gloo snapshots the environment at config load).
  bool specialize(Expr& e) {
    switch (e.fn) {
      case Fn::Body: program_->readsBody = program_->readsRawBody = true; break;
      case Fn::Context:
        program_->readsBody = program_->readsData = program_->readsRawBody = true;
        program_->dataRootsKnown = false;
        break;
      case Fn::Exists: {
        program_->readsBody = program_->readsData = true;
        std::vector<std::string> path;
        if (e.args[0].kind == Expr::Kind::Literal && e.args[0].literal.is_string() &&
            splitPath(e.args[0].literal.get_ref<const std::string&>(), program_->advanced, path) &&
            !path.empty())
          program_->dataRoots.push_back(path[0]);
        else
          program_->dataRootsKnown = false;
        break;
      }
      case Fn::Header:
      case Fn::RequestHeader:
        if (e.args[0].kind == Expr::Kind::Literal && e.args[0].literal.is_string()) {
          std::string& s = e.args[0].literal.get_ref<std::string&>();
          for (char& c : s)
            if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
        }
        break;
      case Fn::Env:
        if (e.args[0].kind == Expr::Kind::Literal && e.args[0].literal.is_string()) {
          const char* v = std::getenv(e.args[0].literal.get_ref<const std::string&>().c_str());
          Pos pos = e.pos;
          e = Expr();
          e.kind = Expr::Kind::Literal;
          e.pos = pos;
          e.literal = Json(v ? std::string(v) : std::string());
        }
        break;
      default: break;
    }
    return true;
  }

  struct Scope {
    std::string value, key;
  };

  const LineMap& lines_;
  std::vector<Token> tokens_;
  size_t at_ = 0;
  int depth_ = 0;
  int blockDepth_ = 0;
  std::vector<Scope> scopes_;
  std::shared_ptr<Program> program_;
  std::string error_;
};

}  // namespace

Result<std::shared_ptr<Program>> parseProgram(std::string_view source, const CompileOptions& options) {
  if (source.size() > kMaxSourceBytes)
    return Status::error("line 1, column 1: template too large (limit 16 MiB)");
  LineMap lines(source);
  auto tokens = tokenize(source, lines);
  if (!tokens.ok()) return tokens.status();
  return Parser(source, options, lines, std::move(*tokens)).run();
}

}  // namespace portico::tmpl
