// The HTTP/1 fuzz driver shared by h1_request_fuzz and h1_response_fuzz: feeds one byte stream
// to an H1Parser in one piece and in fuzz-chosen pieces, the way the gateway does, and checks
// that both runs tell the same story (messages, heads, bodies, error kind).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/h1_parser.h"

namespace portico::fuzz {

/// Aborts with a message: libFuzzer reports it as a crash and saves the input.
[[noreturn]] inline void fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "INVARIANT VIOLATED: %s\n%s\n", what, detail.c_str());
  std::fflush(stderr);
  std::abort();
}
#define FUZZ_CHECK(cond, detail)                                                                  \
  do {                                                                                            \
    if (!(cond)) ::portico::fuzz::fail(#cond, (detail));                                          \
  } while (0)

/// True when $FUZZ_KNOWN_BUGS (comma-separated) names `bug`: lets a long run go past a reported,
/// not yet fixed bug. CI never sets it; the checks are strict by default.
inline bool knownBugTolerated(std::string_view bug) {
  static const std::string list = [] {
    const char* v = std::getenv("FUZZ_KNOWN_BUGS");
    return "," + std::string(v ? v : "") + ",";
  }();
  return list.find("," + std::string(bug) + ",") != std::string::npos;
}

/// Printable form of bytes for failure messages.
inline std::string escaped(std::string_view s, size_t max = 400) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\r') out += "\\r";
    else if (c == '\n') out += "\\n";
    else if (c == '\\') out += "\\\\";
    else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

/// What one message looked like to the callbacks.
struct Message {
  std::string method;
  std::string target;
  int status = 0;
  int versionMajor = 0, versionMinor = 0;
  bool keepAlive = false, hasContentLength = false, chunked = false, upgrade = false;
  bool bodyUntilEof = false;
  uint64_t contentLength = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool complete = false;
  bool operator==(const Message&) const = default;

  std::string describe() const {
    std::string s = method + " " + escaped(target) + " status=" + std::to_string(status) +
                    " HTTP/" + std::to_string(versionMajor) + "." + std::to_string(versionMinor) +
                    " ka=" + std::to_string(keepAlive) + " cl=" + std::to_string(hasContentLength) +
                    ":" + std::to_string(contentLength) + " chunked=" + std::to_string(chunked) +
                    " upgrade=" + std::to_string(upgrade) + " eof=" + std::to_string(bodyUntilEof) +
                    " complete=" + std::to_string(complete) + "\n";
    for (const auto& [n, v] : headers) s += "  " + escaped(n) + ": " + escaped(v) + "\n";
    s += "  body(" + std::to_string(body.size()) + ")=" + escaped(body, 80) + "\n";
    return s;
  }
};

/// The head a parser just completed (in its onHeadersComplete), as a Message. Any parser with
/// H1Parser's accessors: ours, or h1_differential's reference parser.
template <typename Parser> Message headOf(const Parser& parser, bool response) {
  Message m;
  if (!response) {
    m.method = std::string(parser.method());
    m.target = parser.target();
  } else {
    m.status = parser.statusCode();
  }
  m.versionMajor = parser.versionMajor();
  m.versionMinor = parser.versionMinor();
  m.keepAlive = parser.keepAlive();
  m.hasContentLength = parser.hasContentLength();
  m.contentLength = parser.contentLength();
  m.chunked = parser.chunked();
  m.upgrade = parser.upgrade();
  m.bodyUntilEof = parser.bodyUntilEof();
  for (const http::HeaderEntry& e : parser.headers()) m.headers.emplace_back(e.name, e.value);
  return m;
}

/// Everything a run observed; two runs over the same bytes must produce equal Outcomes.
struct Outcome {
  std::vector<Message> messages;
  bool error = false;
  http::ParseError errorKind = http::ParseError::None;
  std::string errorReason;
  /// Stopped at an upgrade (the rest of the stream is not HTTP/1): absolute offset.
  bool upgraded = false;
  size_t upgradeOffset = 0;
  /// Response mode, after the last byte: finish()'s result (-1: not called).
  int finished = -1;

  std::string describe() const {
    std::string s = "error=" + std::to_string(error) + " kind=" +
                    std::to_string(static_cast<int>(errorKind)) + " reason=" + errorReason +
                    " upgraded=" + std::to_string(upgraded) + "@" + std::to_string(upgradeOffset) +
                    " finished=" + std::to_string(finished) + " messages=" +
                    std::to_string(messages.size()) + "\n";
    for (const Message& m : messages) s += m.describe();
    return s;
  }
};

/// How the callbacks answer; the same policy must not change what is parsed.
struct Policy {
  bool pauseOnHeaders = false;
  bool pauseOnBody = false;
  bool skipBody = false;  ///< response mode: every response answers a HEAD request
  http::ParserLimits limits;
};

class Recorder : public http::H1ParserCallbacks {
public:
  Recorder(http::H1Parser::Type type, const Policy& policy)
      : type_(type), policy_(policy), parser_(type, *this, policy.limits) {}

  http::H1Parser& parser() { return parser_; }
  Outcome& outcome() { return outcome_; }
  enum class PausedAt { None, Headers, Body, MessageComplete };
  /// Which of our callbacks asked for the last pause (None: llhttp paused by itself, an upgrade).
  PausedAt takePause() {
    PausedAt p = pausedAt_;
    pausedAt_ = PausedAt::None;
    return p;
  }

  http::ParserAction onHeadersComplete() override {
    Message m = headOf(parser_, type_ == http::H1Parser::Type::Response);
    checkHead(m);
    outcome_.messages.push_back(std::move(m));
    if (type_ == http::H1Parser::Type::Response && policy_.skipBody)
      return http::ParserAction::SkipBody;
    return pause(policy_.pauseOnHeaders, PausedAt::Headers);
  }
  http::ParserAction onBody(const char* data, size_t len) override {
    FUZZ_CHECK(!outcome_.messages.empty(), "body before any head");
    // A zero-length piece would go out as "0\r\n\r\n", the last chunk, in a chunked relay.
    FUZZ_CHECK(len > 0, "empty body callback");
    outcome_.messages.back().body.append(data, len);
    return pause(policy_.pauseOnBody, PausedAt::Body);
  }
  http::ParserAction onMessageComplete() override {
    FUZZ_CHECK(!outcome_.messages.empty(), "message complete before any head");
    Message& m = outcome_.messages.back();
    FUZZ_CHECK(!m.complete, "message completed twice");
    m.complete = true;
    FUZZ_CHECK(!parser_.inMessage(), "inMessage() after completion");
    // Content-Length bodies arrive whole, except where there is no body: upgrades (CONNECT),
    // HEAD answers (skipBody), 1xx / 204 / 304.
    if (m.hasContentLength && !m.chunked && !m.upgrade && !(type_ == http::H1Parser::Type::Response &&
                                              (policy_.skipBody || m.status < 200 ||
                                               m.status == 204 || m.status == 304)))
      FUZZ_CHECK(m.body.size() == m.contentLength,
                 "body " + std::to_string(m.body.size()) + " != content-length " +
                     std::to_string(m.contentLength));
    // The gateway pauses at every message end and resumes when the exchange is done.
    return pause(true, PausedAt::MessageComplete);
  }

private:
  http::ParserAction pause(bool yes, PausedAt where) {
    if (!yes) return http::ParserAction::Continue;
    pausedAt_ = where;
    return http::ParserAction::Pause;
  }

  /// What the parser hands the gateway must be safe to forward: names are lowercase tchars,
  /// values hold no CR/LF/NUL (no smuggled header lines), the target no whitespace.
  static void checkHead(const Message& m) {
    for (const auto& [n, v] : m.headers) {
      FUZZ_CHECK(!n.empty(), "empty header name: " + m.describe());
      for (char c : n) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
        FUZZ_CHECK(ok && c != 0, "bad byte in header name: " + m.describe());
      }
      for (char c : v)
        FUZZ_CHECK(c != '\r' && c != '\n' && c != '\0', "CR/LF/NUL in header value: " + m.describe());
    }
    for (char c : m.target)
      FUZZ_CHECK(c != ' ' && c != '\r' && c != '\n' && c != '\0',
                 "whitespace in request target: " + m.describe());
  }

  http::H1Parser::Type type_;
  Policy policy_;
  http::H1Parser parser_;
  Outcome outcome_;
  PausedAt pausedAt_ = PausedAt::None;
};

/// Feeds `pieces` (each a separate heap allocation of exactly its size, so that ASan sees any
/// read past a piece) like the gateway's read loops: execute, resume after our pauses with the
/// rest of the piece copied elsewhere (the gateway's pendingIn_), stop on error or upgrade.
inline Outcome run(http::H1Parser::Type type, const Policy& policy,
                   const std::vector<std::string_view>& pieces, bool finishAtEnd) {
  Recorder rec(type, policy);
  http::H1Parser& parser = rec.parser();
  size_t base = 0;  // absolute offset of the current piece
  for (std::string_view piece : pieces) {
    std::unique_ptr<char[]> buf(new char[piece.size() ? piece.size() : 1]);
    if (!piece.empty()) std::memcpy(buf.get(), piece.data(), piece.size());
    const char* data = buf.get();
    size_t len = piece.size();
    size_t done = 0;  // consumed of this piece
    for (;;) {
      http::H1Parser::ExecResult r = parser.execute(data, len);
      FUZZ_CHECK(r.consumed <= len, "consumed past the buffer");
      done += r.consumed;
      if (r.error) {
        Outcome& o = rec.outcome();
        o.error = true;
        o.errorKind = parser.error();
        o.errorReason = parser.errorReason();
        FUZZ_CHECK(o.errorKind != http::ParseError::None, "error without a kind");
        return std::move(o);
      }
      if (!r.paused) {
        FUZZ_CHECK(r.consumed == len, "neither paused nor failed, yet bytes left");
        break;
      }
      Recorder::PausedAt at = rec.takePause();
      if (at == Recorder::PausedAt::None) {
        // Paused by llhttp itself: an upgrade (CONNECT, Upgrade:). The gateway stops parsing.
        Outcome& o = rec.outcome();
        o.upgraded = true;
        o.upgradeOffset = base + done;
        return std::move(o);
      }
      parser.resume();
      if (r.consumed == len) {
        if (at == Recorder::PausedAt::MessageComplete) break;  // as the gateway: next read
        // Paused in onHeadersComplete / onBody on the buffer's last byte: llhttp's transitions
        // after that callback (e.g. completing a message without a body) only run on the next
        // execute(), so a caller with no bytes left must call execute() with none.
        data += len;
        len = 0;
        continue;
      }
      // The rest goes to a fresh buffer, as the gateway's pendingIn_ would hold it.
      std::unique_ptr<char[]> rest(new char[len - r.consumed]);
      std::memcpy(rest.get(), data + r.consumed, len - r.consumed);
      len -= r.consumed;
      buf = std::move(rest);
      data = buf.get();
    }
    base += piece.size();
  }
  if (finishAtEnd) rec.outcome().finished = parser.finish() ? 1 : 0;
  return std::move(rec.outcome());
}

/// Input layout: byte 0 = flags (bits 0-2: number of split points; 3: pause at headers; 4: pause
/// in bodies; 5-6: limits; 7: skip bodies (responses)), then one byte per split point (the piece
/// is 1 + byte long), then the HTTP stream.
inline void fuzzOne(http::H1Parser::Type type, const uint8_t* data, size_t size) {
  if (size < 1) return;
  uint8_t flags = data[0];
  size_t splits = flags & 7;
  if (size < 1 + splits) return;
  std::vector<size_t> lengths;
  for (size_t i = 0; i < splits; ++i) lengths.push_back(1 + static_cast<size_t>(data[1 + i]));
  std::string_view stream(reinterpret_cast<const char*>(data) + 1 + splits, size - 1 - splits);

  Policy whole;
  switch ((flags >> 5) & 3) {
  case 0: break;  // the gateway's defaults
  case 1: whole.limits.maxHeaderBytes = 64; whole.limits.maxHeaders = 4; break;
  case 2: whole.limits.maxHeaderBytes = 256; whole.limits.maxHeaders = 100; break;
  case 3: whole.limits.maxHeaderBytes = 4096; whole.limits.maxHeaders = 16; break;
  }
  whole.skipBody = type == http::H1Parser::Type::Response && (flags & 0x80);
  Policy split = whole;
  split.pauseOnHeaders = flags & 0x08;
  split.pauseOnBody = flags & 0x10;

  bool finish = type == http::H1Parser::Type::Response;
  Outcome a = run(type, whole, {stream}, finish);

  std::vector<std::string_view> pieces;
  size_t at = 0;
  for (size_t len : lengths) {
    if (at >= stream.size()) break;
    size_t n = std::min(len, stream.size() - at);
    pieces.push_back(stream.substr(at, n));
    at += n;
  }
  if (at < stream.size() || pieces.empty()) pieces.push_back(stream.substr(at));
  Outcome b = run(type, split, pieces, finish);
  if (std::getenv("FUZZ_VERBOSE")) std::fprintf(stderr, "whole: %s", a.describe().c_str());

  std::string where = "pieces:";
  for (std::string_view p : pieces) where += " " + std::to_string(p.size());
  // Both runs fail or neither does, with the same kind of error. One race is allowed: our own
  // checks (limits, header-name bytes) run in llhttp's span callbacks, which fire at every buffer
  // end, so with a split they can see bytes before llhttp reaches a malformed byte further on
  // (and the reason text may differ). A head both too large and malformed may get 431 or 400.
  auto isLimit = [](http::ParseError e) {
    return e == http::ParseError::HeadersTooLarge || e == http::ParseError::TooManyHeaders ||
           e == http::ParseError::UriTooLong;
  };
  bool sameKind = a.errorKind == b.errorKind ||
                  (a.errorKind == http::ParseError::Malformed && isLimit(b.errorKind)) ||
                  (b.errorKind == http::ParseError::Malformed && isLimit(a.errorKind));
  FUZZ_CHECK(a.error == b.error && sameKind,
             where + "\nwhole: " + a.describe() + "split: " + b.describe());
  FUZZ_CHECK(a.upgraded == b.upgraded && a.upgradeOffset == b.upgradeOffset,
             where + "\nwhole: " + a.describe() + "split: " + b.describe());
  FUZZ_CHECK(a.finished == b.finished,
             where + "\nwhole: " + a.describe() + "split: " + b.describe());
  FUZZ_CHECK(a.messages.size() == b.messages.size(),
             where + "\nwhole: " + a.describe() + "split: " + b.describe());
  for (size_t i = 0; i < a.messages.size(); ++i)
    FUZZ_CHECK(a.messages[i] == b.messages[i], where + " message " + std::to_string(i) +
                                                   "\nwhole: " + a.describe() +
                                                   "split: " + b.describe());
}

}  // namespace portico::fuzz
