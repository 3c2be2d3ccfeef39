#include "gateway/shadow_request.h"

#include "common/log.h"
#include "gateway/host_pool.h"
#include "gateway/worker.h"

namespace portico::gateway {

UpstreamStream* ShadowRequest::start(Worker& worker, HostPool& pool,
                                     const upstream::Cluster& cluster, int64_t timeoutMs) {
  bool overloaded = false;
  auto stream = pool.acquire(cluster, false, overloaded);
  if (!stream.ok()) {
    LOG_DEBUG("shadow %s: %s", pool.key().c_str(), stream.error().c_str());
    return nullptr;
  }
  auto* shadow = new ShadowRequest(worker, pool, timeoutMs);
  shadow->stream_ = *stream;
  shadow->stream_->attach(shadow, false, false);
  return shadow->stream_;
}

ShadowRequest::ShadowRequest(Worker& worker, HostPool& pool, int64_t timeoutMs)
    : worker_(worker), pool_(pool), timer_(worker.loop(), [this] {
        if (stream_) stream_->abort();
        stream_ = nullptr;
        finish();
      }) {
  timer_.arm(timeoutMs);
}

void ShadowRequest::onUpstreamComplete(UpstreamStream& stream, bool reusable) {
  stream_ = nullptr;
  if (reusable) stream.release();
  finish();
}

void ShadowRequest::onUpstreamFailure(UpstreamFailure failure, bool) {
  LOG_DEBUG("shadow %s: %s", pool_.key().c_str(), toString(failure));
  stream_ = nullptr;
  finish();
}

void ShadowRequest::finish() {
  if (done_) return;
  done_ = true;
  timer_.cancel();
  worker_.loop().deferDelete(std::unique_ptr<net::Deferred>(this));
}

}  // namespace portico::gateway
