// DnsResolver: asynchronous name resolution (c-ares) on its own thread and event loop; watches
// hostnames and re-resolves them when their records' TTL expires, reporting address changes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "net/address.h"

namespace portico::net {

/// Tunables of a DnsResolver; all durations in milliseconds.
struct DnsResolverOptions {
  /// Re-resolution delay for answers without a usable TTL: /etc/hosts entries and TTL 0.
  MonoMs defaultTtlMs = 5000;
  /// DNS TTLs are clamped into [minTtlMs, maxTtlMs] before they schedule a re-resolution.
  MonoMs minTtlMs = 1000;
  MonoMs maxTtlMs = 300000;
  /// After a failed resolution, retry after retryInitialMs, doubling up to retryMaxMs.
  MonoMs retryInitialMs = 1000;
  MonoMs retryMaxMs = 30000;
  /// c-ares per-try timeout and number of tries per server.
  int queryTimeoutMs = 2000;
  int tries = 2;
  /// "ip[:port],…" (c-ares CSV form, "[v6]:port" for IPv6) replacing /etc/resolv.conf's
  /// nameservers; empty keeps the system configuration. /etc/hosts is consulted first either way.
  std::string servers;
};

/// Resolves upstream hostnames without ever blocking a worker.
///
/// How the controller uses it: it owns one DnsResolver. While translating, for every static
/// upstream host that is a name rather than an IP it calls watch(name, port, onChange), and
/// unwatch(name) when no accepted upstream uses the name any more. onChange runs on the
/// resolver thread: it must only hand the new addresses to the controller (post / queue) so
/// that the controller rebuilds and publishes a new Snapshot with them; the workers then see the
/// new hosts with the snapshot swap. Workers never call the resolver (no lookups on the hot
/// path). `portico validate` may call resolveOnce(), which blocks the calling thread.
///
/// Behaviour: /etc/hosts first, then DNS; A and AAAA (AF_UNSPEC). Addresses are reported IPv4
/// first, each family in ascending byte order, without duplicates, so equal answers compare
/// equal. A name is re-resolved after the shortest TTL of its answer (clamped, see options);
/// a failure keeps the last good answer and retries with exponential back-off. A name that is
/// already a numeric IP is reported once and never re-resolved.
///
/// Thread safety: every public method may be called from any thread, including from inside an
/// onChange callback, except stop() and resolveOnce(), which must not be called from a callback
/// (resolveOnce() returns an error there, stop() would wait for itself).
class DnsResolver {
public:
  /// `addresses` is never empty and carries the port given to watch(). Runs on the resolver
  /// thread; keep it short.
  using Callback =
      std::function<void(const std::string& hostname, const std::vector<Address>& addresses)>;

  /// Creates the c-ares channel and starts the resolver thread.
  static Result<std::unique_ptr<DnsResolver>> create(DnsResolverOptions options = {});
  ~DnsResolver();
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  /// Starts resolving `hostname` and keeps it resolved; `onChange` is called with the first
  /// successful answer and whenever the set of addresses changes after that. Watching a name
  /// that is already watched adds this callback (with its own port); when the name already has
  /// an answer, the new callback receives it right away (asynchronously).
  void watch(const std::string& hostname, uint16_t port, Callback onChange);
  /// Stops re-resolving `hostname`, drops all its callbacks and its cached answer. After it
  /// returns, the name's callbacks may still run at most once (already on their way).
  void unwatch(const std::string& hostname);
  /// The last good answer of a watched name, with `port`; nullopt before the first answer or
  /// when the name is not watched.
  std::optional<std::vector<Address>> cached(const std::string& hostname, uint16_t port) const;
  /// Blocking one-shot resolution on the resolver's channel, for `portico validate` and tools;
  /// never from a worker or from a callback. Fails after `timeoutMs`.
  Result<std::vector<Address>> resolveOnce(const std::string& hostname, uint16_t port,
                                           int timeoutMs);

  /// Cancels pending queries, stops and joins the resolver thread; no callback runs after it
  /// returns. Idempotent; the destructor calls it.
  void stop();

  // ---- test hooks ----
  /// Replaces DnsResolverOptions::defaultTtlMs for answers that arrive from now on.
  void setDefaultTtlForTest(MonoMs ttlMs);
  /// Replaces the retry back-off bounds for failures that happen from now on.
  void setRetryBackoffForTest(MonoMs initialMs, MonoMs maxMs);
  /// Resolutions started / failed for a watched name since it was first watched (0 when not
  /// watched).
  uint64_t attemptsForTest(const std::string& hostname) const;
  uint64_t failuresForTest(const std::string& hostname) const;

private:
  struct Impl;
  explicit DnsResolver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

using DnsResolverPtr = std::unique_ptr<DnsResolver>;

}  // namespace portico::net
