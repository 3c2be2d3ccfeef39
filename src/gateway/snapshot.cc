#include "gateway/snapshot.h"

#include <unistd.h>

namespace portico::gateway {

Result<std::shared_ptr<ListenSocketSet>> ListenSocketSet::create(const net::Address& address,
                                                                 size_t workers) {
  std::vector<int> fds;
  for (size_t i = 0; i < workers; ++i) {
    auto fd = net::listenTcp(address);
    if (!fd.ok()) {
      for (int f : fds) close(f);
      return fd.status();
    }
    fds.push_back(*fd);
  }
  return std::shared_ptr<ListenSocketSet>(new ListenSocketSet(address, std::move(fds)));
}

ListenSocketSet::~ListenSocketSet() {
  for (auto& fd : fds_) {
    int f = fd.exchange(-1);
    if (f >= 0) close(f);
  }
}

int ListenSocketSet::fd(size_t worker) const {
  return worker < fds_.size() ? fds_[worker].load(std::memory_order_relaxed) : -1;
}

void ListenSocketSet::closeFor(size_t worker) {
  if (worker >= fds_.size()) return;
  int f = fds_[worker].exchange(-1);
  if (f >= 0) close(f);
}

}  // namespace portico::gateway
