// Http1Connection: one client's HTTP/1.1 connection. Requests are served one at a time in
// arrival order (pipelined ones wait, unparsed) by the connection's RequestExchange; bodies
// stream both ways with watermark backpressure, and every failure becomes a clear HTTP answer.
#pragma once

#include <memory>
#include <string_view>

#include "common/buffer.h"
#include "gateway/downstream_connection.h"
#include "gateway/downstream_stream.h"
#include "gateway/request_exchange.h"
#include "http/h1_parser.h"
#include "net/address.h"
#include "net/event_loop.h"
#include "net/tls_transport.h"

namespace portico::gateway {

class ListenerHandler;
struct TransformState;
class Worker;
struct Snapshot;
struct WorkerSnapshot;

class Http1Connection final : public DownstreamConnection,
                              public net::EventHandler,
                              public net::Schedulable,
                                   private http::H1ParserCallbacks,
                                   private DownstreamStream {
public:
  ~Http1Connection() override;

  void beginDrain() override;
  void abortNow() override { close(); }

private:
  friend class DownstreamConnection;
  Http1Connection(Worker& worker, std::shared_ptr<ListenerHandler> listener, int fd,
                       const net::Address& peer);

  // EventHandler / Schedulable
  void onEvents(uint32_t events) override;
  void onTlsEvents(uint32_t events);
  void onScheduled() override;
  // H1ParserCallbacks (request side)
  http::ParserAction onHeadersComplete() override;
  http::ParserAction onBody(const char* data, size_t len) override;
  http::ParserAction onMessageComplete() override;
  // DownstreamStream
  Buffer& beginResponseHead(int status) override;
  void endResponseHead(const ResponseFraming& framing) override;
  void encodeData(const char* data, size_t len) override;
  void encodeTrailers(const http::HeaderMap& trailers) override;
  void encodeEnd() override;
  void encodeContinue() override;
  void flush(bool now) override;
  size_t pendingBytes() const override { return out_.size(); }
  void pauseRequestBody() override { readPaused_ = true; }
  void resumeRequestBody() override;
  void reset() override { close(); }
  void closeAfterResponse() override { closeAfterResponse_ = true; }
  bool closing() const override { return closeAfterResponse_ || draining_; }
  void onExchangeComplete() override;

  /// Checks the request line and Host (absolute-form, a single Host, the target's form) and
  /// hands the request to the exchange; answers 400 itself when they are wrong.
  void routeRequest();
  void processInput();
  /// The connection's first bytes (after TLS) ask for HTTP/2: ALPN h2, or the h2c preface.
  bool wantsHttp2(std::string_view first) const;
  /// Gives the socket, TLS session and `received` bytes to a new Http2Connection.
  void handOverToHttp2(std::string_view received);
  void onReadEof();
  void onParseError();
  void flush();
  void scheduleFlush();
  void close();
  void closeGracefully();
  void drainLingering();
  void onIdleTimer();

  Worker& worker_;
  ConnectionInfo conn_;
  int fd_;
  std::unique_ptr<net::TlsTransport> tls_;  ///< null on a plain listener
  http::H1Parser parser_;
  Buffer pendingIn_;  // bytes read but not parsed yet (pipelined requests, paused body)
  Buffer out_;
  net::Timer idleTimer_;
  MonoMs lastActivity_ = 0;
  MonoMs headStart_ = 0;  // when the head of the request being read began
  bool closed_ = false;
  bool peerClosed_ = false;       // read side saw EOF
  bool closeAfterResponse_ = false;
  bool draining_ = false;
  bool closeAfterFlush_ = false;
  bool lingering_ = false;         // write side shut; discarding input until the peer closes
  bool flushPending_ = false;
  bool socketDrained_ = false;     // the last read emptied the socket (edge-triggered)
  bool peerFinSeen_ = false;       // EPOLLRDHUP seen: read until EOF
  bool readPaused_ = false;        // backpressure: the exchange takes no more body for now
  bool protocolChecked_ = false;   // the first bytes were checked for HTTP/2
  // Response framing of the request in progress.
  bool clientHttp10_ = false;
  bool tunnel_ = false;            // a websocket handshake: bytes after its head are the tunnel's
  bool responseChunked_ = false;   // we add chunked framing downstream
  bool responseUntilClose_ = false;
  RequestExchange exchange_;       // last: it refers to conn_ and to this stream
};

}  // namespace portico::gateway
