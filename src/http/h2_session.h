// H2Session: the role-neutral half of Portico's HTTP/2 codec on libnghttp2 -- limits, flood
// counters, per-stream outbound queues with flow control, and bytes in / bytes out (no sockets).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nghttp2/nghttp2.h>

#include "common/buffer.h"
#include "common/clock.h"
#include "http/header_map.h"

namespace portico::http {

/// Per-connection HTTP/2 limits; both roles advertise and enforce them on what they receive.
struct H2Limits {
  uint32_t maxConcurrentStreams = 100;
  uint32_t maxHeaderListBytes = 60 * 1024;  ///< SETTINGS_MAX_HEADER_LIST_SIZE (name+value+32 each)
  uint32_t maxHeaders = 100;                ///< fields in one header block, pseudo ones included
  uint32_t initialStreamWindow = 256 * 1024;  ///< our receive window per stream, bytes
  uint32_t connectionWindow = 1024 * 1024;    ///< our receive window for the connection, bytes
  uint32_t maxResetsPerSecond = 200;  ///< server: RST_STREAM + client-caused stream errors
  uint32_t maxControlFramesPerSecond = 1000;  ///< PING/SETTINGS/PRIORITY/empty DATA/CONTINUATION
  /// onStreamDrained fires when a stream's queued outbound bytes fall to this or below (from
  /// above). Pause reading the stream's source while queuedBytes() exceeds a high mark >= this.
  uint32_t streamLowWatermark = 16 * 1024;
};

/// One header field to send. Names must be lowercase (HeaderMap names are).
struct H2Field {
  std::string_view name, value;
};

/// Splits "name: value\r\n" lines (as the gateway writes heads) into fields appended to
/// `out`, lowercasing names in place (route header ops may carry configured capitals). The
/// fields are views into `data`.
void appendFieldsFromLines(char* data, size_t len, std::vector<H2Field>& out);

/// The clock flood counters use; called once per receive(). Tests inject a fake one.
using H2Clock = std::function<MonoMs()>;

/// HTTP/2 error codes (RFC 9113 §7) the callers meet most.
enum H2Error : uint32_t {
  kH2NoError = 0x0,
  kH2ProtocolError = 0x1,
  kH2InternalError = 0x2,
  kH2RefusedStream = 0x7,
  kH2Cancel = 0x8,
  kH2EnhanceYourCalm = 0xb,
};

namespace h2detail {
struct SessionDeleter {
  void operator()(nghttp2_session* s) const;
};
using SessionPtr = std::unique_ptr<nghttp2_session, SessionDeleter>;

/// True for the header names RFC 9113 §8.2.2 forbids (connection, keep-alive, proxy-connection,
/// transfer-encoding, upgrade); `te` is handled by the caller (only "trailers" may pass).
bool isConnectionSpecific(std::string_view lowerName);

/// State of one stream. Pooled by the session: the strings, maps and queue keep their capacity
/// from stream to stream, so a steady load allocates nothing per stream.
struct Stream {
  int32_t id = -1;
  bool inUse = false;
  bool appKnows = false;       ///< server: onRequestHead delivered; client: always
  bool closed = false;         ///< onStreamClosed delivered or under way
  bool refused = false;        ///< server: answered by the codec (431, bad host); app never saw it
  bool resetSent = false;      ///< resetStream() called: no more app callbacks but the close
  bool tooLarge = false;       ///< the header block being received exceeds the limits
  bool finalHead = false;      ///< client: final (non-1xx) response head seen
  bool responded = false;      ///< server: final response submitted
  bool hasProvider = false;    ///< a data provider is attached (DATA may follow)
  bool endQueued = false;      ///< sendData(endStream) or sendTrailers called
  bool deferred = false;       ///< the provider returned DEFERRED; resume on more data
  bool authoritySeen = false;
  int status = 0;
  uint32_t headerBytes = 0, headerCount = 0;
  uint64_t unconsumed = 0;     ///< received DATA given to the app, not yet consumed()
  std::string method, scheme, authority, path, cookie;
  HeaderMap headers;           ///< received head (regular fields)
  HeaderMap trailersIn;        ///< received trailers
  HeaderMap trailersOut;       ///< trailers to send once the queue drains
  Buffer out;                  ///< outbound DATA not yet framed

  /// The app may act on it and hear about it.
  bool live() const { return appKnows && !closed && !refused && !resetSent; }
  void reset();
};
}  // namespace h2detail

/// The shared engine. Not used directly: H2ServerSession and H2ClientSession derive from it.
/// Thread: one session belongs to one thread. Callbacks to the app run inside receive() and
/// produceOutput(); the app may call any method from them but must not destroy the session there.
class H2Session {
public:
  H2Session(const H2Session&) = delete;
  H2Session& operator=(const H2Session&) = delete;

  /// Bytes from the peer. false: fatal connection error (bad preface, flood, ...) -- a GOAWAY
  /// is queued, nothing more is read; the owner calls produceOutput(), writes it, then closes.
  /// Connection errors nghttp2 answers itself (a frame on the wrong stream, ...) return true:
  /// the GOAWAY comes out of the next produceOutput(), after which wantsClose() is true. So the
  /// owner always runs receive → produceOutput → write → close if wantsClose(). Never throws.
  bool receive(const char* data, size_t len);
  /// Appends every frame ready to send to `out` (DATA straight from the stream queues).
  void produceOutput(Buffer& out);
  bool wantsWrite() const;
  /// Nothing more to read or write (GOAWAY exchanged and streams done, or fatal and flushed).
  bool wantsClose() const;

  /// Queues body bytes (copied) for `stream`; framed as the peer's windows allow. `endStream`
  /// ends the stream after them. Needs a head sent without endStream (submitResponse /
  /// submitRequest); ignored for unknown/closed streams or after the end was queued.
  void sendData(int32_t stream, const char* data, size_t len, bool endStream);
  /// Queues trailers (copied) sent after the queued DATA; ends the stream.
  void sendTrailers(int32_t stream, std::span<const H2Field> trailers);
  /// The same from a header map (what a proxy relays), without an intermediate field list.
  void sendTrailers(int32_t stream, const HeaderMap& trailers);
  /// RST_STREAM with `errorCode`; onStreamClosed follows (from produceOutput).
  void resetStream(int32_t stream, uint32_t errorCode);
  /// Outbound bytes queued for `stream` and not yet framed (0 for unknown streams).
  size_t queuedBytes(int32_t stream) const;
  /// The app has forwarded `len` received DATA bytes of `stream`: reopens the peer's window. No
  /// automatic window update: an app that stops consuming stops the peer. Bytes still
  /// unconsumed when a stream closes are credited to the connection by the codec.
  void consumed(int32_t stream, size_t len);
  /// Streams with codec state (open or half-closed), including ones the app was not told about.
  size_t activeStreams() const { return byId_.size(); }

protected:
  H2Session(H2Limits limits, H2Clock clock);
  ~H2Session();
  /// Creates the nghttp2 session and queues our SETTINGS; false on out-of-memory.
  bool start(bool server);

  // Role hooks, called from the nghttp2 callbacks.
  virtual int onBeginHeaders(const nghttp2_frame& frame) = 0;
  virtual void onHeaderField(h2detail::Stream& s, const nghttp2_frame& frame,
                             std::string_view name, std::string_view value) = 0;
  virtual int onFrameReceived(const nghttp2_frame& frame) = 0;
  virtual void onFrameSent(const nghttp2_frame&) {}
  /// DATA for a stream the app knows (already counted in s.unconsumed).
  virtual void onData(int32_t stream, const char* data, size_t len) = 0;
  virtual void notifyClosed(int32_t stream, uint32_t errorCode) = 0;
  virtual void notifyDrained(int32_t stream) = 0;
  virtual void onFrameNotSent(const nghttp2_frame&) {}

  h2detail::Stream* acquireStream(int32_t id);
  void releaseStream(h2detail::Stream* s);
  void setStreamId(h2detail::Stream& s, int32_t id);
  h2detail::Stream* findStream(int32_t id) const;  ///< a live() stream, else nullptr
  h2detail::Stream* lookup(int32_t id) const;      ///< any stream in use
  /// The stream nghttp2 holds for `id` (opened and not yet closed), else nullptr.
  h2detail::Stream* streamOf(int32_t id) const {
    return static_cast<h2detail::Stream*>(nghttp2_session_get_stream_user_data(session(), id));
  }
  /// The data provider for nghttp2_submit_*: DATA comes from the queue of `s`.
  nghttp2_data_provider providerFor(h2detail::Stream& s);
  /// Builds nva_ from `fields` (+ an optional leading pseudo field), dropping connection-specific
  /// fields; returns the count.
  size_t buildNva(std::string_view pseudoName, std::string_view pseudoValue,
                  std::span<const H2Field> fields, bool allowPseudo);
  /// Counts one header field against the limits; false when the block is now too large.
  bool countField(h2detail::Stream& s, std::string_view name, std::string_view value);
  /// Ends the connection: GOAWAY(code), nothing more is read.
  void fail(uint32_t code);

  nghttp2_session* session() const { return session_.get(); }
  const H2Limits& limits() const { return limits_; }
  bool failed() const { return failed_; }
  bool server_ = false;
  std::vector<nghttp2_nv> nva_;  ///< scratch for submit calls (nghttp2 copies the fields)
  uint32_t pendingFailCode_ = 0;  ///< set by a callback that detected a flood

  /// Flood accounting: true when the frame must end the connection.
  bool countControlFrame();
  bool countReset();

private:
  friend struct H2Callbacks;
  void sendTrailersNow(h2detail::Stream& s);
  void rollWindow();

  H2Limits limits_;
  H2Clock clock_;
  h2detail::SessionPtr session_;
  std::vector<std::unique_ptr<h2detail::Stream>> pool_;
  std::vector<h2detail::Stream*> free_;
  std::vector<h2detail::Stream*> byId_;  ///< streams in use
  bool broken_ = false;  ///< nghttp2 failed while sending: nothing more can be produced
  Buffer* out_ = nullptr;  ///< set during produceOutput for the NO_COPY DATA callback
  bool failed_ = false;
  MonoMs now_ = 0;
  MonoMs windowStart_ = 0;
  uint32_t controlFrames_ = 0;
  uint32_t resets_ = 0;
};

}  // namespace portico::http
