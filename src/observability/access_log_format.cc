#include "observability/access_log_format.h"

#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <ctime>

namespace portico::observability {

const char* const kDefaultAccessLogFormat =
    "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" "
    "%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "
    "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" "
    "\"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\"\n";

namespace {

using Op = AccessLogFormat::Op;
using Token = AccessLogFormat::Token;

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

void appendUnsigned(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, static_cast<size_t>(r.ptr - buf));
}

/// "2026-11-26T14:06:46.123Z" (Envoy's default START_TIME). The date part is cached per thread
/// and second: gmtime runs once a second per worker.
void appendStartTime(std::string& out, int64_t unixUs) {
  thread_local int64_t cachedSecond = -1;
  thread_local char cached[24];
  int64_t second = unixUs / 1000000;
  if (second != cachedSecond) {
    time_t t = static_cast<time_t>(second);
    tm parts;
    gmtime_r(&t, &parts);
    strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &parts);
    cachedSecond = second;
  }
  out += cached;
  int ms = static_cast<int>((unixUs / 1000) % 1000);
  const char frac[6] = {'.', static_cast<char>('0' + ms / 100), static_cast<char>('0' + ms / 10 % 10),
                        static_cast<char>('0' + ms % 10), 'Z', 0};
  out.append(frac, 5);
}

void appendJsonEscaped(std::string& out, std::string_view s) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (u < 0x20) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
}

/// Appends the token's value; false (nothing appended) when the value is absent.
bool appendValue(const Token& t, const AccessLogEntry& e, std::string& out) {
  auto view = [&](std::string_view v) {
    if (v.empty()) return false;
    out.append(t.maxLength && v.size() > t.maxLength ? v.substr(0, t.maxLength) : v);
    return true;
  };
  switch (t.op) {
  case Op::Literal: out += t.text; return true;
  case Op::StartTime: appendStartTime(out, e.startUnixUs); return true;
  case Op::Method: return view(e.method);
  case Op::Path: return view(e.target);
  case Op::Authority: return view(e.authority);
  case Op::Protocol: return view(e.protocol);
  case Op::RequestHeader: {
    if (!e.requestHeaders) return false;
    const std::string* v = e.requestHeaders->get(t.text);
    if (!v && !t.alternative.empty()) {
      if (t.alternative == ":path") return view(e.target);
      if (t.alternative == ":authority") return view(e.authority);
      if (t.alternative == ":method") return view(e.method);
      v = e.requestHeaders->get(t.alternative);
    }
    // The gateway generates x-request-id when the client sent none: log the one it sent on.
    if (!v && t.text == "x-request-id") return view(e.requestId);
    return v && view(*v);
  }
  case Op::ResponseHeader:
    if (!e.responseHeaders || t.responseIndex >= e.responseHeaders->size()) return false;
    if (view((*e.responseHeaders)[t.responseIndex])) return true;
    return t.alternativeIndex < e.responseHeaders->size() &&
           view((*e.responseHeaders)[t.alternativeIndex]);
  case Op::ResponseCode: appendUnsigned(out, static_cast<uint64_t>(e.responseCode)); return true;
  case Op::ResponseFlags: appendResponseFlags(out, e.responseFlags); return true;
  case Op::BytesReceived: appendUnsigned(out, e.bytesReceived); return true;
  case Op::BytesSent: appendUnsigned(out, e.bytesSent); return true;
  case Op::Duration: appendUnsigned(out, e.durationUs / 1000); return true;
  case Op::UpstreamHost: return view(e.upstreamHost);
  case Op::UpstreamCluster: return view(e.upstreamCluster);
  case Op::DownstreamRemoteAddress: return view(e.downstreamRemoteAddress);
  case Op::RouteName: return view(e.routeName);
  case Op::RequestId: return view(e.requestId);
  }
  return false;
}

}  // namespace

void appendResponseFlags(std::string& out, uint32_t flags) {
  static constexpr std::pair<uint32_t, const char*> kNames[] = {
      {kUpstreamConnectionFailure, "UF"}, {kUpstreamConnectionTermination, "UC"},
      {kUpstreamOverflow, "UO"},          {kNoRouteFound, "NR"},
      {kNoHealthyUpstream, "UH"},         {kUpstreamRequestTimeout, "UT"},
      {kDelayInjected, "DI"},             {kFaultInjected, "FI"},
      {kDownstreamConnectionTermination, "DC"}, {kUpstreamRetryLimitExceeded, "URX"}};
  if (flags == 0) {
    out += '-';
    return;
  }
  bool first = true;
  for (const auto& [bit, name] : kNames) {
    if (!(flags & bit)) continue;
    if (!first) out += ',';
    out += name;
    first = false;
  }
}

Result<std::vector<Token>> AccessLogFormat::parse(std::string_view format,
                                                  std::vector<std::string>& responseHeaders) {
  std::vector<Token> tokens;
  std::string literal;
  auto flushLiteral = [&] {
    if (literal.empty()) return;
    tokens.push_back({Op::Literal, literal, {}, 0, UINT32_MAX, 0});
    literal.clear();
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
    flushLiteral();

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
      if (!length.empty()) {
        uint64_t n = 0;
        for (char d : length) {
          if (d < '0' || d > '9' || n > 1000000)
            return Status::error("command operator " + text + ": \"" + std::string(length) +
                                 "\" is not a length");
          n = n * 10 + static_cast<uint64_t>(d - '0');
        }
        t.maxLength = n;
      }
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
        // %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%: no rewrite ever sets it here, so it is :path.
        if (main == "x-envoy-original-path" && alt == ":path") t = {Op::Path, "", "", 0, UINT32_MAX, t.maxLength};
      } else {
        t.op = Op::ResponseHeader;
        t.text = main;
        t.responseIndex = responseIndex(responseHeaders, main);
        if (!alt.empty()) t.alternativeIndex = responseIndex(responseHeaders, alt);
      }
      tokens.push_back(std::move(t));
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
    tokens.push_back(std::move(t));
  }
  flushLiteral();
  return tokens;
}

Result<AccessLogFormat> AccessLogFormat::compileText(std::string_view format,
                                                     std::vector<std::string>& responseHeaders) {
  auto tokens = parse(format.empty() ? std::string_view(kDefaultAccessLogFormat) : format,
                      responseHeaders);
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
    auto tokens = parse(value, responseHeaders);
    if (!tokens.ok()) return Status::error(key + ": " + tokens.error());
    Field field;
    field.jsonKey = "\"";
    appendJsonEscaped(field.jsonKey, key);
    field.jsonKey += "\":";
    field.tokens = std::move(*tokens);
    f.fields_.push_back(std::move(field));
  }
  return f;
}

void AccessLogFormat::renderTokens(const std::vector<Token>& tokens, const AccessLogEntry& e,
                                   std::string& out, bool json) {
  if (!json) {
    // appendValue appends nothing when it returns false.
    for (const Token& t : tokens)
      if (!appendValue(t, e, out)) out += '-';
    return;
  }
  thread_local std::string value;
  for (const Token& t : tokens) {
    value.clear();
    if (!appendValue(t, e, value)) value = "-";
    if (json) appendJsonEscaped(out, value);
    else out += value;
  }
}

void AccessLogFormat::render(const AccessLogEntry& e, std::string& out) const {
  if (!json_) {
    renderTokens(tokens_, e, out, false);
    // Envoy formats carry their own "\n"; one without it still gets one line per request.
    if (out.empty() || out.back() != '\n') out += '\n';
    return;
  }
  out += '{';
  for (size_t i = 0; i < fields_.size(); ++i) {
    const Field& f = fields_[i];
    if (i) out += ',';
    out += f.jsonKey;
    if (f.tokens.size() == 1 && f.tokens[0].op != Op::Literal) {
      // One operator: a number stays a number, an absent value is null.
      size_t mark = out.size();
      if (isNumeric(f.tokens[0].op)) {
        appendValue(f.tokens[0], e, out);
        continue;
      }
      thread_local std::string value;
      value.clear();
      if (!appendValue(f.tokens[0], e, value)) {
        out.resize(mark);
        out += "null";
        continue;
      }
      out += '"';
      appendJsonEscaped(out, value);
      out += '"';
      continue;
    }
    out += '"';
    renderTokens(f.tokens, e, out, true);
    out += '"';
  }
  out += "}\n";
}

}  // namespace portico::observability
