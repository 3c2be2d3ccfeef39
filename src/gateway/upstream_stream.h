// UpstreamStream: one request/response exchange with an upstream host, whatever the protocol —
// an HTTP/1.1 connection lent to one request at a time (UpstreamConnection) or one stream of a
// multiplexed HTTP/2 connection (H2UpstreamConnection). The mirror of DownstreamStream: the
// exchange writes the request head as text lines and body bytes; the protocol frames them.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/buffer.h"
#include "http/header_map.h"

namespace portico::gateway {

class UpstreamStream;

enum class UpstreamFailure { ConnectFailed, ConnectTimeout, Reset, Closed, Protocol, Refused };
const char* toString(UpstreamFailure f);

/// A final (non-1xx) response head. Views valid during the call.
struct UpstreamResponseHead {
  int status = 0;
  const http::HeaderMap* headers = nullptr;
  bool hasContentLength = false;
  uint64_t contentLength = 0;
};

/// How the request body is delimited.
struct RequestFraming {
  bool chunked = false;    ///< length unknown: HTTP/1.1 chunked, HTTP/2 DATA until END_STREAM
  bool hasLength = false;  ///< a content-length goes upstream
  uint64_t length = 0;
  /// No body follows the head (HTTP/2 ends the stream with the HEADERS frame).
  bool noBody() const { return !chunked && (!hasLength || length == 0); }
};

/// What an exchange implements to hear from its upstream stream. Calls come on the worker
/// thread from inside the connection's event handling; the exchange must not delete anything
/// (it calls UpstreamStream::abort/release, which defer).
class UpstreamCallbacks {
public:
  virtual ~UpstreamCallbacks() = default;
  /// The response head. false: the exchange gave up on the stream inside the call (abort()).
  virtual bool onUpstreamHeaders(const UpstreamResponseHead& response) = 0;
  virtual void onUpstreamBody(const char* data, size_t len) = 0;
  /// Response trailers (HTTP/2 trailers, HTTP/1.1 chunked trailer fields), before completion.
  virtual void onUpstreamTrailers(const http::HeaderMap&) {}
  /// The response is complete; the stream is detached from the exchange. `reusable`: the
  /// stream's connection may serve another request — the exchange calls release() (or
  /// abort(), e.g. when its own request was not completely sent); when false the connection
  /// is already closing and the stream must not be touched.
  virtual void onUpstreamComplete(UpstreamStream& stream, bool reusable) = 0;
  /// The exchange failed; the stream is detached and already gone.
  virtual void onUpstreamFailure(UpstreamFailure failure, bool responseStarted) = 0;
  /// The request bytes queued so far dropped below the low watermark (resume reading the client).
  virtual void onUpstreamDrained() = 0;
  /// The connection is established (only for a new connection).
  virtual void onUpstreamConnected() {}
};

class UpstreamStream {
public:
  virtual ~UpstreamStream() = default;

  /// Lends the stream to an exchange. `headRequest`: the response has no body. `upgrade`: the
  /// request asks for a protocol upgrade (HTTP/1.1 only): a 101 answer is the final head and
  /// the bytes after it flow raw both ways (onUpstreamBody, encodeBody) until a side closes.
  virtual void attach(UpstreamCallbacks* callbacks, bool headRequest, bool upgrade) = 0;

  // The request, in this order: beginRequestHead, the target appended to the returned buffer,
  // headerLines, "name: value\r\n" lines (lowercase names, no framing or connection headers)
  // appended to the returned buffer, endRequestHead; then encodeBody* and encodeEnd.
  virtual Buffer& beginRequestHead(std::string_view method) = 0;
  virtual Buffer& headerLines() = 0;
  virtual void endRequestHead(const RequestFraming& framing) = 0;
  virtual void encodeBody(const char* data, size_t len) = 0;
  /// Request trailers (HTTP/2 trailers; HTTP/1.1 the last chunk of a chunked body, dropped on a
  /// length-delimited one). encodeEnd follows.
  virtual void encodeTrailers(const http::HeaderMap& trailers) = 0;
  /// The request is complete.
  virtual void encodeEnd() = 0;
  /// Sends what is queued (as far as the socket and flow control allow).
  virtual void flush() = 0;
  /// Request bytes queued and not yet sent (backpressure on the client).
  virtual size_t pendingOutput() const = 0;
  /// Above this many pending request bytes the client side stops being read.
  virtual size_t highWatermark() const = 0;

  /// The connection is established (else the exchange waits as a pending request).
  virtual bool connected() const = 0;
  /// The connection served an exchange before this one.
  virtual bool reused() const = 0;
  /// Downstream backpressure: stop/continue taking response bytes.
  virtual void pauseReading() = 0;
  virtual void resumeReading() = 0;
  /// The exchange gives up on the stream: HTTP/1.1 closes the connection, HTTP/2 resets the
  /// stream. No callback follows.
  virtual void abort() = 0;
  /// After onUpstreamComplete(reusable): the connection may serve the next request.
  virtual void release() = 0;
};

}  // namespace portico::gateway
