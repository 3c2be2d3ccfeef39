// DownstreamStream: what a RequestExchange needs from the protocol its request arrived on — an
// HTTP/1.1 connection (one exchange at a time) or an HTTP/2 stream. The exchange routes and
// proxies; the stream frames the response on the wire and carries backpressure both ways.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/buffer.h"
#include "http/header_map.h"

namespace portico::gateway {

class ListenerHandler;

/// The client connection a request came on (shared by all of its exchanges).
struct ConnectionInfo {
  std::shared_ptr<ListenerHandler> listener;
  std::string peerIp;
  uint16_t peerPort = 0;
  bool secure = false;  ///< TLS: x-forwarded-proto https, :scheme https

  /// "ip:port" ("[v6]:port"), Envoy's form, made once per connection when first asked for.
  std::string_view remoteAddress() const {
    if (remoteAddress_.empty()) formatRemoteAddress();
    return remoteAddress_;
  }
  void formatRemoteAddress() const;
  mutable std::string remoteAddress_;  ///< the cache behind remoteAddress()
};

/// The request head as the protocol parsed and validated it. Views valid for the exchange.
struct RequestHead {
  std::string_view method;
  std::string_view target;    ///< as received (H1 request-target, H2 :path): logs, spans
  std::string_view protocol;  ///< "HTTP/1.0", "HTTP/1.1", "HTTP/2"
  const http::HeaderMap* headers = nullptr;  ///< regular headers only (no pseudo-headers)
  bool isHead = false;
  bool hasContentLength = false;
  uint64_t contentLength = 0;
  /// A body follows whose length is not known in advance (H1 chunked; H2 DATA without a
  /// content-length): it goes upstream chunked.
  bool bodyLengthUnknown = false;
  bool http10 = false;
  /// HTTP/1.1 `Upgrade: websocket` (with `Connection: upgrade`): the value to pass on. The
  /// connection becomes a tunnel if the upstream answers 101; bytes after the head are the
  /// tunnel's, not a body.
  std::string_view upgrade;
};

/// How the response body is delimited, as the exchange knows it from the upstream.
struct ResponseFraming {
  bool noBody = false;  ///< HEAD, 204, 304: the relayed head keeps its content-length line
  bool hasLength = false;
  uint64_t length = 0;
  /// 101 Switching Protocols: no framing, raw bytes both ways until a side closes.
  bool upgraded = false;
};

class DownstreamStream {
public:
  virtual ~DownstreamStream() = default;

  /// Starts the response head; returns the buffer the exchange appends its header lines to
  /// ("name: value\r\n", lowercase names, no framing or connection headers).
  virtual Buffer& beginResponseHead(int status) = 0;
  /// Ends the head: the protocol adds its framing (content-length, chunked, END_STREAM).
  virtual void endResponseHead(const ResponseFraming& framing) = 0;
  virtual void encodeData(const char* data, size_t len) = 0;
  /// Response trailers (gRPC's grpc-status): HTTP/2 sends them, HTTP/1.1 puts them in the last
  /// chunk of a chunked response and drops them otherwise. encodeEnd follows.
  virtual void encodeTrailers(const http::HeaderMap& trailers) = 0;
  /// The response is complete.
  virtual void encodeEnd() = 0;
  /// An interim "100 Continue" (Expect: 100-continue).
  virtual void encodeContinue() = 0;
  /// Writes what is queued: `now`, or after the current batch of events (one send for a head
  /// and the body bytes that follow it).
  virtual void flush(bool now) = 0;
  /// Response bytes queued and not yet written (backpressure on the upstream).
  virtual size_t pendingBytes() const = 0;
  /// Stop/resume taking request body bytes from the client.
  virtual void pauseRequestBody() = 0;
  virtual void resumeRequestBody() = 0;
  /// The exchange can't go on (response cut short): HTTP/1 closes the connection, HTTP/2
  /// resets the stream. The exchange is aborted by the time this returns.
  virtual void reset() = 0;
  /// The response cannot be followed by another request on this connection (HTTP/1).
  virtual void closeAfterResponse() = 0;
  /// The connection is draining or closes after this response.
  virtual bool closing() const = 0;
  /// Request and response are both complete; the exchange's state is already cleared.
  virtual void onExchangeComplete() = 0;
};

}  // namespace portico::gateway
