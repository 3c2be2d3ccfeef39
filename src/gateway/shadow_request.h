// ShadowRequest: a fire-and-forget copy of a request sent to a route's shadow upstream
// (options.shadowing). Its response is read and dropped; nothing it does reaches the client.
#pragma once

#include "gateway/upstream_stream.h"
#include "net/event_loop.h"

namespace portico::upstream {
struct Cluster;
}

namespace portico::gateway {

class HostPool;
class Worker;

class ShadowRequest final : public net::Deferred, private UpstreamCallbacks {
public:
  /// Takes a stream from `pool` for the copy and returns it (null when none could be had):
  /// the caller writes the whole request to it and flushes. The shadow owns itself and deletes
  /// itself (deferred) when the exchange ends or `timeoutMs` passes.
  static UpstreamStream* start(Worker& worker, HostPool& pool, const upstream::Cluster& cluster,
                               int64_t timeoutMs);

private:
  ShadowRequest(Worker& worker, HostPool& pool, int64_t timeoutMs);
  bool onUpstreamHeaders(const UpstreamResponseHead&) override { return true; }
  void onUpstreamBody(const char*, size_t) override {}
  void onUpstreamComplete(UpstreamStream& stream, bool reusable) override;
  void onUpstreamFailure(UpstreamFailure failure, bool responseStarted) override;
  void onUpstreamDrained() override {}
  void finish();

  Worker& worker_;
  HostPool& pool_;
  UpstreamStream* stream_ = nullptr;
  net::Timer timer_;
  bool done_ = false;
};

}  // namespace portico::gateway
