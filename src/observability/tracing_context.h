// Trace context propagation: parses W3C traceparent/tracestate and B3 (single `b3` and multi
// `x-b3-*`) request headers, and writes the context of an outgoing request in the same format.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/buffer.h"
#include "http/header_map.h"
#include "observability/tracing_span.h"

namespace portico::observability {

/// The header format a context arrived in (and is propagated in).
enum class TraceFormat : uint8_t { W3C, B3Single, B3Multi };
const char* toString(TraceFormat f);

/// A caller's sampling decision: none given (defer to our sampler), record, don't record.
enum class SamplingDecision : uint8_t { Defer, Accept, Deny };

/// What the incoming headers carried. `hasIds` false: no (valid) trace to continue — either no
/// header at all, a malformed one (ignored), or a B3 sampling-only header ("b3: 0").
struct IncomingContext {
  bool hasIds = false;
  TraceFormat format = TraceFormat::W3C;
  SamplingDecision sampling = SamplingDecision::Defer;
  bool debug = false;       ///< B3 debug ("d", x-b3-flags: 1): implies Accept
  bool traceId64 = false;   ///< B3 64-bit trace id (propagated as 16 hex digits)
  uint64_t traceHi = 0, traceLo = 0;
  uint64_t spanId = 0;      ///< the caller's span: our server span's parent
};

/// Reads the tracing headers of a request. Precedence: a valid traceparent, then a valid `b3`,
/// then valid `x-b3-*`. Malformed values (wrong length, bad or uppercase hex, all-zero ids, a
/// repeated header, version ff) are ignored: the caller then starts a new root. No allocation.
IncomingContext parseIncoming(const http::HeaderMap& headers);

// The single-format parsers (exposed for tests). False when `value` is malformed.
bool parseTraceparent(std::string_view value, IncomingContext& out);
bool parseB3Single(std::string_view value, IncomingContext& out);
/// `sampled`/`flags`/`parent` may be null (absent headers).
bool parseB3Multi(const std::string* traceId, const std::string* spanId,
                  const std::string* parentSpanId, const std::string* sampled,
                  const std::string* flags, IncomingContext& out);

/// The context a request propagates: trace id, format, decision.
struct TraceContext {
  uint64_t traceHi = 0, traceLo = 0;
  TraceFormat format = TraceFormat::W3C;
  bool traceId64 = false;
  bool sampled = false;
  bool debug = false;
  /// W3C continued from a valid traceparent: its tracestate headers are forwarded unchanged.
  bool keepTracestate = false;
};

/// The tracing state of one request on a worker (a plain value member of its connection).
struct RequestTrace {
  TraceContext ctx;
  bool active = false;      ///< the tracer is on: propagate (and record spans when ctx.sampled)
  bool clientOpen = false;  ///< a client span (upstream attempt) is being timed
  uint16_t clientStatus = 0;
  uint64_t parentId = 0;    ///< the caller's span (0: we started the trace)
  uint64_t serverSpanId = 0;
  uint64_t clientSpanId = 0;
  int64_t serverStartUs = 0, clientStartUs = 0;  ///< wall clock, only when sampled
  std::string_view virtualService;  ///< into the request's snapshot
};

/// True for the header names this module writes (traceparent, b3, x-b3-*) and, unless
/// `keepTracestate`, tracestate: an outgoing request drops the incoming ones. `name` is lowercase.
inline bool isTraceHeader(std::string_view name, bool keepTracestate) {
  if (name.empty()) return false;
  if (name[0] == 't') return name == "traceparent" || (!keepTracestate && name == "tracestate");
  if (name[0] == 'b') return name == "b3";
  return name.size() > 5 && name[0] == 'x' && name.starts_with("x-b3-");
}

/// Appends the header lines ("name: value\r\n") carrying `ctx` with span `spanId` whose parent
/// is `parentId` (B3 only; 0 = none), in ctx.format.
void appendTraceHeaders(Buffer& out, const TraceContext& ctx, uint64_t spanId, uint64_t parentId);

/// Lowercase hex of `v` in exactly 16 digits at `out`.
void hex16(uint64_t v, char* out);

}  // namespace portico::observability
