#include "discovery/function_discovery.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/log.h"
#include "config/decode.h"
#include "discovery/discovered_functions.h"
#include "discovery/openapi.h"

namespace portico::discovery {

namespace {

using Clock = std::chrono::steady_clock;

std::string labelOf(const DiscoveryTarget& t) {
  for (const auto& [k, v] : t.labels)
    if (k == kFunctionDiscoveryLabel) return v;
  return "";
}

/// Debian's CA bundle: what an https:// swaggerInfo.url is verified against when the upstream
/// has no TLS of its own (as Gloo's discovery, a Go HTTP client, does).
constexpr const char* kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";

/// A context verifying `host` (as a DNS or IP SAN) against the system CAs. Built per fetch:
/// fetches are seconds apart, and the bundle may be updated meanwhile.
Result<net::TlsClientContextConstSharedPtr> systemCaContext(const std::string& host) {
  std::ifstream in(kSystemCaBundle);
  std::stringstream text;
  text << in.rdbuf();
  if (!in || text.str().empty())
    return Status::error(std::string("cannot read the system CA bundle ") + kSystemCaBundle +
                         " (give the upstream an sslConfig with a rootCa)");
  net::TlsClientConfig config;
  config.rootCaPem = text.str();
  config.verifySubjectAltNames = {host};
  auto ctx = net::TlsClientContext::create(config);
  if (!ctx.ok()) return Status::error(ctx.error());
  return net::TlsClientContextConstSharedPtr(*ctx);
}

std::string shortReason(std::string s) {
  constexpr size_t kMax = 400;
  if (s.size() > kMax) s = s.substr(0, kMax) + "...";
  return s;
}

}  // namespace

const char* toString(DiscoveryMode mode) {
  switch (mode) {
  case DiscoveryMode::Whitelist: return "WHITELIST";
  case DiscoveryMode::Blacklist: return "BLACKLIST";
  case DiscoveryMode::Disabled: return "DISABLED";
  }
  return "?";
}

bool parseDiscoveryMode(std::string_view text, DiscoveryMode& out) {
  std::string t(text);
  for (char& c : t)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  if (t == "WHITELIST") out = DiscoveryMode::Whitelist;
  else if (t == "BLACKLIST") out = DiscoveryMode::Blacklist;
  else if (t == "DISABLED") out = DiscoveryMode::Disabled;
  else return false;
  return true;
}

const char* toString(DiscoveryState::Phase phase) {
  switch (phase) {
  case DiscoveryState::Phase::Pending: return "Pending";
  case DiscoveryState::Phase::Discovered: return "Discovered";
  case DiscoveryState::Phase::Failed: return "Failed";
  }
  return "?";
}

std::string discoveryStateJson(const DiscoveryState& s) {
  return "\"discovery\":{\"state\":" + config::jsonQuote(toString(s.phase)) +
         ",\"source\":" + config::jsonQuote(s.source) +
         ",\"functions\":" + std::to_string(s.functions) +
         ",\"reason\":" + config::jsonQuote(s.reason) + "}";
}

bool DiscoveryTarget::operator==(const DiscoveryTarget& o) const {
  if (upstream != o.upstream || labels != o.labels || hasServiceSpec != o.hasServiceSpec ||
      swaggerUrl != o.swaggerUrl || swaggerInline != o.swaggerInline || tls != o.tls ||
      hosts.size() != o.hosts.size())
    return false;
  for (size_t i = 0; i < hosts.size(); ++i)
    if (hosts[i].address.toString() != o.hosts[i].address.toString() ||
        hosts[i].authority != o.hosts[i].authority || hosts[i].sni != o.hosts[i].sni)
      return false;
  return true;
}

bool shouldDiscover(const DiscoveryTarget& target, DiscoveryMode mode) {
  if (mode == DiscoveryMode::Disabled || target.swaggerInline) return false;
  std::string label = labelOf(target);
  if (label == "disabled") return false;
  if (!target.swaggerUrl.empty()) return true;
  if (target.hasServiceSpec) return false;
  return mode == DiscoveryMode::Blacklist || label == "enabled";
}

FunctionDiscovery::FunctionDiscovery(store::ConfigStore& store, FunctionDiscoveryOptions options)
    : store_(store), options_(std::move(options)) {
  options_.concurrency = std::clamp<size_t>(options_.concurrency, 1, 64);
}

FunctionDiscovery::~FunctionDiscovery() { stop(); }

void FunctionDiscovery::start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!threads_.empty()) return;
  stopping_ = false;
  LOG_INFO("function discovery: %s", toString(options_.mode));
  for (size_t i = 0; i < options_.concurrency; ++i) threads_.emplace_back([this] { run(); });
}

void FunctionDiscovery::stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    threads.swap(threads_);
  }
  cv_.notify_all();
  for (auto& t : threads) t.join();
}

void FunctionDiscovery::setMode(DiscoveryMode mode) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (mode != options_.mode)
    LOG_INFO("function discovery: %s (was %s)", toString(mode), toString(options_.mode));
  options_.mode = mode;
}

DiscoveryMode FunctionDiscovery::mode() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return options_.mode;
}

void FunctionDiscovery::update(
    const std::vector<DiscoveryTarget>& targets,
    const std::map<config::ObjectKey, std::pair<std::string, size_t>>& stored) {
  std::vector<config::ObjectKey> stale;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    std::map<config::ObjectKey, Entry> next;
    for (const DiscoveryTarget& t : targets) {
      if (!shouldDiscover(t, options_.mode)) continue;
      auto old = entries_.find(t.upstream);
      Entry e;
      if (old != entries_.end() && old->second.target == t) {
        e = std::move(old->second);
      } else {
        e.target = t;
        e.due = Clock::now();
        e.generation = ++generations_;
        if (old != entries_.end()) e.running = old->second.running;  // its result is dropped
      }
      auto s = stored.find(t.upstream);
      e.storedText = s == stored.end() ? "" : s->second.first;
      if (e.state.phase != DiscoveryState::Phase::Discovered)
        e.state.functions = s == stored.end() ? 0 : s->second.second;
      next.emplace(t.upstream, std::move(e));
    }
    // DISABLED keeps what was discovered: switching discovery off must not take functions
    // (and the routes that call them) away.
    if (options_.mode != DiscoveryMode::Disabled)
      for (const auto& [key, text] : stored)
        if (!next.count(key)) stale.push_back(key);
    entries_ = std::move(next);
  }
  cv_.notify_all();
  // Results of upstreams that are gone or no longer discovered: not served any more.
  for (const config::ObjectKey& up : stale) {
    Status st = store_.remove({kDiscoveredKind, up.ns, up.name});
    if (!st.ok()) LOG_WARN("discovery: %s", st.message().c_str());
    else LOG_INFO("discovery: removed the functions of %s", up.display().c_str());
  }
}

std::optional<DiscoveryState> FunctionDiscovery::state(const config::ObjectKey& upstream) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(upstream);
  if (it == entries_.end()) return std::nullopt;
  return it->second.state;
}

void FunctionDiscovery::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    Entry* pick = nullptr;
    config::ObjectKey key;
    for (auto& [k, e] : entries_) {
      if (e.running) continue;
      if (!pick || e.due < pick->due) {
        pick = &e;
        key = k;
      }
    }
    if (!pick) {
      cv_.wait(lock);
      continue;
    }
    if (pick->due > Clock::now()) {
      cv_.wait_until(lock, pick->due);
      continue;
    }
    pick->running = true;
    DiscoveryTarget target = pick->target;
    uint64_t generation = pick->generation;
    lock.unlock();
    Outcome outcome = discover(target);
    finish(key, generation, std::move(outcome));
    lock.lock();
  }
}

FunctionDiscovery::Outcome FunctionDiscovery::fromUrl(
    const std::string& url, const net::TlsClientContextConstSharedPtr& upstreamTls) const {
  Outcome out;
  out.source = url;
  auto parsed = parseHttpUrl(url);
  if (!parsed.ok()) {
    out.reason = url + ": " + parsed.error();
    return out;
  }
  auto address = resolveBlocking(parsed->host, parsed->port);
  if (!address.ok()) {
    out.reason = url + ": " + address.error();
    return out;
  }
  FetchTls tls;
  if (parsed->https) {
    // The document usually lives on the upstream itself: its rootCa and client certificate
    // apply. Without upstream TLS, the system CAs and the URL's host name.
    tls.context = upstreamTls;
    if (!tls.context) {
      auto ctx = systemCaContext(parsed->host);
      if (!ctx.ok()) {
        out.reason = url + ": " + ctx.error();
        return out;
      }
      tls.context = *ctx;
    }
    if (!net::Address::fromIp(parsed->host, 0).ok()) tls.sni = parsed->host;  // never an IP
  }
  auto response = httpGet(*address, parsed->authority, parsed->path, options_.fetch, tls);
  if (!response.ok()) {
    out.reason = url + ": " + response.error();
    return out;
  }
  if (response->status != 200) {
    out.reason = url + ": HTTP " + std::to_string(response->status);
    return out;
  }
  auto fns = functionsFromOpenApi(response->body);
  if (!fns.ok()) {
    out.reason = url + ": " + fns.error();
    return out;
  }
  out.ok = true;
  out.functions = functionsValue(fns->functions);
  out.count = fns->functions.size();
  for (const std::string& w : fns->warnings) LOG_DEBUG("discovery: %s: %s", url.c_str(), w.c_str());
  return out;
}

FunctionDiscovery::Outcome FunctionDiscovery::discover(const DiscoveryTarget& target) const {
  if (!target.swaggerUrl.empty()) return fromUrl(target.swaggerUrl, target.tls);
  Outcome out;
  if (target.hosts.empty()) {
    out.reason = "the upstream has no resolved host to probe";
    return out;
  }
  // Gloo's probe: each path on each host until one answers 200 with an OpenAPI document.
  std::vector<std::string> problems;
  const std::string scheme = target.tls ? "https://" : "http://";
  for (const DiscoveryTarget::Host& host : target.hosts) {
    const std::string& authority = host.authority;
    bool sawHttp = false;
    for (const char* path : kProbePaths) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) return out;
      }
      auto response = httpGet(host.address, authority, path, options_.fetch,
                              FetchTls{target.tls, host.sni});
      if (!response.ok()) {
        if (!sawHttp) {  // unreachable: the other paths would fail the same way
          problems.push_back(response.error());
          break;
        }
        continue;
      }
      sawHttp = true;
      if (response->status != 200) continue;
      std::string url = scheme + authority + path;
      auto fns = functionsFromOpenApi(response->body);
      if (!fns.ok()) {
        problems.push_back(url + ": " + fns.error());
        continue;
      }
      out.ok = true;
      out.source = url;
      out.functions = functionsValue(fns->functions);
      out.count = fns->functions.size();
      return out;
    }
    if (sawHttp && problems.empty())
      problems.push_back("no OpenAPI document at " + authority + " (tried /swagger.json, "
                         "/swagger/docs/v1, /swagger/docs/v2, /v1/swagger, /v2/swagger, "
                         "/openapi.json, /openapi.yaml, /swagger/v1/swagger.json)");
  }
  for (size_t i = 0; i < problems.size(); ++i) out.reason += (i ? "; " : "") + problems[i];
  return out;
}

void FunctionDiscovery::finish(const config::ObjectKey& key, uint64_t generation, Outcome outcome) {
  std::string storedText;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.generation != generation) {
      if (it != entries_.end()) it->second.running = false;
      cv_.notify_all();
      return;  // the upstream changed or went away meanwhile
    }
    storedText = it->second.storedText;
  }
  // Written outside the lock: a store write may take a while (file rename, etcd round trip).
  Status written;
  std::string text;
  if (outcome.ok) {
    text = config::toYaml(outcome.functions);
    if (text != storedText) {
      written = store_.put(makeDiscoveredFunctions(key, outcome.source, outcome.functions));
      if (written.ok())
        LOG_INFO("discovery: %s: %zu functions from %s", key.display().c_str(), outcome.count,
                 outcome.source.c_str());
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  Entry& e = it->second;
  e.running = false;
  cv_.notify_all();
  if (e.generation != generation) return;
  auto now = Clock::now();
  if (outcome.ok && written.ok()) {
    e.storedText = text;
    e.state = {DiscoveryState::Phase::Discovered, outcome.source, outcome.count, "", 0};
    e.due = now + std::chrono::milliseconds(options_.refreshMs);
    return;
  }
  std::string reason = outcome.ok ? "cannot write the functions: " + written.message() : outcome.reason;
  ++e.state.attempts;
  if (e.state.phase != DiscoveryState::Phase::Discovered) {
    e.state.phase = DiscoveryState::Phase::Failed;
    e.state.reason = shortReason((e.state.functions ? "no functions discovered in this run yet "
                                                      "(serving the stored ones): "
                                                    : "no functions discovered yet: ") + reason);
  } else {
    e.state.reason = shortReason("last refresh failed (serving the last discovered functions): " + reason);
  }
  if (e.state.attempts == 1)
    LOG_INFO("discovery: %s: %s", key.display().c_str(), e.state.reason.c_str());
  int64_t backoff = options_.retryInitialMs;
  for (uint32_t i = 1; i < e.state.attempts && backoff < options_.retryMaxMs; ++i) backoff *= 2;
  e.due = now + std::chrono::milliseconds(std::min(backoff, options_.retryMaxMs));
}

}  // namespace portico::discovery
