// H2ServerSession: the downstream side of HTTP/2 (clients talking to the gateway), bytes in and
// frames out; validates requests (RFC 9113 §8.3), enforces H2Limits and flood limits.
#pragma once

#include <optional>

#include "http/h2_session.h"

namespace portico::http {

/// A validated request head. Views point into the session's stream state: valid during
/// onRequestHead only (copy what you keep).
struct H2RequestHead {
  std::string_view method, scheme, authority, path;  ///< authority: :authority, else Host, else ""
  const HeaderMap& headers;  ///< regular fields (lowercase); cookie crumbs joined with "; "
  std::optional<uint64_t> contentLength;  ///< from content-length (nghttp2 checks it vs DATA)
};

/// What the server session tells the app. For every stream, the order is
///   onRequestHead → onRequestData* → [onRequestTrailers] → onRequestEnd → onStreamClosed
/// where onRequestEnd is skipped when the request does not complete (reset, error), and
/// onStreamClosed comes exactly once for every stream that got onRequestHead -- also after a
/// normal completion (errorCode 0) -- and never for streams the app was not told about.
class H2ServerCallbacks {
public:
  virtual ~H2ServerCallbacks() = default;
  /// `endStream`: no body follows (onRequestEnd is still called right after).
  virtual void onRequestHead(int32_t stream, const H2RequestHead& head, bool endStream) = 0;
  /// Body bytes, valid during the call. Call consumed() as they are forwarded.
  virtual void onRequestData(int32_t stream, const char* data, size_t len) = 0;
  virtual void onRequestTrailers(int32_t stream, const HeaderMap& trailers) = 0;
  virtual void onRequestEnd(int32_t stream) = 0;
  /// The stream is gone: drop its state. errorCode 0 after a normal exchange (or after the
  /// response ended first and the codec stopped the request body with RST_STREAM NO_ERROR),
  /// else the RST_STREAM code (the client's, ours, or one from a protocol error). Every API
  /// call on the stream is a no-op from here on.
  virtual void onStreamClosed(int32_t stream, uint32_t errorCode) = 0;
  /// queuedBytes(stream) fell to H2Limits::streamLowWatermark or below: resume the source.
  virtual void onStreamDrained(int32_t stream) = 0;
};

class H2ServerSession : public H2Session {
public:
  /// `clock` (default: monotonicMs) feeds the per-second flood counters.
  H2ServerSession(H2ServerCallbacks& callbacks, H2Limits limits = {}, H2Clock clock = {});
  ~H2ServerSession();

  /// The client connection preface (RFC 9113 §3.4), 24 bytes.
  static constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  /// True when `firstBytes` starts with the preface, or is a non-empty prefix of it (a short
  /// read: read on to be sure). For h2c with prior knowledge on a cleartext HTTP/1 listener.
  static bool looksLikePreface(std::string_view firstBytes);

  /// Response head. `status` 1xx sends an informational head (may repeat); 200..999 the final
  /// one (once; later calls are ignored). `endStream`: no body. Connection-specific fields and
  /// pseudo fields in `headers` are dropped. No-op for unknown/closed streams.
  void submitResponse(int32_t stream, int status, std::span<const H2Field> headers,
                      bool endStream);
  /// Graceful drain: first call sends a shutdown-notice GOAWAY and a PING; the final GOAWAY
  /// (last processed stream id) follows the PING ACK, or a second shutdown() call. Streams
  /// already accepted finish; wantsClose() turns true when they are done.
  void shutdown();

protected:
  int onBeginHeaders(const nghttp2_frame& frame) override;
  void onHeaderField(h2detail::Stream& s, const nghttp2_frame& frame, std::string_view name,
                     std::string_view value) override;
  int onFrameReceived(const nghttp2_frame& frame) override;
  void onFrameSent(const nghttp2_frame& frame) override;
  void onData(int32_t stream, const char* data, size_t len) override;
  void notifyClosed(int32_t stream, uint32_t errorCode) override;
  void notifyDrained(int32_t stream) override;

private:
  void requestHeadReceived(h2detail::Stream& st, bool endStream);
  /// Answers a request the app never sees (431, malformed) and forgets it.
  void refuse(h2detail::Stream& st, int status, uint32_t resetCode);
  void sendFinalGoaway();

  enum class Drain { None, NoticeSent, Done };
  H2ServerCallbacks& cb_;
  Drain drain_ = Drain::None;
};

}  // namespace portico::http
