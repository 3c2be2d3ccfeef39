#include "observability/access_log_format.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstring>
#include <ctime>

#include "observability/json_text.h"

namespace portico::observability {

const char* const kDefaultAccessLogFormat =
    "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" "
    "%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "
    "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" "
    "\"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\"\n";

namespace {

using Op = AccessLogFormat::Op;
using Token = AccessLogFormat::Token;
using Fallback = AccessLogFormat::Fallback;

struct Simple {
  std::string_view name;
  Op op;
};
constexpr Simple kSimpleOps[] = {
    {"START_TIME", Op::StartTime},
    {"PROTOCOL", Op::Protocol},
    {"RESPONSE_CODE", Op::ResponseCode},
    {"RESPONSE_FLAGS", Op::ResponseFlags},
    {"BYTES_RECEIVED", Op::BytesReceived},
    {"BYTES_SENT", Op::BytesSent},
    {"DURATION", Op::Duration},
    {"UPSTREAM_HOST", Op::UpstreamHost},
    {"UPSTREAM_CLUSTER", Op::UpstreamCluster},
    {"DOWNSTREAM_REMOTE_ADDRESS", Op::DownstreamRemoteAddress},
    {"ROUTE_NAME", Op::RouteName},
    {"REQUEST_ID", Op::RequestId},
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

uint32_t responseIndex(std::vector<std::string>& list, const std::string& name) {
  for (size_t i = 0; i < list.size(); ++i)
    if (list[i] == name) return static_cast<uint32_t>(i);
  list.push_back(name);
  return static_cast<uint32_t>(list.size() - 1);
}

bool isNumeric(Op op) {
  return op == Op::ResponseCode || op == Op::BytesReceived || op == Op::BytesSent ||
         op == Op::Duration;
}

/// Makes room for `n` more bytes after the first `used` of `out` (resizing to its capacity at
/// least, so a reused string is not reallocated). Out of line: the cold path of LineWriter.
[[gnu::noinline]] void growLine(std::string& out, size_t used, size_t n) {
  out.resize(std::max({out.capacity(), used + n + 256, out.size() * 2}));
}

/// Writes into `out` past its size through a raw pointer: each piece costs a compare and a copy
/// instead of a std::string::append call. Everything is inlined into the render loop, so the
/// pointers stay in registers; finish() trims `out` to what was written.
class LineWriter {
public:
  explicit LineWriter(std::string& out) : out_(out) {
    size_t used = out.size();
    growLine(out_, used, 0);
    p_ = out_.data() + used;
    end_ = out_.data() + out_.size();
  }
  /// At least `n` writable bytes; advance() by what was used.
  char* room(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) [[unlikely]] {
      size_t used = size();
      growLine(out_, used, n);
      p_ = out_.data() + used;
      end_ = out_.data() + out_.size();
    }
    return p_;
  }
  void advance(size_t n) { p_ += n; }
  void put(std::string_view s) {
    memcpy(room(s.size()), s.data(), s.size());
    p_ += s.size();
  }
  void put(char c) {
    *room(1) = c;
    ++p_;
  }
  /// The token's short literal prefix: a fixed 16-byte copy, advanced by its length.
  void putPrefix(const Token& t) {
    memcpy(room(sizeof(t.prefix)), t.prefix, sizeof(t.prefix));
    p_ += t.prefixLength;
  }
  void putUnsigned(uint64_t v) {
    char* p = room(20);
    p_ = std::to_chars(p, p + 20, v).ptr;
  }
  /// Drops what was written since `mark` (a size()).
  void truncate(size_t mark) { p_ = out_.data() + mark; }
  size_t size() const { return static_cast<size_t>(p_ - out_.data()); }
  char last() const { return size() ? p_[-1] : '\0'; }
  void finish() { out_.resize(size()); }

private:
  std::string& out_;
  char* p_;
  char* end_;
};

/// "2026-11-26T14:06:46.123Z" (Envoy's default START_TIME). The part up to the seconds is cached
/// per thread and second: gmtime and strftime run once a second per worker, the milliseconds
/// are three digits written each time.
[[gnu::always_inline]] inline void putStartTime(LineWriter& w, int64_t unixUs) {
  thread_local int64_t cachedSecond = INT64_MIN;
  thread_local char cached[20];  // "YYYY-MM-DDTHH:MM:SS" (years 0-9999)
  int64_t second = unixUs / 1000000;
  if (second != cachedSecond) [[unlikely]] {
    time_t t = static_cast<time_t>(second);
    tm parts;
    gmtime_r(&t, &parts);
    if (strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &parts) != 19)
      memcpy(cached, "0000-00-00T00:00:00", 19);  // a year beyond 9999: no clock we run on
    cachedSecond = second;
  }
  char* p = w.room(24);
  memcpy(p, cached, 19);
  const int ms = static_cast<int>((unixUs / 1000) % 1000);
  p[19] = '.';
  p[20] = static_cast<char>('0' + ms / 100);
  p[21] = static_cast<char>('0' + ms / 10 % 10);
  p[22] = static_cast<char>('0' + ms % 10);
  p[23] = 'Z';
  w.advance(24);
}

/// The JSON escaping of access log values: '"', '\\' and control characters (as \u00xx); other
/// bytes as they are (Envoy writes header bytes through unchanged too).
[[gnu::always_inline]] inline void putJsonEscaped(LineWriter& w, std::string_view s) {
  for (;;) {
    size_t run = firstJsonSpecial(s, false);  // most values need no escaping: one copy
    w.put(s.substr(0, run));
    if (run == s.size()) return;
    const auto c = static_cast<unsigned char>(s[run]);
    if (c == '"' || c == '\\') {
      char* p = w.room(2);
      p[0] = '\\';
      p[1] = static_cast<char>(c);
      w.advance(2);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      char* p = w.room(6);
      memcpy(p, "\\u00", 4);
      p[4] = kHex[c >> 4];
      p[5] = kHex[c & 15];
      w.advance(6);
    }
    s.remove_prefix(run + 1);
  }
}

/// The value a transformation set for the token's (namespace, key); empty when none.
inline std::string_view dynamicMetadataValue(const Token& t, const AccessLogEntry& e) {
  const std::string* v = e.dynamicMetadata ? e.dynamicMetadata->find(t.text, t.alternative) : nullptr;
  return v ? std::string_view(*v) : std::string_view();
}

/// A string value of the token; empty when absent (an empty value counts as absent).
[[gnu::always_inline]] inline std::string_view stringValue(const Token& t, const AccessLogEntry& e) {
  switch (t.op) {
  case Op::Method: return e.method;
  case Op::Path: return e.target;
  case Op::Authority: return e.authority;
  case Op::Protocol: return e.protocol;
  case Op::UpstreamHost: return e.upstreamHost;
  case Op::UpstreamCluster: return e.upstreamCluster;
  case Op::DownstreamRemoteAddress: return e.downstreamRemoteAddress;
  case Op::RouteName: return e.routeName;
  case Op::RequestId: return e.requestId;
  case Op::DynamicMetadata: return dynamicMetadataValue(t, e);
  case Op::RequestHeader: {
    if (!e.requestHeaders) return {};
    const std::string* v = e.requestHeaders->get(t.text);
    if (!v) {
      switch (t.fallback) {
      case Fallback::None: break;
      case Fallback::Path: return e.target;
      case Fallback::Authority: return e.authority;
      case Fallback::Method: return e.method;
      case Fallback::Header: v = e.requestHeaders->get(t.alternative); break;
      }
    }
    // The gateway generates x-request-id when the client sent none: log the one it sent on.
    if (!v) return t.requestId ? e.requestId : std::string_view();
    return *v;
  }
  case Op::ResponseHeader: {
    if (!e.responseHeaders || t.responseIndex >= e.responseHeaders->size()) return {};
    std::string_view v = (*e.responseHeaders)[t.responseIndex];
    if (v.empty() && t.alternativeIndex < e.responseHeaders->size())
      v = (*e.responseHeaders)[t.alternativeIndex];
    return v;
  }
  default: return {};
  }
}

/// Writes the token's value (JSON-escaped when `json`; literals are stored escaped); false
/// (nothing written) when absent.
[[gnu::always_inline]] inline bool putValue(LineWriter& w, const Token& t, const AccessLogEntry& e, bool json) {
  switch (t.op) {
  case Op::Literal: w.put(t.text); return true;
  case Op::StartTime: putStartTime(w, e.startUnixUs); return true;
  case Op::ResponseCode: w.putUnsigned(static_cast<uint64_t>(e.responseCode)); return true;
  case Op::BytesReceived: w.putUnsigned(e.bytesReceived); return true;
  case Op::BytesSent: w.putUnsigned(e.bytesSent); return true;
  case Op::Duration: w.putUnsigned(e.durationUs / 1000); return true;
  case Op::ResponseFlags:
    w.advance(formatResponseFlags(w.room(kResponseFlagsMaxLength), e.responseFlags));
    return true;
  default: break;
  }
  std::string_view v = stringValue(t, e);
  if (v.empty()) return false;
  if (t.maxLength && v.size() > t.maxLength) v = v.substr(0, t.maxLength);
  json ? putJsonEscaped(w, v) : w.put(v);
  return true;
}

/// The N of an operator's ":N" suffix (`length`; empty: 0, no truncation).
Status parseMaxLength(std::string_view length, const std::string& text, size_t& out) {
  uint64_t n = 0;
  for (char d : length) {
    if (d < '0' || d > '9' || n > 1000000)
      return Status::error("command operator " + text + ": \"" + std::string(length) +
                           "\" is not a length");
    n = n * 10 + static_cast<uint64_t>(d - '0');
  }
  out = n;
  return Status();
}

/// %DYNAMIC_METADATA(NAMESPACE:KEY):Z% (Envoy's syntax) into `t`. Transformation metadata
/// values are strings, so there is no nested key to look into and no whole namespace to print
/// as an object: both are rejected rather than always printing "-".
Status parseDynamicMetadata(bool hasArg, std::string_view arg, std::string_view length,
                            const std::string& text, Token& t) {
  size_t colon = arg.find(':');
  if (!hasArg || colon == std::string_view::npos || colon == 0 || colon + 1 == arg.size())
    return Status::error("command operator " + text +
                         ": expected %DYNAMIC_METADATA(NAMESPACE:KEY)%, e.g. "
                         "%DYNAMIC_METADATA(io.solo.transformation:user)%");
  if (arg.find(':', colon + 1) != std::string_view::npos)
    return Status::error("command operator " + text +
                         ": nested keys are not supported (transformation metadata values are "
                         "strings); to truncate, write %DYNAMIC_METADATA(NAMESPACE:KEY):LENGTH%");
  t.op = Op::DynamicMetadata;
  t.text = std::string(arg.substr(0, colon));
  t.alternative = std::string(arg.substr(colon + 1));
  return parseMaxLength(length, text, t.maxLength);
}

}  // namespace

size_t formatResponseFlags(char* out, uint32_t flags) {
  static constexpr std::pair<uint32_t, std::string_view> kNames[] = {
      {kUpstreamConnectionFailure, "UF"}, {kUpstreamConnectionTermination, "UC"},
      {kUpstreamOverflow, "UO"},          {kNoRouteFound, "NR"},
      {kNoHealthyUpstream, "UH"},         {kUpstreamRequestTimeout, "UT"},
      {kDelayInjected, "DI"},             {kFaultInjected, "FI"},
      {kDownstreamConnectionTermination, "DC"}, {kUpstreamRetryLimitExceeded, "URX"}};
  if (flags == 0) {
    out[0] = '-';
    return 1;
  }
  size_t n = 0;
  for (const auto& [bit, name] : kNames) {
    if (!(flags & bit)) continue;
    if (n) out[n++] = ',';
    memcpy(out + n, name.data(), name.size());
    n += name.size();
  }
  return n;
}

Result<std::vector<Token>> AccessLogFormat::parse(std::string_view format,
                                                  std::vector<std::string>& responseHeaders,
                                                  bool json) {
  std::vector<Token> tokens;
  std::string literal;
  auto escaped = [json](const std::string& text) {
    if (!json) return text;
    std::string out;
    LineWriter w(out);
    putJsonEscaped(w, text);
    w.finish();
    return out;
  };
  auto flushLiteral = [&] {
    if (literal.empty()) return;
    Token t;
    t.text = escaped(literal);
    tokens.push_back(std::move(t));
    literal.clear();
  };
  // An operator takes the literal before it as its prefix when that fits.
  auto pushOperator = [&](Token&& t) {
    std::string text = escaped(literal);
    if (text.size() <= sizeof(t.prefix)) {
      memcpy(t.prefix, text.data(), text.size());
      t.prefixLength = static_cast<uint8_t>(text.size());
      literal.clear();
    }
    flushLiteral();
    tokens.push_back(std::move(t));
  };
  size_t i = 0;
  while (i < format.size()) {
    char c = format[i];
    if (c != '%') {
      literal += c;
      ++i;
      continue;
    }
    size_t end = format.find('%', i + 1);
    // A '%' inside a (...) argument does not close the operator: look past the ')'.
    size_t paren = format.find('(', i + 1);
    if (paren != std::string_view::npos && end != std::string_view::npos && paren < end) {
      size_t close = format.find(')', paren);
      if (close != std::string_view::npos) end = format.find('%', close);
    }
    if (end == std::string_view::npos)
      return Status::error("unterminated command operator \"" + std::string(format.substr(i)) +
                           "\" (operators look like %NAME% or %REQ(header)%)");
    std::string_view op = format.substr(i + 1, end - i - 1);
    std::string text = "%" + std::string(op) + "%";
    i = end + 1;
    if (op.empty()) return Status::error("empty command operator \"%%\"");

    std::string_view name = op, arg, length;
    bool hasArg = false;
    size_t open = op.find('(');
    if (open != std::string_view::npos) {
      size_t close = op.find(')', open);
      if (close == std::string_view::npos)
        return Status::error("command operator " + text + ": missing ')'");
      name = op.substr(0, open);
      arg = op.substr(open + 1, close - open - 1);
      hasArg = true;
      std::string_view rest = op.substr(close + 1);
      if (!rest.empty()) {
        if (rest[0] != ':' || rest.size() < 2)
          return Status::error("command operator " + text + ": unexpected \"" + std::string(rest) + "\"");
        length = rest.substr(1);
      }
    }
    Token t;
    if (name == "REQ" || name == "RESP") {
      if (!hasArg || arg.empty())
        return Status::error("command operator " + text + ": needs a header name, e.g. %" +
                             std::string(name) + "(user-agent)%");
      size_t q = arg.find('?');
      std::string main = lower(arg.substr(0, q));
      std::string alt = q == std::string_view::npos ? "" : lower(arg.substr(q + 1));
      Status st = parseMaxLength(length, text, t.maxLength);
      if (!st.ok()) return st;
      if (name == "REQ") {
        t.op = Op::RequestHeader;
        if (main == ":method") t.op = Op::Method;
        else if (main == ":path") t.op = Op::Path;
        else if (main == ":authority") t.op = Op::Authority;
        else if (main[0] == ':' && main != "x-envoy-original-path")
          return Status::error("command operator " + text + ": pseudo-header " + main +
                               " is not supported (:method, :path, :authority are)");
        t.text = main;
        t.alternative = alt;
        t.requestId = main == "x-request-id";
        if (alt.empty()) t.fallback = Fallback::None;
        else if (alt == ":path") t.fallback = Fallback::Path;
        else if (alt == ":authority") t.fallback = Fallback::Authority;
        else if (alt == ":method") t.fallback = Fallback::Method;
        else t.fallback = Fallback::Header;
        // %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%: no rewrite ever sets it here, so it is :path.
        if (main == "x-envoy-original-path" && alt == ":path") {
          Token path;
          path.op = Op::Path;
          path.maxLength = t.maxLength;
          t = std::move(path);
        }
      } else {
        t.op = Op::ResponseHeader;
        t.text = main;
        t.responseIndex = responseIndex(responseHeaders, main);
        if (!alt.empty()) t.alternativeIndex = responseIndex(responseHeaders, alt);
      }
      pushOperator(std::move(t));
      continue;
    }
    if (name == "DYNAMIC_METADATA") {
      Status st = parseDynamicMetadata(hasArg, arg, length, text, t);
      if (!st.ok()) return st;
      pushOperator(std::move(t));
      continue;
    }
    if (hasArg)
      return Status::error("command operator " + text + " takes no argument (or is not supported)");
    bool known = false;
    for (const Simple& s : kSimpleOps) {
      if (s.name == name) {
        t.op = s.op;
        known = true;
        break;
      }
    }
    if (!known) return Status::error("unknown command operator " + text);
    pushOperator(std::move(t));
  }
  flushLiteral();
  return tokens;
}

Result<AccessLogFormat> AccessLogFormat::compileText(std::string_view format,
                                                     std::vector<std::string>& responseHeaders) {
  auto tokens = parse(format.empty() ? std::string_view(kDefaultAccessLogFormat) : format,
                      responseHeaders, false);
  if (!tokens.ok()) return tokens.status();
  AccessLogFormat f;
  f.tokens_ = std::move(*tokens);
  return f;
}

Result<AccessLogFormat> AccessLogFormat::compileJson(
    const std::vector<std::pair<std::string, std::string>>& fields,
    std::vector<std::string>& responseHeaders) {
  AccessLogFormat f;
  f.json_ = true;
  for (const auto& [key, value] : fields) {
    auto tokens = parse(value, responseHeaders, true);
    if (!tokens.ok()) return Status::error(key + ": " + tokens.error());
    Field field;
    field.jsonKey = "\"";
    LineWriter w(field.jsonKey);
    putJsonEscaped(w, key);
    w.finish();
    field.jsonKey += "\":";
    field.tokens = std::move(*tokens);
    f.fields_.push_back(std::move(field));
  }
  return f;
}

void AccessLogFormat::render(const AccessLogEntry& e, std::string& out) const {
  if (json_) renderJson(e, out);
  else renderText(e, out);
}

void AccessLogFormat::renderText(const AccessLogEntry& e, std::string& out) const {
  LineWriter w(out);
  for (const Token& t : tokens_) {
    w.putPrefix(t);
    if (!putValue(w, t, e, false)) w.put('-');
  }
  // Envoy formats carry their own "\n"; one without it still gets one line per request.
  if (w.last() != '\n') w.put('\n');
  w.finish();
}

void AccessLogFormat::renderJson(const AccessLogEntry& e, std::string& out) const {
  LineWriter w(out);
  w.put('{');
  for (size_t i = 0; i < fields_.size(); ++i) {
    const Field& f = fields_[i];
    if (i) w.put(',');
    w.put(f.jsonKey);
    if (f.tokens.size() == 1 && f.tokens[0].op != Op::Literal && f.tokens[0].prefixLength == 0) {
      const Token& first = f.tokens[0];
      // One operator: a number stays a number, an absent value is null.
      if (isNumeric(first.op)) {
        putValue(w, first, e, false);
        continue;
      }
      size_t mark = w.size();
      w.put('"');
      if (!putValue(w, first, e, true)) {
        w.truncate(mark);
        w.put("null");
        continue;
      }
      w.put('"');
      continue;
    }
    w.put('"');
    for (const Token& t : f.tokens) {
      w.putPrefix(t);
      if (!putValue(w, t, e, true)) w.put('-');
    }
    w.put('"');
  }
  w.put("}\n");
  w.finish();
}

}  // namespace portico::observability
