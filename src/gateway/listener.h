// ListenerHandler: accepts connections on one worker's socket of one listener and hands them
// to DownstreamConnection. Outlives the snapshot that removed it while its connections live.
#pragma once

#include <memory>

#include "gateway/snapshot.h"
#include "net/event_loop.h"

namespace portico::gateway {

class Worker;

class ListenerHandler final : public net::EventHandler,
                              public std::enable_shared_from_this<ListenerHandler> {
public:
  ListenerHandler(Worker& worker, std::shared_ptr<ListenSocketSet> sockets);
  ~ListenerHandler() override;

  Status start();
  /// Stops accepting (removed from config, or drain). `closeSocket` also closes the worker's
  /// socket so that the kernel refuses new connections.
  void stopAccepting(bool closeSocket);
  /// --max-connections: takes the socket out of the worker's epoll set (connections hashed to
  /// it by SO_REUSEPORT wait in its backlog) / puts it back. Counted in the worker's stats.
  /// Independent of the back-off after EMFILE/ENFILE on accept (out of the set for 100 ms, then
  /// retried; counted in the same listeners-paused stats while out).
  void pause();
  void resume();
  bool paused() const { return paused_; }

  const ListenSocketSet* sockets() const { return sockets_.get(); }
  /// Index of this listener in the worker's current snapshot; -1 once removed.
  int listenerIndex() const { return listenerIndex_; }
  void setListenerIndex(int i) { listenerIndex_ = i; }
  /// The certificates new connections get (null: plain); set with each snapshot.
  void setTls(net::TlsServerConfigConstSharedPtr tls) { tls_ = std::move(tls); }

private:
  void onEvents(uint32_t events) override;
  /// In the epoll set iff accepting, not paused and not backing off; these two move the socket
  /// in and out and keep the listeners-paused gauge in step (one count per listener).
  void watch();
  void unwatch();
  void backOff(int err);
  void retryAfterBackOff();

  Worker& worker_;
  std::shared_ptr<ListenSocketSet> sockets_;
  int fd_ = -1;
  int listenerIndex_ = -1;
  net::TlsServerConfigConstSharedPtr tls_;
  bool accepting_ = false;
  bool paused_ = false;  ///< accepting_, but out of the epoll set (worker at its connection limit)
  bool watched_ = false;  ///< fd_ is in the worker's epoll set
  bool backingOff_ = false;  ///< out of the epoll set after EMFILE/ENFILE until retryTimer_ fires
  std::unique_ptr<net::Timer> retryTimer_;  ///< created at the first EMFILE
  MonoMs burstStart_ = -1;  ///< first EMFILE of the current burst (logged once); -1: none
};

}  // namespace portico::gateway
