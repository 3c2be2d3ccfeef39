// H2ClientSession: the upstream side of HTTP/2 (the gateway talking h2/h2c to a backend, gRPC
// included), bytes in and frames out; the mirror of H2ServerSession.
#pragma once

#include "http/h2_session.h"

namespace portico::http {

/// What the client session tells the app. For every stream submitRequest returned, the order is
///   onResponseHead → onResponseData* → [onResponseTrailers] → onResponseEnd → onStreamClosed
/// where onResponseEnd is skipped when the response does not complete, and onStreamClosed comes
/// exactly once (errorCode 0 after a normal exchange). 1xx heads are skipped.
class H2ClientCallbacks {
public:
  virtual ~H2ClientCallbacks() = default;
  /// The final response head; `headers` holds the regular fields, valid during the call.
  virtual void onResponseHead(int32_t stream, int status, const HeaderMap& headers,
                              bool endStream) = 0;
  /// Body bytes, valid during the call. Call consumed() as they are forwarded.
  virtual void onResponseData(int32_t stream, const char* data, size_t len) = 0;
  /// gRPC's grpc-status / grpc-message arrive here.
  virtual void onResponseTrailers(int32_t stream, const HeaderMap& trailers) = 0;
  virtual void onResponseEnd(int32_t stream) = 0;
  /// errorCode 7 (REFUSED_STREAM) means the server did not process the request (refused, or
  /// beyond a GOAWAY's last stream id, or never sent): safe to retry on another connection.
  virtual void onStreamClosed(int32_t stream, uint32_t errorCode) = 0;
  /// queuedBytes(stream) fell to H2Limits::streamLowWatermark or below: resume the source.
  virtual void onStreamDrained(int32_t stream) = 0;
  /// The server sent GOAWAY: streams up to `lastStreamId` may complete, later ones are closed
  /// with REFUSED_STREAM; submitRequest returns -1 from now on.
  virtual void onGoAway(int32_t lastStreamId) = 0;
};

class H2ClientSession : public H2Session {
public:
  /// The connection preface (magic + SETTINGS) is produced by the first produceOutput().
  H2ClientSession(H2ClientCallbacks& callbacks, H2Limits limits = {}, H2Clock clock = {});
  ~H2ClientSession();

  /// Opens a stream: `headers` holds :method, :scheme, :authority, :path first, then regular
  /// fields (lowercase; connection-specific ones are dropped). `endStream`: no body; otherwise
  /// send it with sendData/sendTrailers. Returns the stream id, or -1 when !canOpenStream().
  int32_t submitRequest(std::span<const H2Field> headers, bool endStream);
  /// Below the server's SETTINGS_MAX_CONCURRENT_STREAMS, no GOAWAY seen, ids left, not failed.
  bool canOpenStream() const;
  bool goingAway() const { return goingAway_; }

protected:
  int onBeginHeaders(const nghttp2_frame& frame) override;
  void onHeaderField(h2detail::Stream& s, const nghttp2_frame& frame, std::string_view name,
                     std::string_view value) override;
  int onFrameReceived(const nghttp2_frame& frame) override;
  void onFrameNotSent(const nghttp2_frame& frame) override;
  void onData(int32_t stream, const char* data, size_t len) override;
  void notifyClosed(int32_t stream, uint32_t errorCode) override;
  void notifyDrained(int32_t stream) override;

private:
  void headersReceived(h2detail::Stream& st, bool endStream);

  H2ClientCallbacks& cb_;
  bool goingAway_ = false;
};

}  // namespace portico::http
