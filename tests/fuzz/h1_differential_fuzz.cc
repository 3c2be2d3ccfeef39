// libFuzzer target: Portico's own HTTP/1 parser (http::H1Parser) against the llhttp-based one it
// replaced (H1ReferenceParser, tests/fuzz only). The same bytes, cut at the same fuzz-chosen
// points, go through both with the same callback policy; the messages (method, target, version,
// status, headers, body, framing flags, keep-alive, upgrade), the error/no-error outcome, the
// upgrade offset and finish() must agree.
//
// Input: byte 0 = flags (bit 0: response mode; bits 1-3: split count; bit 4: pause at heads;
// bit 5: pause in bodies; bit 6: responses answer HEAD (SkipBody); bit 7: small limits), then one
// byte per split (piece = 1 + byte), then the stream.
//
// Deliberate differences: where llhttp 8.1 (built loose, as Portico used it) reads otherwise, H1Parser
// follows RFC 9112 and the smuggling tests. A disagreement is forgiven only when
// knownDifference() ties it to one of these; values are compared with the reference's trailing
// OWS removed (trailing-ows).
//
// | name             | llhttp 8.1 / the old parser                   | H1Parser                         |
// |------------------|-----------------------------------------------|----------------------------------|
// | trailing-ows     | keeps OWS after a field value                 | strips it (RFC 9112 §5)          |
// | te-ows           | "chunked" then OWS holding a HTAB: not chunked | chunked (OWS may hold HTAB)     |
// | upgrade-ows      | "upgrade" then OWS holding a HTAB: no upgrade  | upgrade (then the 101 tunnel)    |
// | cl-ows           | HTAB after a Content-Length value: an error   | OWS is trimmed                   |
// | bare-cr          | takes a CR without LF for a line end in places| refuses it                       |
// | bare-lf          | takes a bare LF for a line end in places      | refuses it (CRLF only)           |
// | fold-after-empty | obs-fold after an empty value slipped through | refuses every obs-fold           |
// | no-body-status   | reads a body for 1xx/204/304 with CL or TE    | none (RFC 9112 §6.3)             |
// | value-ctl        | control bytes and DEL in field values         | refused (HTAB allowed)           |
// | target-chars     | its URL grammar (tabs, schemes, '@', ...)     | visible bytes; form by first byte|
// | request-line-ws  | more than one SP between the parts            | exactly one SP                   |
// | http09           | "GET /" without a version (HTTP/0.9)          | refused                          |
// | other-protocol   | RTSP/ and ICE/ request lines, the PRI preface | refused                          |
// | status-line      | 1-3 digit codes, codes < 100, any reason      | 3 digits, 100-999, no CTLs       |
// | chunk-data-end   | skips the two bytes after chunk data unread   | wants CRLF there                 |
// | chunk-line       | its chunk-extension grammar                   | RFC 9112 §7.1.1 grammar          |
// | trailer-fields   | Transfer-Encoding etc. rules in trailers      | trailers are plain fields        |
// | line-at-end      | fails at a line's first bad byte; at a field  | at the line's end (both reruns   |
// |                  | line's end only once the next line began      | with "\r\n\r\n" appended must fail)|
// | long-line        | no bound on one line's raw size               | maxHeaderBytes + 4 KiB           |
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "h1_fuzz_common.h"
#include "h1_reference_parser.h"
#include "http/h1_parser.h"

namespace portico::fuzz {
namespace {

struct DiffPolicy {
  bool response = false;
  bool pauseOnHeaders = false;
  bool pauseOnBody = false;
  bool skipBody = false;
  http::ParserLimits limits;
};

template <class Parser>
class DiffRecorder : public http::H1ParserCallbacks {
public:
  DiffRecorder(const DiffPolicy& policy)
      : policy_(policy),
        parser_(policy.response ? Parser::Type::Response : Parser::Type::Request, *this,
                policy.limits) {}

  Parser& parser() { return parser_; }
  Outcome& outcome() { return outcome_; }
  bool takePause() {
    bool p = ourPause_;
    ourPause_ = false;
    return p;
  }
  bool lastPauseWasComplete() const { return pauseAtComplete_; }

  http::ParserAction onHeadersComplete() override {
    outcome_.messages.push_back(headOf(parser_, policy_.response));
    if (policy_.response && policy_.skipBody) return http::ParserAction::SkipBody;
    return pause(policy_.pauseOnHeaders, false);
  }
  http::ParserAction onBody(const char* data, size_t len) override {
    FUZZ_CHECK(!outcome_.messages.empty(), "body before any head");
    FUZZ_CHECK(len > 0, "empty body callback");
    outcome_.messages.back().body.append(data, len);
    return pause(policy_.pauseOnBody, false);
  }
  http::ParserAction onMessageComplete() override {
    FUZZ_CHECK(!outcome_.messages.empty(), "message complete before any head");
    FUZZ_CHECK(!outcome_.messages.back().complete, "message completed twice");
    outcome_.messages.back().complete = true;
    return pause(true, true);  // as the gateway: pause at every message end
  }

private:
  http::ParserAction pause(bool yes, bool atComplete) {
    if (!yes) return http::ParserAction::Continue;
    ourPause_ = true;
    pauseAtComplete_ = atComplete;
    return http::ParserAction::Pause;
  }
  DiffPolicy policy_;
  Parser parser_;
  Outcome outcome_;
  bool ourPause_ = false;
  bool pauseAtComplete_ = false;
};

/// Feeds the pieces like the gateway (see h1_fuzz_common.h run()), for either parser.
template <class Parser>
Outcome runOne(const DiffPolicy& policy, const std::vector<std::string_view>& pieces) {
  DiffRecorder<Parser> rec(policy);
  Parser& parser = rec.parser();
  size_t base = 0;
  for (std::string_view piece : pieces) {
    std::unique_ptr<char[]> buf(new char[piece.size() ? piece.size() : 1]);
    if (!piece.empty()) std::memcpy(buf.get(), piece.data(), piece.size());
    const char* data = buf.get();
    size_t len = piece.size();
    size_t done = 0;
    for (;;) {
      auto r = parser.execute(data, len);
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
      if (!rec.takePause()) {
        Outcome& o = rec.outcome();
        o.upgraded = true;
        o.upgradeOffset = base + done;
        return std::move(o);
      }
      bool atComplete = rec.lastPauseWasComplete();
      parser.resume();
      if (r.consumed == len) {
        if (atComplete) break;
        data += len;
        len = 0;
        continue;
      }
      std::unique_ptr<char[]> rest(new char[len - r.consumed]);
      std::memcpy(rest.get(), data + r.consumed, len - r.consumed);
      len -= r.consumed;
      buf = std::move(rest);
      data = buf.get();
    }
    base += piece.size();
  }
  if (policy.response) rec.outcome().finished = parser.finish() ? 1 : 0;
  return std::move(rec.outcome());
}

/// The reference keeps OWS after values: compare them trimmed.
void trimValues(Outcome& o) {
  for (Message& m : o.messages)
    for (auto& [n, v] : m.headers)
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
}

bool contains(std::string_view s, std::string_view what) { return s.find(what) != std::string_view::npos; }

bool anyMessage(const Outcome& o, bool (*pred)(const Message&)) {
  for (const Message& m : o.messages)
    if (pred(m)) return true;
  return false;
}
bool hasHeader(const Message& m, std::string_view name) {
  for (const auto& [n, v] : m.headers)
    if (n == name) return true;
  return false;
}

/// First disagreement between the two outcomes, or "" when they agree.
std::string disagreement(const Outcome& ours, const Outcome& ref) {
  if (ours.error != ref.error) return "error / no error";
  if (ours.error) {
    // Both failed: the messages completed before the failure must agree (the failing message
    // itself may be cut at another byte: the checks run at other points).
    auto completed = [](const Outcome& o) {
      size_t n = 0;
      while (n < o.messages.size() && o.messages[n].complete) ++n;
      return n;
    };
    size_t n = std::min(completed(ours), completed(ref));
    for (size_t i = 0; i < n; ++i)
      if (!(ours.messages[i] == ref.messages[i])) return "message " + std::to_string(i);
    return "";
  }
  if (ours.upgraded != ref.upgraded || ours.upgradeOffset != ref.upgradeOffset) return "upgrade";
  if (ours.finished != ref.finished) return "finish()";
  if (ours.messages.size() != ref.messages.size()) return "message count";
  for (size_t i = 0; i < ours.messages.size(); ++i)
    if (!(ours.messages[i] == ref.messages[i])) return "message " + std::to_string(i);
  return "";
}

/// A trailer field llhttp reads as framing or connection control (Connection, Transfer-Encoding,
/// Content-Length at a line start) after the first last-chunk line ("\r\n0") in `s`.
bool framingTrailerAfterLastChunk(std::string_view s) {
  size_t at = s.find("\r\n0");
  if (at == std::string_view::npos) return false;
  for (at = s.find('\n', at + 2); at != std::string_view::npos; at = s.find('\n', at + 1))
    for (std::string_view name : {"connection:", "transfer-encoding:", "content-length:"})
      if (http::equalsIgnoreCase(s.substr(at + 1, name.size()), name)) return true;
  return false;
}

/// `token` (any case) followed by OWS that holds a HTAB somewhere in `s`.
bool tokenBeforeTabOws(std::string_view s, std::string_view token) {
  for (size_t at = 0; at + token.size() <= s.size(); ++at) {
    if (!http::equalsIgnoreCase(s.substr(at, token.size()), token)) continue;
    size_t j = at + token.size();
    bool tab = false;
    while (j < s.size() && (s[j] == ' ' || s[j] == '\t')) tab |= s[j++] == '\t';
    if (tab) return true;
  }
  return false;
}

/// The deliberate difference (table above) that explains a disagreement, or nullptr.
const char* knownDifference(std::string_view s, const std::vector<std::string_view>& pieces,
                            const DiffPolicy& policy, const Outcome& ours, const Outcome& ref) {
  // Where H1Parser is stricter by design, its reason names the rule.
  static constexpr std::pair<std::string_view, const char*> kStricter[] = {
      {"line ending in a bare LF", "bare-lf"},
      {"invalid character in header value", "value-ctl"},
      {"missing HTTP version", "http09"},
      {"protocol other than HTTP", "other-protocol"},
      {"HTTP/2 preface on an HTTP/1 connection", "other-protocol"},
      {"more than one space after the method", "request-line-ws"},
      {"invalid character in the request target", "target-chars"},
      {"invalid request target", "target-chars"},
      {"no CRLF after chunk data", "chunk-data-end"},
      {"chunk line too long", "long-line"},
      {"invalid chunk extension", "chunk-line"},
      {"invalid status line", "status-line"},
      {"invalid status code", "status-line"},
      {"invalid character in the reason phrase", "status-line"},
  };
  if (ours.error && !ref.error)
    for (const auto& [reason, name] : kStricter)
      if (ours.errorReason == reason) return name;
  // Where llhttp is stricter (its URL grammar), its reason names the rule.
  if (!ours.error && ref.error && (contains(ref.errorReason, " url") || contains(ref.errorReason, "Double @")))
    return "target-chars";
  if (!ours.error && ref.error && contains(ref.errorReason, "in chunk ")) return "chunk-line";
  if (!ours.error && ref.error && ref.errorReason == "Invalid character in Content-Length" &&
      contains(s, "\t"))
    return "cl-ows";
  if (!ours.error && ref.error) {
    // llhttp failed in the trailers of a chunked message H1Parser completed with the same body:
    // it read trailer fields like header fields (Transfer-Encoding, Content-Length rules).
    for (size_t i = 0; i < ref.messages.size() && i < ours.messages.size(); ++i) {
      if (ref.messages[i].complete) continue;
      const Message& m = ours.messages[i];
      if (m.chunked && m.body == ref.messages[i].body) {
        if (m.complete) return "trailer-fields";
        // The stream ends in the trailers: an empty line more ends H1Parser's message there.
        std::vector<std::string_view> more = pieces;
        more.push_back("\r\n\r\n");
        Outcome done = runOne<http::H1Parser>(policy, more);
        if (!done.error && done.messages.size() > i && done.messages[i].complete &&
            done.messages[i].body == m.body)
          return "trailer-fields";
      }
      break;
    }
    // Or it took a Connection: keep-alive trailer for the connection's and parsed on where
    // H1Parser ends the connection after the chunked message.
    size_t n = ours.messages.size();
    if (n > 0 && ref.messages.size() >= n && ours.messages[n - 1] == ref.messages[n - 1] &&
        ours.messages[n - 1].chunked && !ours.messages[n - 1].keepAlive)
      return "trailer-fields";
  }
  if (!ours.error && ref.error) {
    // llhttp judges a line byte by byte, H1Parser when the line is whole: a stream that ends
    // inside the bad line fails only in llhttp. Completed, it must fail in H1Parser too.
    std::vector<std::string_view> more = pieces;
    more.push_back("\r\n\r\n");
    if (runOne<http::H1Parser>(policy, more).error) return "line-at-end";
  }
  if (ours.error && !ref.error) {
    // The other way: llhttp judges a field line only once it has seen the next line's first
    // byte (it could be a fold); with more bytes it must fail too.
    std::vector<std::string_view> more = pieces;
    more.push_back("\r\n\r\n");
    if (runOne<H1ReferenceParser>(policy, more).error) return "line-at-end";
  }
  // A CR not followed by LF: llhttp takes it for a line end in places.
  for (size_t i = 0; i + 1 < s.size(); ++i)
    if (s[i] == '\r' && s[i + 1] != '\n') return "bare-cr";
  // obs-fold after a field with an empty value: the old parser only saw folds between value
  // pieces, and an empty value has none; llhttp unfolds it. H1Parser refuses every fold.
  if (ours.error && !ref.error) {
    for (size_t i = 0; i + 2 < s.size(); ++i) {
      if (s[i] != '\r' || s[i + 1] != '\n' || (s[i + 2] != ' ' && s[i + 2] != '\t')) continue;
      size_t start = s.rfind('\n', i == 0 ? 0 : i - 1);
      std::string_view ln = s.substr(start == std::string_view::npos ? 0 : start + 1);
      ln = ln.substr(0, ln.find('\r'));
      size_t colon = ln.find(':');
      if (colon != std::string_view::npos &&
          ln.find_first_not_of(" \t", colon + 1) == std::string_view::npos)
        return "fold-after-empty";
    }
  }
  // "chunked" (Transfer-Encoding) or "upgrade" (Connection) then OWS with a HTAB: llhttp no
  // longer sees the token there (for upgrade: it reads the bytes after a 101 as a next message).
  if (tokenBeforeTabOws(s, "chunked")) return "te-ows";
  if (ours.upgraded && !ref.upgraded && tokenBeforeTabOws(s, "upgrade")) return "upgrade-ows";
  if (ours.error && !ref.error && ours.errorKind != http::ParseError::Malformed) {
    size_t line = 0, longest = 0;
    for (char c : s) {
      line = c == '\n' ? 0 : line + 1;
      longest = std::max(longest, line);
    }
    if (longest > policy.limits.maxHeaderBytes + 4096) return "long-line";
  }
  auto noBodyStatus = [](const Message& m) {
    bool noBody = m.status != 0 && (m.status < 200 || m.status == 204 || m.status == 304);
    return noBody && (m.hasContentLength || hasHeader(m, "transfer-encoding"));
  };
  if (anyMessage(ours, noBodyStatus) || anyMessage(ref, noBodyStatus)) return "no-body-status";
  // llhttp counts a value's trailing OWS into the head size (it keeps it), H1Parser does not.
  if (!ours.error && ref.error && ref.errorKind == http::ParseError::HeadersTooLarge) {
    for (size_t i = 0; i < s.size(); ++i)
      if ((s[i] == ' ' || s[i] == '\t') && (i + 1 == s.size() || s[i + 1] == '\r'))
        return "trailing-ows";
  }
  // After a chunked message whose trailers hold such a field, llhttp applies it (ends the
  // connection, re-frames) where H1Parser reads trailers as plain fields: what follows diverges.
  auto chunked = [](const Message& m) { return m.chunked; };
  if (anyMessage(ours, chunked) && framingTrailerAfterLastChunk(s)) return "trailer-fields";
  return nullptr;
}

void fuzzDiff(const uint8_t* data, size_t size) {
  if (size < 1) return;
  uint8_t flags = data[0];
  size_t splits = (flags >> 1) & 7;
  if (size < 1 + splits) return;
  DiffPolicy policy;
  policy.response = flags & 1;
  policy.pauseOnHeaders = flags & 0x10;
  policy.pauseOnBody = flags & 0x20;
  policy.skipBody = policy.response && (flags & 0x40);
  if (flags & 0x80) {
    policy.limits.maxHeaderBytes = 256;
    policy.limits.maxHeaders = 8;
  }
  std::string_view stream(reinterpret_cast<const char*>(data) + 1 + splits, size - 1 - splits);
  std::vector<std::string_view> pieces;
  size_t at = 0;
  for (size_t i = 0; i < splits && at < stream.size(); ++i) {
    size_t n = std::min<size_t>(1 + data[1 + i], stream.size() - at);
    pieces.push_back(stream.substr(at, n));
    at += n;
  }
  if (at < stream.size() || pieces.empty()) pieces.push_back(stream.substr(at));

  Outcome ours = runOne<http::H1Parser>(policy, pieces);
  Outcome ref = runOne<H1ReferenceParser>(policy, pieces);
  trimValues(ref);
  if (std::getenv("FUZZ_VERBOSE"))
    std::fprintf(stderr, "ours: %sreference: %s", ours.describe().c_str(), ref.describe().c_str());
  std::string why = disagreement(ours, ref);
  if (why.empty()) return;
  if (const char* known = knownDifference(stream, pieces, policy, ours, ref)) {
    if (std::getenv("FUZZ_VERBOSE")) std::fprintf(stderr, "known difference: %s\n", known);
    return;
  }
  fail(("parsers disagree: " + why).c_str(), "stream: " + escaped(stream) + "\nours: " +
                                                 ours.describe() + "reference: " + ref.describe());
}

}  // namespace
}  // namespace portico::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  portico::fuzz::fuzzDiff(data, size);
  return 0;
}
