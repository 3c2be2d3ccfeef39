#include "net/uring_io.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <liburing.h>
#include <string>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "net/event_loop.h"

namespace portico::net {

namespace {

constexpr unsigned kEntries = 1024;
constexpr unsigned kBufCount = 128;           // provided receive buffers per worker
constexpr size_t kBufSize = 16 * 1024;
constexpr unsigned kBufGroup = 0;
// Per stream: input not read yet / output not sent. Bytes held here are out of the kernel's
// socket-memory accounting, so the bound is small; the socket buffers below it still fill.
constexpr size_t kMaxQueued = 64 * 1024;
constexpr MonoMs kCloseLingerMs = 10000;  // a closed stream's queued output: at most this long
                                          // without progress
constexpr MonoMs kShutdownFlushMs = 2000; // the loop ending: queued output gets this long
constexpr size_t kSpareBuffers = 64;
constexpr size_t kSpareBufferMax = 64 * 1024;

// The low bits of a completion's user_data say which operation of its Reg it ends.
constexpr uint64_t kOpIgnore = 0;  // cancellations and poll removals: nothing to do
constexpr uint64_t kOpPoll = 1;
constexpr uint64_t kOpRecv = 2;
constexpr uint64_t kOpSend = 3;
constexpr uint64_t kOpHangup = 4;  // a stream's watch for the peer going away while not receiving
constexpr uint64_t kOpProbe = 5;   // create()'s feature probe
constexpr uint64_t kOpMask = 7;

// A multishot poll ending with one of these failed for want of memory, not because of its
// descriptor: it is armed again, at most this many times in a row.
constexpr int kPollRetries = 8;
bool transientFailure(int res) {
  return res == -ENOMEM || res == -EAGAIN || res == -ENOBUFS || res == -EINTR || res == -EBUSY;
}

// Linux 6.17 ("io_uring/net: Support multishot receive len cap"): a multishot recv whose
// sqe->optlen is set ends by itself (no IORING_CQE_F_MORE) once that many bytes were received.
// liburing 2.3's header calls the field by its older name, file_index, which recv rejected with
// EINVAL before 6.17: create() probes which of the two the kernel does.
void setRecvLimit(io_uring_sqe* s, uint32_t bytes) { s->file_index = bytes; }

}  // namespace

struct alignas(8) UringIo::Reg {
  int fd = -1;
  EventHandler* handler = nullptr;
  uint32_t mask = 0;       // poll: the events asked for
  uint32_t pending = 0;    // events for the next dispatch
  int ops = 0;             // submitted operations whose last completion has not arrived
  int recvOps = 0;
  int recvErr = 0;
  int pollFailures = 0;    // transient poll failures in a row
  int sendErr = 0;
  bool stream = false;
  bool queued = false;     // in dispatch_
  bool sendQueued = false; // in sendQueue_
  bool sending = false;    // a send is in flight (inflight must not move)
  bool wantWritable = false;
  bool eof = false;
  bool recvCancelled = false;
  bool hangupArmed = false;  // a kOpHangup poll is in flight
  uint32_t hangup = 0;       // what it reported (EPOLLRDHUP/EPOLLHUP/EPOLLERR)
  bool sendCancelled = false;
  bool shutdownPending = false;
  bool writeShut = false;  // shutdownWrite() called: send() fails with EPIPE, as the kernel's
  bool closing = false;
  bool retired = false;
  int failPollWith = 0;    // failPollForTest(): the result its poll's cancellation stands for
  MonoMs closeDeadline = 0;
  Buffer in;               // received, not read by the handler yet
  Buffer out;              // written by the handler, not submitted yet
  Buffer inflight;         // being sent
  size_t inflightSent = 0;

  size_t queuedOut() const { return out.size() + inflight.size() - inflightSent; }
  bool mayRead() const { return !closing && !eof && recvErr == 0 && in.size() < kMaxQueued; }
};

Result<std::unique_ptr<UringIo>> UringIo::create() {
  std::unique_ptr<UringIo> u(new UringIo);
  auto ring = std::make_unique<io_uring>();
  io_uring_params p{};
  // Completions run when the loop enters the kernel anyway, not by interrupting it.
  p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
  int rc = io_uring_queue_init_params(kEntries, ring.get(), &p);
  if (rc == -EINVAL) {
    p = io_uring_params{};
    rc = io_uring_queue_init_params(kEntries, ring.get(), &p);
  }
  if (rc < 0) return Status::error(std::string("io_uring_queue_init: ") + strerror(-rc));
  u->ring_ = std::move(ring);
  if (!(p.features & IORING_FEAT_EXT_ARG) || !(p.features & IORING_FEAT_FAST_POLL))
    return Status::error("io_uring: the kernel is too old (needs Linux 6.0 or later)");

  size_t ringBytes = kBufCount * sizeof(io_uring_buf);
  void* ringMem = mmap(nullptr, ringBytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE,
                       -1, 0);
  void* bufMem = mmap(nullptr, kBufCount * kBufSize, PROT_READ | PROT_WRITE,
                      MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (ringMem == MAP_FAILED || bufMem == MAP_FAILED) {
    if (ringMem != MAP_FAILED) munmap(ringMem, ringBytes);
    if (bufMem != MAP_FAILED) munmap(bufMem, kBufCount * kBufSize);
    return Status::error(std::string("io_uring: mmap: ") + strerror(errno));
  }
  u->bufRing_ = static_cast<io_uring_buf_ring*>(ringMem);
  u->bufMemory_ = static_cast<char*>(bufMem);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(ringMem);
  reg.ring_entries = kBufCount;
  reg.bgid = kBufGroup;
  rc = io_uring_register_buf_ring(u->ring_.get(), &reg, 0);
  if (rc < 0)
    return Status::error(std::string("io_uring: provided buffer ring (Linux 5.19+): ") +
                         strerror(-rc));
  io_uring_buf_ring_init(u->bufRing_);
  for (unsigned i = 0; i < kBufCount; ++i)
    io_uring_buf_ring_add(u->bufRing_, u->bufMemory_ + i * kBufSize, kBufSize,
                          static_cast<unsigned short>(i), io_uring_buf_ring_mask(kBufCount),
                          static_cast<int>(i));
  io_uring_buf_ring_advance(u->bufRing_, kBufCount);
  u->recvLimit_ = u->probeRecvLimit();
  return u;
}

bool UringIo::probeRecvLimit() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) return false;
  bool limited = false;
  if (::send(sv[1], "ab", 2, MSG_NOSIGNAL) == 2) {
    // Two bytes waiting, a limit of one: a kernel with the limit receives them and ends the
    // recv; an older one fails it (EINVAL); one that ignored the field would go on (cancelled).
    io_uring* ring = ring_.get();
    io_uring_sqe* s = nextSqe();
    io_uring_prep_recv_multishot(s, sv[0], nullptr, 0, 0);
    s->flags |= IOSQE_BUFFER_SELECT;
    s->buf_group = kBufGroup;
    setRecvLimit(s, 1);
    io_uring_sqe_set_data64(s, kOpProbe);
    bool first = true;
    for (int i = 0; i < 16; ++i) {
      __kernel_timespec ts{1, 0};
      io_uring_cqe* cqe = nullptr;
      int rc = io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, nullptr);
      if (rc < 0 || cqe == nullptr) break;
      io_uring_cqe c = *cqe;
      io_uring_cqe_seen(ring, cqe);
      if (c.user_data != kOpProbe) continue;  // the cancellation's own completion
      if (c.flags & IORING_CQE_F_BUFFER) recycle(c.flags >> IORING_CQE_BUFFER_SHIFT);
      if (first) limited = c.res > 0 && !(c.flags & IORING_CQE_F_MORE);
      if (first && (c.flags & IORING_CQE_F_MORE)) {
        io_uring_sqe* cancel = nextSqe();
        io_uring_prep_cancel64(cancel, kOpProbe, 0);
        io_uring_sqe_set_data64(cancel, kOpIgnore);
      }
      first = false;
      if (!(c.flags & IORING_CQE_F_MORE)) break;
    }
  }
  ::close(sv[0]);
  ::close(sv[1]);
  LOG_DEBUG("io_uring: multishot receive byte limit (Linux 6.17+): %s", limited ? "yes" : "no");
  return limited;
}

UringIo::~UringIo() {
  if (ring_) io_uring_queue_exit(ring_.get());  // cancels what is still in flight
  if (bufRing_) munmap(bufRing_, kBufCount * sizeof(io_uring_buf));
  if (bufMemory_) munmap(bufMemory_, kBufCount * kBufSize);
  // A Reg is in byFd_ until it retires, never in both.
  for (Reg* r : byFd_) {
    if (r == nullptr) continue;
    if (r->closing && r->fd >= 0) ::close(r->fd);  // output still queued at shutdown
    delete r;
  }
  for (Reg* r : retired_) delete r;
}

// ---- submissions --------------------------------------------------------------------------------

io_uring_sqe* UringIo::nextSqe() {
  io_uring_sqe* s = io_uring_get_sqe(ring_.get());
  if (s == nullptr) {
    io_uring_submit(ring_.get());  // the queue is full: send what is there first
    s = io_uring_get_sqe(ring_.get());
  }
  if (s == nullptr) {
    // The kernel took none of 1024 queued entries (out of memory): nothing sane is left to do.
    LOG_ERROR("io_uring: the kernel accepts no more submissions");
    abort();
  }
  return s;  // the caller preps it (which clears it), then tags it
}

namespace {
void tag(io_uring_sqe* s, void* r, uint64_t op) {
  io_uring_sqe_set_data64(s, r ? reinterpret_cast<uint64_t>(r) | op : kOpIgnore);
}
}  // namespace

void UringIo::armPoll(Reg* r) {
  io_uring_sqe* s = nextSqe();
  io_uring_prep_poll_multishot(s, r->fd, r->mask);
  tag(s, r, kOpPoll);
  ++r->ops;
}

void UringIo::armRecv(Reg* r) {
  io_uring_sqe* s = nextSqe();
  io_uring_prep_recv_multishot(s, r->fd, nullptr, 0, 0);
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = kBufGroup;
  // The kernel stops at the room left (its last receive may fill one more buffer): without the
  // limit, it receives until our cancellation lands, up to the whole ring for one stream.
  if (recvLimit_) {
    size_t room = r->in.size() < kMaxQueued ? kMaxQueued - r->in.size() : 1;
    setRecvLimit(s, static_cast<uint32_t>(room));
  }
  tag(s, r, kOpRecv);
  ++r->ops;
  ++r->recvOps;
  r->recvCancelled = false;
}

bool UringIo::needsHangupWatch(const Reg* r) {
  // Not receiving (input full, or past EOF), no error known yet, still owned.
  return r->recvOps == 0 && r->recvErr == 0 && !r->closing && !r->retired &&
         !(r->hangup & (EPOLLHUP | EPOLLERR));
}

void UringIo::armHangup(Reg* r) {
  io_uring_sqe* s = nextSqe();
  if (r->eof || (r->hangup & EPOLLRDHUP)) {
    // After a FIN the kernel answers any poll at once with EPOLLRDHUP: a one-shot poll for a
    // reset would complete again and again. A multishot one completes at once, then on each
    // change of the socket's state; onHangup() ignores what brings no EPOLLHUP/EPOLLERR.
    io_uring_prep_poll_multishot(s, r->fd, EPOLLHUP | EPOLLERR);
  } else {
    io_uring_prep_poll_add(s, r->fd, EPOLLRDHUP | EPOLLHUP | EPOLLERR);  // one-shot
  }
  tag(s, r, kOpHangup);
  ++r->ops;
  r->hangupArmed = true;
}

void UringIo::submitSend(Reg* r) {
  if (r->inflightSent == r->inflight.size()) {  // nothing in flight: the queued output goes
    r->inflight.clear();
    r->inflightSent = 0;
    std::swap(r->inflight, r->out);
  }
  if (r->inflight.size() == r->inflightSent) return;
  io_uring_sqe* s = nextSqe();
  io_uring_prep_send(s, r->fd, r->inflight.data() + r->inflightSent,
                     r->inflight.size() - r->inflightSent, MSG_NOSIGNAL);
  tag(s, r, kOpSend);
  ++r->ops;
  r->sending = true;
  r->sendCancelled = false;
}

void UringIo::queueSend(Reg* r) {
  if (!r->sendQueued && !r->sending) {
    r->sendQueued = true;
    sendQueue_.push_back(r);
  }
}

// ---- registrations --------------------------------------------------------------------------------

Status UringIo::add(int fd, uint32_t events, EventHandler* handler, bool stream) {
  if (fd < 0) return Status::error("io_uring: invalid descriptor");
  if (static_cast<size_t>(fd) >= byFd_.size()) byFd_.resize(static_cast<size_t>(fd) + 64, nullptr);
  if (Reg* r = byFd_[fd]) {
    if (!stream || !r->stream || r->handler != nullptr || r->closing)
      return Status::error("io_uring: descriptor " + std::to_string(fd) + " already registered");
    // A stream handed to a new owner (HTTP/1 to HTTP/2) with what it has read so far.
    r->handler = handler;
    notify(r, EPOLLOUT | r->hangup |
                  (r->in.empty() && !r->eof && r->recvErr == 0 && !r->hangup ? 0u : EPOLLIN));
    return {};
  }
  Reg* r = new Reg;
  r->fd = fd;
  r->handler = handler;
  r->mask = events & ~static_cast<uint32_t>(EPOLLET);
  r->stream = stream;
  byFd_[fd] = r;
  if (stream) {
    armRecv(r);
    notify(r, EPOLLOUT);  // writable from the start, as epoll reports it
  } else {
    armPoll(r);
  }
  return {};
}

Status UringIo::modify(int fd, uint32_t events, EventHandler* handler) {
  Reg* r = find(fd);
  if (r == nullptr) return Status::error("io_uring: descriptor " + std::to_string(fd) + " not registered");
  if (r->stream) {
    r->handler = handler;
    return {};
  }
  remove(fd);
  return add(fd, events, handler, false);
}

void UringIo::remove(int fd) {
  Reg* r = find(fd);
  if (r == nullptr) return;
  r->handler = nullptr;
  if (r->stream) return;  // it keeps reading into `in` (bounded) until add() or close()
  io_uring_sqe* s = nextSqe();
  io_uring_prep_poll_remove(s, reinterpret_cast<uint64_t>(r) | kOpPoll);
  tag(s, nullptr, kOpIgnore);
  byFd_[fd] = nullptr;
  retire(r);
}

void UringIo::close(int fd) {
  Reg* r = find(fd);
  if (r == nullptr) {
    ::close(fd);
    return;
  }
  if (!r->stream) {
    remove(fd);
    ::close(fd);
    return;
  }
  r->handler = nullptr;
  r->closing = true;
  giveBuffer(r->in);
  if (r->recvOps > 0 && !r->recvCancelled) {
    io_uring_sqe* s = nextSqe();
    io_uring_prep_cancel64(s, reinterpret_cast<uint64_t>(r) | kOpRecv, 0);
    tag(s, nullptr, kOpIgnore);
    r->recvCancelled = true;
  }
  if (r->hangupArmed) {
    io_uring_sqe* s = nextSqe();
    io_uring_prep_poll_remove(s, reinterpret_cast<uint64_t>(r) | kOpHangup);
    tag(s, nullptr, kOpIgnore);
  }
  if (r->sendErr == 0 && !r->sending && !r->out.empty()) {
    // Usually the socket buffer takes the rest at once: then the stream closes now.
    ssize_t n = ::send(fd, r->out.data(), r->out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) r->out.consume(static_cast<size_t>(n));
  }
  if (r->sendErr == 0 && (r->sending || !r->out.empty())) {
    // Like close(2) on a socket with unsent bytes: they still go out, but not forever.
    r->closeDeadline = monotonicMs() + kCloseLingerMs;
    lingering_.push_back(r);
    return;
  }
  finishClose(r);
}

void UringIo::finishClose(Reg* r) {
  if (r->fd < 0) return;
  byFd_[r->fd] = nullptr;
  ::close(r->fd);
  r->fd = -1;
  if (r->closeDeadline) {
    lingering_.erase(std::remove(lingering_.begin(), lingering_.end(), r), lingering_.end());
    r->closeDeadline = 0;
  }
  giveBuffer(r->out);
  if (!r->sending) giveBuffer(r->inflight);
  retire(r);
}

void UringIo::retire(Reg* r) {
  r->retired = true;
  r->handler = nullptr;
  retired_.push_back(r);
}

void UringIo::sweep() {
  size_t keep = 0;
  for (Reg* r : retired_) {
    if (r->ops == 0 && !r->queued && !r->sendQueued) {
      delete r;
    } else {
      retired_[keep++] = r;
    }
  }
  retired_.resize(keep);
}

// ---- reads and writes ------------------------------------------------------------------------------

ssize_t UringIo::recv(int fd, char* buf, size_t len) {
  Reg* r = find(fd);
  if (r == nullptr || !r->stream) return ::recv(fd, buf, len, 0);
  if (!r->in.empty()) {
    size_t n = std::min(len, r->in.size());
    memcpy(buf, r->in.data(), n);
    r->in.consume(n);
    if (r->in.empty()) giveBuffer(r->in);
    if (r->recvOps == 0 && r->mayRead() && r->in.size() < kMaxQueued / 2) armRecv(r);
    return static_cast<ssize_t>(n);
  }
  if (r->recvErr) {
    errno = r->recvErr;
    return -1;
  }
  if (r->eof) return 0;
  if (r->recvOps == 0 && r->mayRead()) armRecv(r);  // was stopped while the input was full
  errno = EAGAIN;
  return -1;
}

ssize_t UringIo::send(int fd, const char* buf, size_t len) {
  Reg* r = find(fd);
  if (r == nullptr || !r->stream) return ::send(fd, buf, len, MSG_NOSIGNAL);
  if (r->sendErr || r->writeShut) {
    errno = r->sendErr ? r->sendErr : EPIPE;
    return -1;
  }
  size_t queued = r->queuedOut();
  if (queued >= kMaxQueued) {
    r->wantWritable = true;
    errno = EAGAIN;
    return -1;
  }
  size_t n = std::min(len, kMaxQueued - queued);
  if (r->out.capacity() == 0) r->out = takeBuffer();
  r->out.append(buf, n);
  queueSend(r);
  if (n < len) r->wantWritable = true;
  return static_cast<ssize_t>(n);
}

void UringIo::shutdownWrite(int fd) {
  Reg* r = find(fd);
  if (r != nullptr && r->stream) {
    r->writeShut = true;
    if (r->sending || !r->out.empty()) {
      r->shutdownPending = true;
      return;
    }
  }
  ::shutdown(fd, SHUT_WR);
}

// ---- completions ----------------------------------------------------------------------------------

void UringIo::notify(Reg* r, uint32_t events) {
  if (r->handler == nullptr) return;
  r->pending |= events;
  if (!r->queued) {
    r->queued = true;
    dispatch_.push_back(r);
  }
}

void UringIo::recycle(unsigned bid) {
  io_uring_buf_ring_add(bufRing_, bufMemory_ + bid * kBufSize, kBufSize,
                        static_cast<unsigned short>(bid), io_uring_buf_ring_mask(kBufCount), 0);
  io_uring_buf_ring_advance(bufRing_, 1);
}

void UringIo::onRecv(Reg* r, const io_uring_cqe* cqe) {
  int res = cqe->res;
  if (cqe->flags & IORING_CQE_F_BUFFER) {
    unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
    if (res > 0 && !r->closing) {
      if (r->in.capacity() == 0) r->in = takeBuffer();
      r->in.append(bufMemory_ + bid * kBufSize, static_cast<size_t>(res));
      notify(r, EPOLLIN);
    }
    recycle(bid);
  }
  if (res == 0) {
    r->eof = true;
    notify(r, EPOLLIN | EPOLLRDHUP);
  } else if (res < 0 && res != -ECANCELED && res != -ENOBUFS) {
    r->recvErr = -res;
    notify(r, EPOLLIN | EPOLLERR | EPOLLHUP);
  }
  if (!(cqe->flags & IORING_CQE_F_MORE)) {
    --r->ops;
    --r->recvOps;
    // Ended by us or by its limit (input full), by running out of buffers (they are back now),
    // or by the kernel for its own reasons: read on unless the stream is done.
    if (r->recvOps == 0 && r->mayRead() && !r->retired) {
      armRecv(r);
    } else if (!r->hangupArmed && needsHangupWatch(r)) {
      // Input full, or past EOF: the owner must still hear of a FIN or a reset (a half-closed
      // peer resets when it gets what we send after its FIN), as epoll would tell it.
      armHangup(r);
    }
  } else if (r->in.size() >= kMaxQueued && !r->recvCancelled) {
    // The owner does not read (backpressure): stop, and let TCP push back on the peer.
    io_uring_sqe* s = nextSqe();
    io_uring_prep_cancel64(s, reinterpret_cast<uint64_t>(r) | kOpRecv, 0);
    tag(s, nullptr, kOpIgnore);
    r->recvCancelled = true;
  }
}

void UringIo::onSend(Reg* r, int res) {
  --r->ops;
  r->sending = false;
  if (res < 0) {
    r->sendErr = -res;
    r->out.clear();
    r->inflight.clear();
    r->inflightSent = 0;
    notify(r, EPOLLOUT | EPOLLERR | EPOLLHUP);
    if (r->closing) finishClose(r);
    return;
  }
  r->inflightSent += static_cast<size_t>(res);
  if (r->closing && res > 0) {
    MonoMs now = monotonicMs();
    if (r->sendCancelled && now >= r->closeDeadline) {  // the deadline passed meanwhile
      finishClose(r);
      return;
    }
    r->closeDeadline = now + kCloseLingerMs;  // progress: the bound counts from here
  }
  if (r->inflightSent < r->inflight.size() || !r->out.empty()) {
    submitSend(r);  // the rest of a short send, or what was queued meanwhile
  } else {
    giveBuffer(r->inflight);
    r->inflightSent = 0;
    if (r->out.empty() && r->out.capacity()) giveBuffer(r->out);
  }
  if (r->wantWritable && r->queuedOut() < kMaxQueued / 2) {
    r->wantWritable = false;
    notify(r, EPOLLOUT);
  }
  if (!r->sending) {
    if (r->shutdownPending) {
      r->shutdownPending = false;
      ::shutdown(r->fd, SHUT_WR);
    }
    if (r->closing) finishClose(r);
  }
}

void UringIo::onHangup(Reg* r, const io_uring_cqe* cqe) {
  int res = cqe->res;
  bool more = cqe->flags & IORING_CQE_F_MORE;
  if (!more) {
    --r->ops;
    r->hangupArmed = false;
  }
  if (r->retired || r->closing || res == -ECANCELED) return;
  if (res < 0) {
    // Not the socket's doing (that is a mask); the recv reports the socket once read again.
    if (!more && transientFailure(res) && needsHangupWatch(r)) armHangup(r);
    return;
  }
  uint32_t seen = static_cast<uint32_t>(res) & (EPOLLRDHUP | EPOLLHUP | EPOLLERR);
  uint32_t fresh = seen & ~r->hangup;
  r->hangup |= seen;
  // EPOLLIN too, as epoll says: what is queued (and in the socket) is still read before EOF.
  if (fresh) notify(r, EPOLLIN | seen);
  bool watch = needsHangupWatch(r);
  if (more && !watch) {
    // A multishot watch whose reset came (or whose stream reads again): end it.
    io_uring_sqe* s = nextSqe();
    io_uring_prep_poll_remove(s, reinterpret_cast<uint64_t>(r) | kOpHangup);
    tag(s, nullptr, kOpIgnore);
  } else if (!more && watch) {
    armHangup(r);  // after a half-close a reset may still come while the owner does not read
  }
}

void UringIo::onPoll(Reg* r, const io_uring_cqe* cqe) {
  int res = cqe->res;
  if (res == -ECANCELED && r->failPollWith != 0) {
    res = r->failPollWith;
    r->failPollWith = 0;
  }
  if (res >= 0) {
    r->pollFailures = 0;
    notify(r, static_cast<uint32_t>(res));
  }
  if (cqe->flags & IORING_CQE_F_MORE) return;
  --r->ops;
  if (r->retired || res == -ECANCELED) return;
  if (res >= 0) {
    armPoll(r);  // ended by the kernel (CQ overflow)
    return;
  }
  // The poll itself failed (a socket's own error comes as EPOLLERR in a mask). Out of memory
  // for now: arm it again; arming checks readiness, so nothing that happened meanwhile is lost.
  if (transientFailure(res) && ++r->pollFailures <= kPollRetries) {
    armPoll(r);
    return;
  }
  // The descriptor cannot be polled (closed, unsupported): nothing more will come, which the
  // owner must learn, as it would from epoll_ctl failing.
  LOG_WARN("io_uring: poll on descriptor %d failed: %s", r->fd, strerror(-res));
  notify(r, EPOLLERR | EPOLLHUP);
}

void UringIo::onCompletion(const io_uring_cqe* cqe) {
  uint64_t data = cqe->user_data;
  auto* r = reinterpret_cast<Reg*>(data & ~kOpMask);
  switch (data & kOpMask) {
  case kOpPoll: onPoll(r, cqe); break;
  case kOpHangup: onHangup(r, cqe); break;
  case kOpRecv: onRecv(r, cqe); break;
  case kOpSend: onSend(r, cqe->res); break;
  default: break;
  }
}

void UringIo::wait(int timeoutMs) {
  for (Reg* r : sendQueue_) {
    r->sendQueued = false;
    if (!r->sending && r->fd >= 0 && r->sendErr == 0) submitSend(r);
  }
  sendQueue_.clear();
  if (!lingering_.empty()) {
    MonoMs now = monotonicMs();
    for (Reg* r : lingering_) {
      if (r->sending && !r->sendCancelled && now >= r->closeDeadline) {
        io_uring_sqe* s = nextSqe();
        io_uring_prep_cancel64(s, reinterpret_cast<uint64_t>(r) | kOpSend, 0);
        tag(s, nullptr, kOpIgnore);
        r->sendCancelled = true;
      }
    }
    if (timeoutMs < 0 || timeoutMs > 1000) timeoutMs = 1000;  // to check the deadline again
  }
  if (!dispatch_.empty()) timeoutMs = 0;
  io_uring* ring = ring_.get();
  int rc;
  if (timeoutMs == 0) {
    rc = io_uring_submit(ring);
  } else if (timeoutMs < 0) {
    rc = io_uring_submit_and_wait(ring, 1);
  } else {
    __kernel_timespec ts{timeoutMs / 1000, static_cast<long long>(timeoutMs % 1000) * 1000000};
    io_uring_cqe* first = nullptr;
    rc = io_uring_submit_and_wait_timeout(ring, &first, 1, &ts, nullptr);
  }
  if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN)
    LOG_ERROR("io_uring_enter: %s", strerror(-rc));
  // Each completion is copied and released before it is handled, so that a submission made
  // while handling (a re-arm, a full queue) finds room for the kernel's overflowed entries.
  io_uring_cqe* cqe;
  while (io_uring_peek_cqe(ring, &cqe) == 0 && cqe != nullptr) {
    io_uring_cqe copy = *cqe;
    io_uring_cqe_seen(ring, cqe);
    onCompletion(&copy);
  }
}

void UringIo::flushClosed() {
  MonoMs deadline = monotonicMs() + kShutdownFlushMs;
  for (MonoMs now = monotonicMs(); !lingering_.empty() && now < deadline; now = monotonicMs()) {
    wait(static_cast<int>(std::min<MonoMs>(deadline - now, 100)));
    // The loop is over: completions are applied, but no handler runs any more.
    for (Reg* r : dispatch_) {
      r->queued = false;
      r->pending = 0;
    }
    dispatch_.clear();
    sweep();
  }
}

void UringIo::dispatch() {
  dispatching_.swap(dispatch_);
  for (Reg* r : dispatching_) {
    r->queued = false;
    uint32_t events = r->pending;
    r->pending = 0;
    if (r->handler && events) r->handler->onEvents(events);
  }
  dispatching_.clear();
  sweep();
}

// ---- test hooks ---------------------------------------------------------------------------------

size_t UringIo::heldInputForTest(int fd) const {
  Reg* r = find(fd);
  return r ? r->in.size() : 0;
}

size_t UringIo::inputBoundForTest() const {
  return kMaxQueued + (recvLimit_ ? kBufSize : kBufCount * kBufSize);
}

void UringIo::failPollForTest(int fd, int res) {
  Reg* r = find(fd);
  if (r == nullptr || r->stream) return;
  r->failPollWith = res;
  io_uring_sqe* s = nextSqe();
  io_uring_prep_poll_remove(s, reinterpret_cast<uint64_t>(r) | kOpPoll);
  tag(s, nullptr, kOpIgnore);
}

// ---- buffers ----------------------------------------------------------------------------------------

Buffer UringIo::takeBuffer() {
  if (spare_.empty()) return Buffer();
  Buffer b = std::move(spare_.back());
  spare_.pop_back();
  return b;
}

void UringIo::giveBuffer(Buffer& b) {
  b.clear();
  if (b.capacity() == 0) return;
  if (b.capacity() > kSpareBufferMax || spare_.size() >= kSpareBuffers) {
    b.shrinkTo(0);
    return;
  }
  spare_.push_back(std::move(b));
}

}  // namespace portico::net
