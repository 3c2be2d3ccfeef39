#include "http/h1_parser.h"

#include <cstring>
#include <string_view>

namespace portico::http {

namespace {

// Maps a header-name byte to its lowercase form, or 0 when it is not an RFC 9110 tchar: a space
// before the colon or any other byte a peer could read differently is refused (smuggling).
struct NameTable {
  char map[256] = {};
  constexpr NameTable() {
    for (int ch = '0'; ch <= '9'; ++ch) map[ch] = static_cast<char>(ch);
    for (int ch = 'a'; ch <= 'z'; ++ch) map[ch] = static_cast<char>(ch);
    for (int ch = 'A'; ch <= 'Z'; ++ch) map[ch] = static_cast<char>(ch + 32);
    for (char ch : std::string_view("!#$%&'*+-.^_`|~")) map[static_cast<unsigned char>(ch)] = ch;
  }
};
constexpr NameTable kNames;

// Eight name bytes at once when they are all ASCII letters, digits or '-' (nearly every field
// name): their lowercase form is the word with 0x20 set in each byte. False: use the table.
bool lowerNameWord(uint64_t x, uint64_t& lower) {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
  if (x & kHigh) return false;
  // Each byte is below 0x80 from here, so the per-byte sums below never carry.
  uint64_t ctl = ~(x + kOnes * 0x60) & kHigh;  // some byte < 0x20 (OR-ing 0x20 would hide it)
  lower = x | (kOnes * 0x20);
  auto inRange = [&](uint8_t lo, uint8_t hi) {
    return (lower + kOnes * (0x80 - lo)) & ~(lower + kOnes * (0x7f - hi)) & kHigh;
  };
  uint64_t y = lower ^ (kOnes * '-');
  uint64_t dash = ~(((y & ~kHigh) + ~kHigh) | y | ~kHigh);  // high bit: the byte was '-'
  return ctl == 0 && (inRange('a', 'z') | inRange('0', '9') | dash) == kHigh;
}

bool isTchar(char c) { return kNames.map[static_cast<unsigned char>(c)] != 0; }
bool isOws(char c) { return c == ' ' || c == '\t'; }

std::string_view trimOws(std::string_view v) {
  while (!v.empty() && isOws(v.front())) v.remove_prefix(1);
  while (!v.empty() && isOws(v.back())) v.remove_suffix(1);
  return v;
}

// A field value may hold HTAB, SP, VCHAR and obs-text: no other control byte (CR, LF and NUL
// included) and no DEL. Eight bytes at a time; a word with a byte below 0x20 or a DEL is looked
// at byte by byte (only HTAB is allowed there).
bool wordHasCtl(uint64_t x) {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
  uint64_t below = (x - kOnes * 0x20) & ~x & kHigh;  // some byte < 0x20
  uint64_t del = x ^ (kOnes * 0x7f);
  return ((below | ((del - kOnes) & ~del & kHigh)) != 0);  // or some byte == 0x7f
}

bool validValueBytes(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(p[i]);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

// A field value may hold HTAB, SP, VCHAR and obs-text: no other control byte (CR, LF and NUL
// included) and no DEL. Eight bytes at a time (the last word overlapping the one before); a
// word with a byte below 0x20 or a DEL is looked at byte by byte (only HTAB is allowed there).
bool validValue(const char* p, size_t n) {
  if (n < 8) return validValueBytes(p, n);
  uint64_t x;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    std::memcpy(&x, p + i, 8);
    if (wordHasCtl(x)) return validValueBytes(p + i, n - i);
  }
  std::memcpy(&x, p + n - 8, 8);
  return !wordHasCtl(x) || validValueBytes(p + n - 8, 8);
}

/// ASCII case-insensitive equality with a lowercase token, for already validated field bytes
/// (no control bytes, so OR-ing 0x20 maps only letters).
bool tokenIs(std::string_view token, std::string_view lower) {
  if (token.size() != lower.size()) return false;
  for (size_t i = 0; i < token.size(); ++i)
    if ((token[i] | 0x20) != lower[i]) return false;
  return true;
}

// Request targets: visible ASCII and obs-text, no whitespace or control byte.
bool validTarget(std::string_view t) {
  for (char ch : t) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

// The methods llhttp 8 knew (HTTP_METHOD_MAP, without PRI: the HTTP/2 preface is no HTTP/1
// request), most frequent first. Unknown methods are refused as before.
constexpr std::string_view kMethods[] = {
    "GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE", "COPY",
    "LOCK", "MKCOL", "MOVE", "PROPFIND", "PROPPATCH", "SEARCH", "UNLOCK", "BIND", "REBIND",
    "UNBIND", "ACL", "REPORT", "MKACTIVITY", "CHECKOUT", "MERGE", "M-SEARCH", "NOTIFY",
    "SUBSCRIBE", "UNSUBSCRIBE", "PURGE", "MKCALENDAR", "LINK", "UNLINK", "SOURCE"};
constexpr uint8_t kHead = 2, kConnect = 7;
constexpr uint8_t kNoMethod = 0xff;

// Bytes a head line may hold beyond the counted limit (method, version, separators, OWS) before
// it is refused without being seen whole: bounds the copy of a line split across reads.
constexpr size_t kLineSlack = 4096;
// A chunk-size line (size and extensions) or the CRLF after chunk data.
constexpr size_t kMaxChunkLine = 4096;

}  // namespace

H1Parser::H1Parser(Type type, H1ParserCallbacks& callbacks, ParserLimits limits)
    : type_(type), callbacks_(callbacks), limits_(limits) {
  reset();
}

H1Parser::~H1Parser() = default;

void H1Parser::reset() {
  state_ = State::Idle;
  line_.clear();
  paused_ = false;
  upgradeReported_ = false;
  inMessage_ = false;
  error_ = ParseError::None;
  reason_ = nullptr;
  method_ = kNoMethod;
  major_ = minor_ = 0;
  status_ = 0;
}

bool H1Parser::fail(ParseError kind, const char* reason) {
  state_ = State::Error;
  error_ = kind;
  reason_ = reason;
  return false;
}

void H1Parser::beginMessage() {
  headers_.clear();
  target_.clear();
  headBytes_ = 0;
  contentLength_ = 0;
  remaining_ = 0;
  inMessage_ = true;
  method_ = kNoMethod;
  major_ = minor_ = 0;
  status_ = 0;
  hasContentLength_ = chunked_ = teNonEmpty_ = tePresent_ = false;
  teOnlyChunked_ = true;
  teChunkedTokens_ = 0;
  connClose_ = connKeepAlive_ = connUpgrade_ = upgradeHeader_ = upgrade_ = skipBody_ = false;
  state_ = State::StartLine;
}

size_t H1Parser::maxLine() const {
  size_t max = limits_.maxHeaderBytes;
  return max > SIZE_MAX - kLineSlack ? SIZE_MAX : max + kLineSlack;
}

H1Parser::Line H1Parser::takeLine(const char*& p, const char* end, std::string_view& line,
                                  size_t maxRaw) {
  if (p == end) return Line::Partial;
  const char* lf = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
  if (lf == nullptr) {
    line_.append(p, static_cast<size_t>(end - p));
    p = end;
    if (line_.size() > maxRaw) return Line::Failed;
    return Line::Partial;
  }
  if (line_.empty()) {
    line = std::string_view(p, static_cast<size_t>(lf - p));
  } else {
    line_.append(p, static_cast<size_t>(lf - p));
    line = line_;
  }
  p = lf + 1;
  if (line.size() > maxRaw) return Line::Failed;
  // Every line ends in CRLF: a bare LF is refused (RFC 9112 §2.2 allows accepting it, but a
  // peer that does not would see other lines). A CR inside the line is refused where its
  // content is checked (no element allows control bytes).
  if (line.empty() || line.back() != '\r') {
    fail(ParseError::Malformed, "line ending in a bare LF");
    return Line::Failed;
  }
  line.remove_suffix(1);
  return Line::Whole;
}

H1Parser::ExecResult H1Parser::execute(const char* data, size_t len) {
  ExecResult r;
  const char* p = data;
  const char* const end = data + len;
  auto stop = [&](bool paused) {
    r.consumed = static_cast<size_t>(p - data);
    r.paused = paused;
    r.error = state_ == State::Error;
    return r;
  };
  if (paused_) return stop(true);  // the caller must resume() first
  std::string_view line;
  for (;;) {
    switch (state_) {
    case State::Error: return stop(false);

    case State::Closed:
      // After a message without keep-alive the connection ends: what the peer still sends is
      // consumed unread (as llhttp did), never taken for another message.
      p = end;
      return stop(false);

    case State::Idle:
      // RFC 9112 §2.2: empty lines before a request line are ignored.
      while (p < end && (*p == '\r' || *p == '\n')) ++p;
      if (p == end) return stop(false);
      beginMessage();
      break;

    case State::StartLine: {
      Line got = takeLine(p, end, line, maxLine());
      if (got == Line::Partial) return stop(false);
      if (got == Line::Failed) {
        if (state_ != State::Error) {
          if (type_ == Type::Request) fail(ParseError::UriTooLong, nullptr);
          else fail(ParseError::HeadersTooLarge, nullptr);
        }
        return stop(false);
      }
      bool ok = type_ == Type::Request ? parseRequestLine(line) : parseStatusLine(line);
      line_.clear();
      if (!ok) return stop(false);
      state_ = State::HeaderLine;
      break;
    }

    case State::HeaderLine:
    case State::Trailers: {
      Line got = takeLine(p, end, line, maxLine());
      if (got == Line::Partial) return stop(false);
      if (got == Line::Failed) {
        if (state_ != State::Error) fail(ParseError::HeadersTooLarge, nullptr);
        return stop(false);
      }
      bool trailer = state_ == State::Trailers;
      if (!line.empty()) {
        bool ok = parseHeaderLine(line, trailer);
        line_.clear();
        if (!ok) return stop(false);
        break;
      }
      line_.clear();
      if (trailer) {
        state_ = State::BodyDone;
        break;
      }
      if (!checkFraming()) return stop(false);
      state_ = State::AfterHead;
      ParserAction a = callbacks_.onHeadersComplete();
      if (a == ParserAction::SkipBody) skipBody_ = true;
      if (a == ParserAction::Pause) {
        paused_ = true;
        return stop(true);
      }
      break;
    }

    case State::AfterHead:
      // The framing, in llhttp's order: an upgrade without a body hands the connection over;
      // then RFC 9112 §6.3.
      if (upgrade_ && (method_ == kConnect || skipBody_ || !hasBody())) {
        state_ = State::UpgradePending;
        inMessage_ = false;
        if (callbacks_.onMessageComplete() == ParserAction::Pause) {
          paused_ = true;
          return stop(true);
        }
      } else if (skipBody_ || (type_ == Type::Response &&
                               (status_ < 200 || status_ == 204 || status_ == 304))) {
        state_ = State::BodyDone;
      } else if (chunked_) {
        state_ = State::ChunkSize;
      } else if (teNonEmpty_) {
        state_ = State::BodyEof;  // a response whose final coding is not chunked
      } else if (hasContentLength_) {
        remaining_ = contentLength_;
        state_ = remaining_ ? State::BodyLength : State::BodyDone;
      } else {
        state_ = type_ == Type::Response ? State::BodyEof : State::BodyDone;
      }
      break;

    case State::BodyLength:
    case State::ChunkData: {
      if (p == end) return stop(false);
      size_t avail = static_cast<size_t>(end - p);
      size_t n = remaining_ < avail ? static_cast<size_t>(remaining_) : avail;
      const char* at = p;
      p += n;
      remaining_ -= n;
      if (remaining_ == 0) state_ = state_ == State::BodyLength ? State::BodyDone : State::ChunkDataEnd;
      if (callbacks_.onBody(at, n) == ParserAction::Pause) {
        paused_ = true;
        return stop(true);
      }
      break;
    }

    case State::BodyEof: {
      if (p == end) return stop(false);
      const char* at = p;
      p = end;
      if (callbacks_.onBody(at, static_cast<size_t>(end - at)) == ParserAction::Pause) {
        paused_ = true;
        return stop(true);
      }
      break;
    }

    case State::ChunkSize:
    case State::ChunkDataEnd: {
      Line got = takeLine(p, end, line, kMaxChunkLine);
      if (got == Line::Partial) return stop(false);
      if (got == Line::Failed) {
        if (state_ != State::Error) fail(ParseError::Malformed, "chunk line too long");
        return stop(false);
      }
      bool ok;
      if (state_ == State::ChunkDataEnd) {
        state_ = State::ChunkSize;
        ok = line.empty() || fail(ParseError::Malformed, "no CRLF after chunk data");
      } else {
        ok = parseChunkSize(line);
      }
      line_.clear();
      if (!ok) return stop(false);
      break;
    }

    case State::BodyDone:
      // After an upgrade request with a body (or a 101 answering HEAD), too, the caller is
      // told of the upgrade before anything else is parsed, as llhttp did.
      state_ = upgrade_ ? State::UpgradePending : keepAlive() ? State::Idle : State::Closed;
      inMessage_ = false;
      if (callbacks_.onMessageComplete() == ParserAction::Pause) {
        paused_ = true;
        return stop(true);
      }
      break;

    case State::UpgradePending:
      // What follows the head may not be HTTP/1: the caller decides (a tunnel, or resume()).
      upgradeReported_ = true;
      paused_ = true;
      return stop(true);
    }
  }
}

bool H1Parser::parseRequestLine(std::string_view line) {
  // request-line = method SP request-target SP HTTP-version (RFC 9112 §3), one SP each.
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0)
    return fail(ParseError::Malformed, "invalid request line");
  std::string_view method = line.substr(0, sp1);
  method_ = kNoMethod;
  for (uint8_t i = 0; i < std::size(kMethods); ++i) {
    if (kMethods[i] == method) {
      method_ = i;
      break;
    }
  }
  if (method_ == kNoMethod) {
    return fail(ParseError::Malformed, method == "PRI" ? "HTTP/2 preface on an HTTP/1 connection"
                                                       : "invalid method");
  }
  std::string_view rest = line.substr(sp1 + 1);
  size_t sp2 = rest.find(' ');
  if (sp2 == std::string_view::npos) return fail(ParseError::Malformed, "missing HTTP version");
  std::string_view target = rest.substr(0, sp2);
  if (target.empty()) return fail(ParseError::Malformed, "more than one space after the method");
  headBytes_ += target.size();
  if (headBytes_ > limits_.maxHeaderBytes) return fail(ParseError::UriTooLong, nullptr);
  if (!validTarget(target)) return fail(ParseError::Malformed, "invalid character in the request target");
  // origin-form, absolute-form and asterisk-form start with '/', a scheme letter or '*';
  // authority-form is CONNECT's alone.
  char first = target.front();
  if (method_ != kConnect && first != '/' && first != '*' &&
      !((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z')))
    return fail(ParseError::Malformed, "invalid request target");
  if (!parseVersion(rest.substr(sp2 + 1))) return false;
  target_.assign(target);
  return true;
}

bool H1Parser::parseStatusLine(std::string_view line) {
  // status-line = HTTP-version SP status-code SP [ reason-phrase ]; the SP after the code is
  // optional here when the reason is (RFC 9112 §4 asks clients to be lenient about it).
  if (line.size() < 12 || line[8] != ' ') return fail(ParseError::Malformed, "invalid status line");
  if (!parseVersion(line.substr(0, 8))) return false;
  int code = 0;
  for (size_t i = 9; i < 12; ++i) {
    char c = line[i];
    if (c < '0' || c > '9') return fail(ParseError::Malformed, "invalid status code");
    code = code * 10 + (c - '0');
  }
  if (code < 100) return fail(ParseError::Malformed, "invalid status code");
  if (line.size() > 12) {
    if (line[12] != ' ') return fail(ParseError::Malformed, "invalid status code");
    std::string_view reason = line.substr(13);
    if (!validValue(reason.data(), reason.size()))
      return fail(ParseError::Malformed, "invalid character in the reason phrase");
  }
  status_ = code;
  return true;
}

bool H1Parser::parseVersion(std::string_view v) {
  if (!v.starts_with("HTTP/")) return fail(ParseError::Malformed, "protocol other than HTTP");
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
      v[7] < '0' || v[7] > '9')
    return fail(ParseError::Malformed, "invalid HTTP version");
  int major = v[5] - '0', minor = v[7] - '0';
  // The versions llhttp knew: 0.9, 1.0, 1.1 and 2.0 (the gateway answers 505 to all but 1.x).
  if (!((major == 1 && minor <= 1) || (major == 0 && minor == 9) || (major == 2 && minor == 0)))
    return fail(ParseError::Malformed, "invalid HTTP version");
  major_ = static_cast<uint8_t>(major);
  minor_ = static_cast<uint8_t>(minor);
  return true;
}

bool H1Parser::parseHeaderLine(std::string_view line, bool trailer) {
  if (isOws(line.front())) {
    // RFC 9112 §5.2: obs-fold; a proxy must refuse it or unfold it, and unfolding changes what
    // a peer that does neither sees. Also whitespace before the first field (§2.2).
    return fail(ParseError::Malformed, headers_.size() ? "obsolete line folding in a header"
                                                        : "whitespace after the start line");
  }
  if (headers_.size() >= limits_.maxHeaders) return fail(ParseError::TooManyHeaders, nullptr);
  const char* colon = static_cast<const char*>(std::memchr(line.data(), ':', line.size()));
  if (colon == nullptr) return fail(ParseError::Malformed, "header line without a colon");
  size_t nameLen = static_cast<size_t>(colon - line.data());
  if (nameLen == 0) return fail(ParseError::Malformed, "empty header name");
  std::string_view value = trimOws(line.substr(nameLen + 1));
  headBytes_ += nameLen + value.size();
  if (headBytes_ > limits_.maxHeaderBytes) return fail(ParseError::HeadersTooLarge, nullptr);

  HeaderEntry& e = headers_.addEmpty();
  e.name.resize(nameLen);
  char* out = e.name.data();
  const unsigned char* in = reinterpret_cast<const unsigned char*>(line.data());
  char bad = 1;
  size_t i = 0;
  for (; i + 8 <= nameLen; i += 8) {
    uint64_t x, lower;
    std::memcpy(&x, in + i, 8);
    if (!lowerNameWord(x, lower)) break;
    std::memcpy(out + i, &lower, 8);
  }
  for (; i < nameLen; ++i) {
    char lc = kNames.map[in[i]];
    out[i] = lc;
    bad = lc == 0 ? 0 : bad;
  }
  if (bad == 0) return fail(ParseError::Malformed, "invalid character in header name");
  if (!validValue(value.data(), value.size()))
    return fail(ParseError::Malformed, "invalid character in header value");
  e.value.assign(value);
  // Trailer fields say nothing about framing or the connection.
  return trailer || noteSpecialHeader(e);
}

bool H1Parser::noteSpecialHeader(const HeaderEntry& e) {
  const std::string& n = e.name;
  switch (n.size()) {
  case 7:
    if (std::memcmp(n.data(), "upgrade", 7) == 0) upgradeHeader_ = true;
    return true;
  case 10:
  case 16: {
    // llhttp read both
    if (std::memcmp(n.data(), n.size() == 10 ? "connection" : "proxy-connection", n.size()) != 0)
      return true;
    std::string_view v = e.value;
    while (!v.empty()) {
      size_t comma = v.find(',');
      std::string_view token = trimOws(v.substr(0, comma));
      v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
      if (tokenIs(token, "close")) connClose_ = true;
      else if (tokenIs(token, "keep-alive")) connKeepAlive_ = true;
      else if (tokenIs(token, "upgrade")) connUpgrade_ = true;
    }
    return true;
  }
  case 14: {
    if (std::memcmp(n.data(), "content-length", 14) != 0) return true;
    // One Content-Length of decimal digits: a second one, even equal, is refused (two readers
    // could pick different ones; RFC 9112 §6.3 allows refusing).
    if (hasContentLength_) return fail(ParseError::Malformed, "more than one content-length");
    std::optional<uint64_t> cl = parseContentLength(e.value);
    if (!cl) return fail(ParseError::Malformed, "invalid content-length");
    hasContentLength_ = true;
    contentLength_ = *cl;
    return true;
  }
  case 17: {
    if (std::memcmp(n.data(), "transfer-encoding", 17) != 0) return true;
    tePresent_ = true;
    std::string_view v = e.value;  // trimmed
    if (v.empty()) return true;    // an empty field lists no coding (the request rule refuses it)
    teNonEmpty_ = true;
    // The final coding decides the framing: chunked only when the value ends in that token,
    // a trailing comma (empty element) included, as llhttp read it.
    bool lastChunked = false;
    while (true) {
      size_t comma = v.find(',');
      std::string_view token = trimOws(v.substr(0, comma));
      lastChunked = tokenIs(token, "chunked");
      if (lastChunked) ++teChunkedTokens_;
      else if (!token.empty()) teOnlyChunked_ = false;
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
    chunked_ = lastChunked;
    return true;
  }
  default: return true;
  }
}

bool H1Parser::checkFraming() {
  // RFC 9112 §6.1: a sender must not send both; a proxy must not pass both on (smuggling).
  if (teNonEmpty_ && hasContentLength_)
    return fail(ParseError::Malformed, "content-length with transfer-encoding");
  if (type_ == Type::Request && tePresent_ && !(chunked_ && teOnlyChunked_ && teChunkedTokens_ == 1)) {
    // "gzip, chunked" would be framed as chunked, but a proxy that re-chunks the body would drop
    // the other coding; RFC 9112 §6.1 lets a server refuse codings it does not implement, and
    // one chunked coding is all a request may carry here. An empty field counts too (§6.3: a
    // request whose final coding is not chunked is a 400).
    return fail(ParseError::Malformed, "transfer coding other than a single chunked");
  }
  // Set before onHeadersComplete so that the callback sees it: an upgrade needs Upgrade and
  // Connection: upgrade (and, in a response, 101); CONNECT always is one.
  if (upgradeHeader_ && connUpgrade_) upgrade_ = type_ == Type::Request || status_ == 101;
  else upgrade_ = type_ == Type::Request && method_ == kConnect;
  return true;
}

bool H1Parser::parseChunkSize(std::string_view line) {
  // chunk-size [ chunk-ext ] CRLF, chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ).
  size_t i = 0;
  uint64_t size = 0;
  for (; i < line.size(); ++i) {
    char c = line[i];
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else break;
    if (size >> 60) return fail(ParseError::Malformed, "chunk size overflow");
    size = size * 16 + static_cast<uint64_t>(d);
  }
  if (i == 0) return fail(ParseError::Malformed, "invalid chunk size");
  std::string_view ext = line.substr(i);
  while (!ext.empty()) {
    // Extensions are allowed and ignored, but must be well-formed (a bare CR is refused).
    while (!ext.empty() && isOws(ext.front())) ext.remove_prefix(1);
    if (ext.empty() || ext.front() != ';') return fail(ParseError::Malformed, "invalid chunk extension");
    ext.remove_prefix(1);
    while (!ext.empty() && isOws(ext.front())) ext.remove_prefix(1);
    size_t n = 0;
    while (n < ext.size() && isTchar(ext[n])) ++n;
    if (n == 0) return fail(ParseError::Malformed, "invalid chunk extension");
    ext.remove_prefix(n);
    while (!ext.empty() && isOws(ext.front())) ext.remove_prefix(1);
    if (ext.empty() || ext.front() != '=') continue;
    ext.remove_prefix(1);
    while (!ext.empty() && isOws(ext.front())) ext.remove_prefix(1);
    if (!ext.empty() && ext.front() == '"') {
      // quoted-string: qdtext or a quoted-pair, no control bytes but HTAB.
      size_t j = 1;
      bool closed = false;
      for (; j < ext.size(); ++j) {
        unsigned char c = static_cast<unsigned char>(ext[j]);
        if (c == '"') {
          closed = true;
          ++j;
          break;
        }
        if (c == '\\' && j + 1 < ext.size()) c = static_cast<unsigned char>(ext[++j]);
        if ((c < 0x20 && c != '\t') || c == 0x7f) break;
      }
      if (!closed) return fail(ParseError::Malformed, "invalid chunk extension");
      ext.remove_prefix(j);
    } else {
      n = 0;
      while (n < ext.size() && isTchar(ext[n])) ++n;
      if (n == 0) return fail(ParseError::Malformed, "invalid chunk extension");
      ext.remove_prefix(n);
    }
  }
  if (size == 0) {
    state_ = State::Trailers;
  } else {
    remaining_ = size;
    state_ = State::ChunkData;
  }
  return true;
}

bool H1Parser::hasBody() const { return chunked_ || contentLength_ > 0; }

void H1Parser::resume() {
  if (paused_) {
    paused_ = false;
    if (!upgradeReported_) return;
  }
  if (state_ == State::UpgradePending && upgradeReported_) {
    // After an upgrade request the gateway did not act on (Upgrade: h2c, or a websocket answered
    // without 101), the connection goes on as HTTP/1.1.
    upgradeReported_ = false;
    state_ = keepAlive() ? State::Idle : State::Closed;
  }
}

bool H1Parser::finish() {
  if (state_ == State::Error) return false;
  if (state_ == State::UpgradePending) return true;  // the head was whole; what follows is not HTTP/1
  if (paused_) {
    // A callback paused and the peer closed before the caller resumed: run what follows the
    // callback (e.g. completing a bodiless message) on no bytes, as the caller would have.
    paused_ = false;
    static const char kNoBytes = 0;
    ExecResult r = execute(&kNoBytes, 0);
    if (r.error) return false;
    if (r.paused) {
      if (state_ == State::UpgradePending) return true;
      paused_ = false;  // onMessageComplete paused: nothing follows
    }
  }
  if (!inMessage_) return true;  // between messages (also: don't complete one twice)
  if (state_ != State::BodyEof) return false;  // the close cut the message short
  state_ = State::Closed;
  inMessage_ = false;
  // A pause asked by onMessageComplete changes nothing: the message is whole.
  callbacks_.onMessageComplete();
  return true;
}

const char* H1Parser::errorReason() const {
  switch (error_) {
  case ParseError::None: return "";
  case ParseError::HeadersTooLarge: return "request headers too large";
  case ParseError::TooManyHeaders: return "too many headers";
  case ParseError::UriTooLong: return "request target too long";
  case ParseError::Malformed: break;
  }
  return reason_ ? reason_ : "malformed message";
}

std::string_view H1Parser::method() const {
  return method_ < std::size(kMethods) ? kMethods[method_] : std::string_view();
}
bool H1Parser::isHead() const { return method_ == kHead; }
int H1Parser::statusCode() const { return status_; }
int H1Parser::versionMajor() const { return major_; }
int H1Parser::versionMinor() const { return minor_; }
bool H1Parser::hasContentLength() const { return hasContentLength_; }
bool H1Parser::chunked() const { return chunked_; }
bool H1Parser::upgrade() const { return upgrade_; }

bool H1Parser::needsEof() const {
  if (type_ == Type::Request) return false;
  if (status_ < 200 || status_ == 204 || status_ == 304 || skipBody_) return false;
  if (teNonEmpty_ && !chunked_) return true;
  return !(chunked_ || hasContentLength_);
}
bool H1Parser::bodyUntilEof() const { return needsEof(); }

bool H1Parser::keepAlive() const {
  bool ka = major_ > 0 && minor_ > 0 ? !connClose_ : connKeepAlive_;
  return ka && !needsEof();
}

}  // namespace portico::http
