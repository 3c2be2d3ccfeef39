// Http2Connection: one client's HTTP/2 connection (ALPN h2 over TLS, or h2c with prior
// knowledge), taken over from the HTTP/1 connection that accepted it. Each stream carries its
// own RequestExchange; request bodies are flow-controlled by the streams' windows (a window
// reopens only as the body goes upstream) and responses by the upstream read watermark.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/buffer.h"
#include "gateway/downstream_connection.h"
#include "gateway/downstream_stream.h"
#include "gateway/request_exchange.h"
#include "http/h2_server_session.h"
#include "net/event_loop.h"
#include "net/tls_transport.h"

namespace portico::gateway {

class Worker;

class Http2Connection final : public DownstreamConnection,
                              public net::EventHandler,
                              public net::Schedulable,
                              private http::H2ServerCallbacks {
public:
  /// Takes over `fd` (and `tls`, established) from the HTTP/1 connection that accepted it;
  /// `received` holds bytes already read (the client preface, maybe more).
  static void create(Worker& worker, ConnectionInfo conn, int fd,
                     std::unique_ptr<net::TlsTransport> tls, std::string_view received);
  ~Http2Connection() override;

  void beginDrain() override;
  void abortNow() override { close(); }

private:
  class Stream;
  Http2Connection(Worker& worker, ConnectionInfo conn, int fd,
                  std::unique_ptr<net::TlsTransport> tls);

  void onEvents(uint32_t events) override;
  void onScheduled() override;
  // H2ServerCallbacks
  void onRequestHead(int32_t stream, const http::H2RequestHead& head, bool endStream) override;
  void onRequestData(int32_t stream, const char* data, size_t len) override;
  void onRequestTrailers(int32_t stream, const http::HeaderMap& trailers) override;
  void onRequestEnd(int32_t stream) override;
  void onStreamClosed(int32_t stream, uint32_t errorCode) override;
  void onStreamDrained(int32_t stream) override;

  void receive(const char* data, size_t len);
  void readLoop();
  /// Frames the session has to send go out now.
  void flush();
  void scheduleFlush();
  void close();
  void onIdleTimer();
  Stream* find(int32_t id);

  Worker& worker_;
  ConnectionInfo conn_;
  int fd_;
  std::unique_ptr<net::TlsTransport> tls_;
  http::H2ServerSession session_;
  Buffer out_;
  net::Timer idleTimer_;
  MonoMs lastActivity_ = 0;
  /// Puts streams closed in the last batch back in the free list (their exchanges were on the
  /// stack when they closed).
  void recycleRetired();

  std::vector<Stream*> streams_;  ///< open streams (at most --max-concurrent-streams: scanned)
  std::vector<std::unique_ptr<Stream>> streamObjects_;  ///< every stream object this connection owns
  std::vector<Stream*> freeStreams_;  ///< reused by the next requests: no allocation per stream
  std::vector<Stream*> retired_;      ///< closed during the current batch of events
  bool closed_ = false;
  bool draining_ = false;
  bool flushPending_ = false;
  bool fatal_ = false;  ///< a connection error: GOAWAY queued, close once written
};

}  // namespace portico::gateway
