// ShadowRequest: a fire-and-forget copy of a request sent to a route's shadow upstream
// (options.shadowing). Its response is read and dropped; nothing it does reaches the client.
#pragma once

#include "common/buffer.h"
#include "gateway/upstream_connection.h"
#include "net/event_loop.h"

namespace portico::upstream {
struct Cluster;
}

namespace portico::gateway {

class HostPool;
class Worker;

class ShadowRequest final : public net::Deferred, private UpstreamCallbacks {
public:
  /// Sends `request` (head and whole body, already encoded) on a connection from `pool`; owns
  /// itself and deletes itself (deferred) when the exchange ends or `timeoutMs` passes.
  static void start(Worker& worker, HostPool& pool, const upstream::Cluster& cluster,
                    int64_t timeoutMs, Buffer&& request);

private:
  ShadowRequest(Worker& worker, HostPool& pool, int64_t timeoutMs);
  http::ParserAction onUpstreamHeaders(const http::H1Parser&) override;
  void onUpstreamBody(const char*, size_t) override {}
  void onUpstreamComplete(UpstreamConnection& conn, bool reusable) override;
  void onUpstreamFailure(UpstreamFailure failure, bool responseStarted) override;
  void onUpstreamDrained() override {}
  void finish();

  Worker& worker_;
  HostPool& pool_;
  UpstreamConnection* conn_ = nullptr;
  net::Timer timer_;
  bool done_ = false;
};

}  // namespace portico::gateway
