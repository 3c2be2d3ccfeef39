#include "gateway/shadow_request.h"

#include "common/log.h"
#include "gateway/host_pool.h"
#include "gateway/worker.h"

namespace portico::gateway {

void ShadowRequest::start(Worker& worker, HostPool& pool, const upstream::Cluster& cluster,
                          int64_t timeoutMs, Buffer&& request) {
  bool overloaded = false;
  auto conn = pool.acquire(cluster, false, overloaded);
  if (!conn.ok()) {
    LOG_DEBUG("shadow %s: %s", pool.key().c_str(), conn.error().c_str());
    return;
  }
  auto* shadow = new ShadowRequest(worker, pool, timeoutMs);
  shadow->conn_ = *conn;
  shadow->conn_->attach(shadow, false);
  shadow->conn_->output().append(request.view());
  shadow->conn_->flush();
}

ShadowRequest::ShadowRequest(Worker& worker, HostPool& pool, int64_t timeoutMs)
    : worker_(worker), pool_(pool), timer_(worker.loop(), [this] {
        if (conn_) conn_->abort();
        conn_ = nullptr;
        finish();
      }) {
  timer_.arm(timeoutMs);
}

http::ParserAction ShadowRequest::onUpstreamHeaders(const http::H1Parser&) {
  return http::ParserAction::Continue;
}

void ShadowRequest::onUpstreamComplete(UpstreamConnection& conn, bool reusable) {
  conn_ = nullptr;
  if (reusable) pool_.release(&conn);
  finish();
}

void ShadowRequest::onUpstreamFailure(UpstreamFailure failure, bool) {
  LOG_DEBUG("shadow %s: %s", pool_.key().c_str(), toString(failure));
  conn_ = nullptr;
  finish();
}

void ShadowRequest::finish() {
  if (done_) return;
  done_ = true;
  timer_.cancel();
  worker_.loop().deferDelete(std::unique_ptr<net::Deferred>(this));
}

}  // namespace portico::gateway
