// The Zipkin v2 and OTLP/HTTP JSON encodings of a span batch, written by hand into a reused
// buffer. Keys come in the byte order of their names (the order nlohmann::json, used before,
// wrote them in), so a batch is byte-for-byte what it was.
#include <algorithm>
#include <array>
#include <charconv>

#include "observability/access_log_format.h"
#include "observability/json_text.h"
#include "observability/tracing_context.h"
#include "observability/tracing_export.h"

namespace portico::observability {

namespace {

void appendHexId(std::string& out, uint64_t v) {
  char b[18] = {'"'};
  hex16(v, b + 1);
  b[17] = '"';
  out.append(b, 18);
}

void appendTraceId(std::string& out, const Span& s, bool allow64) {
  char b[34] = {'"'};
  if (allow64 && s.traceId64 && s.traceHi == 0) {
    hex16(s.traceLo, b + 1);
    b[17] = '"';
    out.append(b, 18);
    return;
  }
  hex16(s.traceHi, b + 1);
  hex16(s.traceLo, b + 17);
  b[33] = '"';
  out.append(b, 34);
}

/// A decimal number held inline (tag values are strings in both formats).
struct Digits {
  char text[24];
  size_t len = 0;
  explicit Digits(uint64_t v) { len = static_cast<size_t>(std::to_chars(text, text + sizeof(text), v).ptr - text); }
  std::string_view view() const { return {text, len}; }
};

/// The span's tags as (key, value) pairs, in the order the OTLP attributes list them. The values
/// point into the span or into this object.
struct Tags {
  struct Tag {
    std::string_view key, value;
    bool integer = false;  ///< OTLP intValue
  };
  std::array<Tag, 12> items;
  size_t n = 0;
  Digits status, attempt, resends;
  char flags[kResponseFlagsMaxLength];

  Tags(const Span& s, bool otlp) : status(s.status), attempt(s.attempt), resends(s.attempt ? s.attempt - 1 : 0) {
    add(otlp ? "http.request.method" : "http.method", s.method.view());
    if (s.status) add(otlp ? "http.response.status_code" : "http.status_code", status.view(), true);
    add(otlp ? "server.address" : "http.host", s.host.view());
    add("portico.route", s.route.view());
    add("portico.virtual_service", s.virtualService.view());
    add("portico.upstream", s.upstream.view());
    if (s.kind == SpanKind::Server) {
      add(otlp ? "url.path" : "http.path", s.path.view());
      add(otlp ? "client.address" : "peer.address", s.peer.view());
      if (s.responseFlags) add("portico.response_flags", {flags, formatResponseFlags(flags, s.responseFlags)});
    } else {
      add(otlp ? "network.peer.address" : "peer.address", s.upstreamHost.view());
      add("portico.attempt", attempt.view(), true);
      if (s.attempt > 1) add("portico.retry", "true");
      if (otlp && s.attempt > 1) add("http.request.resend_count", resends.view(), true);
    }
  }
  void add(std::string_view key, std::string_view value, bool integer = false) {
    if (!value.empty()) items[n++] = {key, value, integer};
  }
};

/// The span's error text: its SpanError, else a 5xx status; empty when it succeeded.
std::string_view errorText(const Span& s, const Tags& tags) {
  if (s.status >= 500 && (s.error == SpanError::None || s.error == SpanError::Status5xx))
    return tags.status.view();
  return toString(s.error);  // "" for None
}

void appendSpanName(std::string& out, const Span& s) {
  std::string_view method = s.method.view();
  std::string_view what = s.kind == SpanKind::Server ? s.route.view() : s.upstream.view();
  if (what.empty() && s.kind == SpanKind::Server) what = s.path.view();
  if (method.empty() && what.empty()) {
    out += "\"request\"";
    return;
  }
  if (method.empty() || what.empty()) {
    appendJsonString(out, method.empty() ? what : method);
    return;
  }
  // "GET route", escaped in two parts: the space between them ends any UTF-8 sequence, so the
  // parts escape as the joined string would.
  out += '"';
  appendJsonEscaped(out, method);
  out += ' ';
  appendJsonEscaped(out, what);
  out += '"';
}

/// Zipkin's endpoint: an IP literal goes in ipv4/ipv6, "ip:port" also sets the port. Nothing
/// when it would be an empty object.
void appendZipkinEndpoint(std::string& out, std::string_view address, std::string_view serviceName) {
  std::string_view ip = address, port;
  if (ip.starts_with('[')) {  // [v6]:port
    size_t close = ip.find(']');
    if (close != std::string_view::npos) {
      if (close + 2 < ip.size()) port = ip.substr(close + 2);
      ip = ip.substr(1, close - 1);
    }
  } else if (std::count(ip.begin(), ip.end(), ':') == 1) {  // v4:port
    size_t colon = ip.find(':');
    port = ip.substr(colon + 1);
    ip = ip.substr(0, colon);
  }
  uint32_t portNumber = 0;  // the leading digits, as atoi read them
  for (size_t i = 0; i < port.size() && i < 6 && port[i] >= '0' && port[i] <= '9'; ++i)
    portNumber = portNumber * 10 + static_cast<uint32_t>(port[i] - '0');
  bool v6 = ip.find(':') != std::string_view::npos;
  bool v4 = !v6 && !ip.empty() && ip.find_first_not_of("0123456789.") == std::string_view::npos;
  bool withPort = portNumber > 0 && portNumber < 65536 && (v4 || v6);
  if (!v4 && !v6 && serviceName.empty()) return;
  out += ",\"remoteEndpoint\":{";
  const char* comma = "";
  if (v4 || v6) {
    out += v4 ? "\"ipv4\":" : "\"ipv6\":";
    appendJsonString(out, ip);
    comma = ",";
  }
  if (withPort) {
    out += ",\"port\":";
    appendDecimal(out, static_cast<uint64_t>(portNumber));
  }
  if (!serviceName.empty()) {
    out += comma;
    out += "\"serviceName\":";
    appendJsonString(out, serviceName);
  }
  out += '}';
}

void appendZipkinSpan(std::string& out, const Span& s, std::string_view serviceName) {
  out += s.debug ? "{\"debug\":true,\"duration\":" : "{\"duration\":";
  appendDecimal(out, s.durationUs ? s.durationUs : uint64_t{1});  // 0 reads as "unknown" in Zipkin
  out += ",\"id\":";
  appendHexId(out, s.id);
  out += s.kind == SpanKind::Server ? ",\"kind\":\"SERVER\"" : ",\"kind\":\"CLIENT\"";
  out += ",\"localEndpoint\":{\"serviceName\":";
  appendJsonString(out, serviceName);
  out += "},\"name\":";
  appendSpanName(out, s);
  if (s.parentId) {
    out += ",\"parentId\":";
    appendHexId(out, s.parentId);
  }
  if (s.kind == SpanKind::Server) appendZipkinEndpoint(out, s.peer.view(), {});
  else appendZipkinEndpoint(out, s.upstreamHost.view(), s.upstream.view());
  // Tags are a JSON object: sorted by key, as before; the error tag joins them.
  Tags tags(s, false);
  tags.add("error", errorText(s, tags));
  std::sort(tags.items.begin(), tags.items.begin() + static_cast<std::ptrdiff_t>(tags.n),
            [](const Tags::Tag& a, const Tags::Tag& b) { return a.key < b.key; });
  out += ",\"tags\":{";
  for (size_t i = 0; i < tags.n; ++i) {
    if (i) out += ',';
    appendJsonString(out, tags.items[i].key);
    out += ':';
    appendJsonString(out, tags.items[i].value);
  }
  out += "},\"timestamp\":";
  appendDecimal(out, s.startUnixUs);
  out += ",\"traceId\":";
  appendTraceId(out, s, true);
  out += '}';
}

void appendOtlpSpan(std::string& out, const Span& s) {
  Tags tags(s, true);
  out += "{\"attributes\":[";
  for (size_t i = 0; i < tags.n; ++i) {
    out += i ? ",{\"key\":" : "{\"key\":";
    appendJsonString(out, tags.items[i].key);
    out += tags.items[i].integer ? ",\"value\":{\"intValue\":" : ",\"value\":{\"stringValue\":";
    appendJsonString(out, tags.items[i].value);
    out += "}}";
  }
  // fixed64 fields are strings in the protobuf JSON mapping.
  const uint64_t start = static_cast<uint64_t>(s.startUnixUs) * 1000;
  out += "],\"endTimeUnixNano\":\"";
  appendDecimal(out, start + s.durationUs * 1000);
  out += s.kind == SpanKind::Server ? "\",\"kind\":2,\"name\":" : "\",\"kind\":3,\"name\":";  // SERVER, CLIENT
  appendSpanName(out, s);
  if (s.parentId) {
    out += ",\"parentSpanId\":";
    appendHexId(out, s.parentId);
  }
  out += ",\"spanId\":";
  appendHexId(out, s.id);
  out += ",\"startTimeUnixNano\":\"";
  appendDecimal(out, start);
  out += '"';
  std::string_view err = errorText(s, tags);
  if (!err.empty()) {
    out += ",\"status\":{\"code\":2,\"message\":";  // STATUS_CODE_ERROR
    appendJsonString(out, err);
    out += '}';
  }
  out += ",\"traceId\":";
  appendTraceId(out, s, false);
  out += '}';
}

}  // namespace

void encodeZipkin(const Span* spans, size_t n, std::string_view serviceName, std::string& out) {
  out += '[';
  for (size_t i = 0; i < n; ++i) {
    if (i) out += ',';
    appendZipkinSpan(out, spans[i], serviceName);
  }
  out += ']';
}

void encodeOtlp(const Span* spans, size_t n, std::string_view serviceName, std::string& out) {
  out += "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
         "{\"stringValue\":";
  appendJsonString(out, serviceName);
  out += "}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"portico\",\"version\":";
  appendJsonString(out, PORTICO_VERSION);
  out += "},\"spans\":[";
  for (size_t i = 0; i < n; ++i) {
    if (i) out += ',';
    appendOtlpSpan(out, spans[i]);
  }
  out += "]}]}]}";
}

std::string encodeZipkin(const Span* spans, size_t n, std::string_view serviceName) {
  std::string out;
  encodeZipkin(spans, n, serviceName, out);
  return out;
}

std::string encodeOtlp(const Span* spans, size_t n, std::string_view serviceName) {
  std::string out;
  encodeOtlp(spans, n, serviceName, out);
  return out;
}

}  // namespace portico::observability
