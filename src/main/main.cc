// The `portico` entry point: `run` (controller + gateway on a config directory), `validate`,
// `version`. Flags are parsed here; errors name the flag and exit 2.
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cerrno>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>

#include "admin/admin_server.h"
#include "common/log.h"
#include "config/decode.h"
#include "controller/controller.h"
#include "controller/host_resolvers.h"
#include "net/dns_resolver.h"
#include "gateway/worker.h"
#include "observability/observability.h"
#include "observability/statsd_sink.h"
#include "observability/tracing_tracer.h"
#include "store/file_store.h"
#include "store/memory_store.h"

using namespace portico;

namespace {

constexpr const char* kUsage =
    "usage: portico <command> [flags]\n"
    "\n"
    "commands:\n"
    "  run       serve the config objects found in a directory (controller + gateway)\n"
    "  validate  print the status of every object in the given files/directories; exit 1 if any is rejected\n"
    "  convert   print Gloo 0.x (2018) objects of a file as modern Gloo v1 YAML (others unchanged)\n"
    "  version   print the version\n"
    "\n"
    "portico run flags:\n"
    "  --config-dir DIR          directory of *.yaml/*.yml config objects, watched for changes (required)\n"
    "  --admin-address ADDR      admin API address (default 127.0.0.1:19000)\n"
    "  --admin-token-file FILE   require \"Authorization: Bearer <token in FILE>\" on the admin API\n"
    "                            (needed for /api/ writes when ADDR is not loopback)\n"
    "  --workers N               worker threads (default: number of cores)\n"
    "  --log-level LEVEL         debug|info|warn|error (default info)\n"
    "  --idle-timeout DURATION   close idle client connections after this (default 60s)\n"
    "  --request-headers-timeout DURATION\n"
    "                            a request head must arrive whole within this, else 408 (default 10s)\n"
    "  --drain-timeout DURATION  on SIGTERM, how long in-flight requests may finish (default 15s)\n"
    "  --max-request-body BYTES  answer 413 above this request body size (default 0 = unlimited)\n"
    "  --max-request-headers-size BYTES\n"
    "                            answer 431 above this request line + headers size (default 61440)\n"
    "  --max-request-headers N   answer 431 above this many request header fields (default 100)\n"
    "  --max-concurrent-streams N  HTTP/2 streams a client may have open on one connection\n"
    "                            (SETTINGS_MAX_CONCURRENT_STREAMS, default 100)\n"
    "  --max-connections N       client connections per worker; at N the worker stops accepting until\n"
    "                            one closes (default 10000, lowered to fit the open-file limit; 0 = none)\n"
    "  --io-engine ENGINE        io_uring or epoll (default: io_uring where the kernel allows it):\n"
    "                            with io_uring, plain client and upstream sockets read and write\n"
    "                            through one system call per loop wake-up\n"
    "  --access-log PATH         access log in Envoy's default format for every gateway without\n"
    "                            options.accessLoggingService (/dev/stdout works; SIGUSR1 reopens)\n"
    "  --statsd ADDR             send metrics to a statsd server over UDP (IP:PORT)\n"
    "  --statsd-interval DURATION  statsd flush period (default 10s)\n"
    "  --statsd-dogstatsd        DogStatsD tags instead of label values in the metric names\n"
    "  --zipkin-endpoint URL     export trace spans to a Zipkin v2 collector\n"
    "                            (http://HOST:PORT[/PATH], default path /api/v2/spans)\n"
    "  --otlp-endpoint URL       export trace spans to an OTLP/HTTP JSON collector\n"
    "                            (http://HOST:PORT[/PATH], default path /v1/traces)\n"
    "  --trace-sampling PERCENT  new traces sampled (0-100, default 0: only callers' sampled\n"
    "                            traces); needs a collector\n"
    "  --discovery-mode MODE     OpenAPI function discovery: WHITELIST (default: upstreams labelled\n"
    "                            discovery.solo.io/function_discovery=enabled), BLACKLIST (all but\n"
    "                            those labelled disabled) or DISABLED\n"
    "  --discovery-refresh DURATION  re-read found OpenAPI documents this often (default 30s)\n"
    "  --upstream-tls-system-ca  verify TLS upstreams without sslConfig root CA against the\n"
    "                            system store (/etc/ssl/certs) and the names they are reached by;\n"
    "                            default: not verified (Gloo); aws upstreams are verified anyway\n"
    "  --dns-servers IP[:PORT],...  resolve upstream host names with these DNS servers instead of\n"
    "                            /etc/resolv.conf's (port 53 by default; IPv6 as [v6]:PORT);\n"
    "                            /etc/hosts is still read first\n"
    "\n"
    "portico validate [--log-level LEVEL] PATH...\n"
    "portico convert FILE|-\n";

int usageError(const std::string& message) {
  fprintf(stderr, "portico: %s\n\n%s", message.c_str(), kUsage);
  return 2;
}

struct RunFlags {
  std::string configDir;
  std::string adminAddress = "127.0.0.1:19000";
  std::string adminToken;  ///< from --admin-token-file; empty = none
  size_t workers = 0;
  gateway::WorkerSettings settings;
  std::string accessLog;  ///< --access-log; empty = none
  std::optional<observability::StatsdOptions> statsd;  ///< --statsd
  int64_t statsdIntervalMs = 10000;
  bool dogstatsd = false;
  observability::TracerOptions tracing;  ///< --zipkin-endpoint, --otlp-endpoint, --trace-sampling
  bool traceSamplingSet = false;
  bool maxConnectionsSet = false;  ///< --max-connections given (else fitted to RLIMIT_NOFILE)
  bool ioEngineSet = false;        ///< --io-engine given (else io_uring if it works here)
  discovery::FunctionDiscoveryOptions discovery;  ///< --discovery-mode, --discovery-refresh
  net::DnsResolverOptions dns;  ///< --dns-servers
  bool upstreamTlsSystemCa = false;  ///< --upstream-tls-system-ca
};

/// --dns-servers "IP[:PORT],..." → c-ares' CSV form ("10.0.0.2:53,[::1]:5353"). Names are
/// refused: the servers are what resolves names.
Result<std::string> parseDnsServers(const std::string& list) {
  std::string csv;
  size_t start = 0;
  for (;;) {
    size_t comma = list.find(',', start);
    std::string item = list.substr(start, comma == std::string::npos ? comma : comma - start);
    if (item.empty()) return Status::error("empty server in \"" + list + "\"");
    size_t colons = std::count(item.begin(), item.end(), ':');
    bool withPort = item.front() == '[' ? item.back() != ']' : colons == 1;
    auto address = withPort ? net::Address::parse(item) : net::Address::fromIp(item, 53);
    if (!address.ok()) return address.status();
    if (address->port() == 0) return Status::error("\"" + item + "\": port 0");
    if (withPort && item.starts_with("localhost:"))
      return Status::error("\"" + item + "\": give an IP address");
    csv += (csv.empty() ? "" : ",") + address->toString();
    if (comma == std::string::npos) return csv;
    start = comma + 1;
  }
}

/// Raises the soft open-file limit to the hard one (each client connection is a descriptor) and
/// returns the limit in effect.
uint64_t raiseOpenFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
    else LOG_WARN("cannot raise the open-file limit to %llu: %s",
                  static_cast<unsigned long long>(rl.rlim_max), strerror(errno));
  }
  return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(rl.rlim_cur);
}

/// Reads the value of `--flag VALUE` or `--flag=VALUE`.
bool takeValue(const std::vector<std::string>& args, size_t& i, const std::string& flag,
               std::string& out, std::string& error) {
  const std::string& a = args[i];
  if (a == flag) {
    if (i + 1 >= args.size()) {
      error = flag + " needs a value";
      return false;
    }
    out = args[++i];
    return true;
  }
  if (a.rfind(flag + "=", 0) == 0) {
    out = a.substr(flag.size() + 1);
    return true;
  }
  return false;
}

bool parseUnsigned(const std::string& s, uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<uint64_t>(c - '0');
  }
  return true;
}

/// Handles --log-level for every command; returns false with `error` set on a bad value.
bool takeLogLevel(const std::vector<std::string>& args, size_t& i, bool& matched,
                  std::string& error) {
  std::string v;
  matched = takeValue(args, i, "--log-level", v, error);
  if (!matched) return error.empty();
  LogLevel level;
  if (!parseLogLevel(v, level)) {
    error = "--log-level: \"" + v + "\" is not one of debug, info, warn, error";
    return false;
  }
  setLogLevel(level);
  return true;
}

int runValidate(const std::vector<std::string>& args) {
  std::vector<std::string> paths;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string error;
    bool matched = false;
    if (!takeLogLevel(args, i, matched, error)) return usageError(error);
    if (matched) continue;
    if (args[i].rfind("--", 0) == 0) return usageError("validate: unknown flag " + args[i]);
    paths.push_back(args[i]);
  }
  if (paths.empty()) return usageError("validate: give at least one file or directory");
  if (logLevel() == LogLevel::Info) setLogLevel(LogLevel::Error);  // statuses are the output

  store::MemoryStore store(store::FileStore::loadPaths(paths));
  PluginRegistry plugins;
  registerBuiltinPlugins(plugins);
  controller::BlockingHostResolver resolver;
  controller::Controller controller(store, plugins, nullptr, {1, false}, resolver);
  controller.rebuild();
  int rejected = 0;
  for (const auto& s : controller.statuses()) {
    bool bad = s.status.state == config::ObjectStatus::State::Rejected;
    rejected += bad;
    std::string what = s.kind == "File" ? "file " + s.name
                                        : config::ObjectKey{s.kind, s.ns, s.name}.display();
    printf("%-9s %s%s%s\n", config::toString(s.status.state), what.c_str(), bad ? "\n          " : "",
           bad ? s.status.reason.c_str() : "");
  }
  printf("%zu objects, %d rejected\n", controller.statuses().size(), rejected);
  return rejected ? 1 : 0;
}

int runConvert(const std::vector<std::string>& args) {
  if (args.size() != 1) return usageError("convert: give exactly one file (or - for stdin)");
  std::string text;
  std::string source = args[0];
  if (source == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    source = "<stdin>";
  } else {
    std::ifstream in(source, std::ios::binary);
    if (!in) return usageError("convert: cannot read " + source + ": " + strerror(errno));
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto converted = config::convertToModern(text, source);
  if (!converted.ok()) {
    fprintf(stderr, "portico convert: %s\n", converted.error().c_str());
    return 1;
  }
  fputs(converted->c_str(), stdout);
  return 0;
}

int runServe(const std::vector<std::string>& args) {
  RunFlags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string v, error;
    bool matched = false;
    if (!takeLogLevel(args, i, matched, error)) return usageError(error);
    if (matched) continue;
    if (takeValue(args, i, "--config-dir", v, error)) {
      flags.configDir = v;
    } else if (takeValue(args, i, "--admin-address", v, error)) {
      flags.adminAddress = v;
    } else if (takeValue(args, i, "--admin-token-file", v, error)) {
      std::ifstream in(v, std::ios::binary);
      if (!in) return usageError("--admin-token-file: cannot read " + v + ": " + strerror(errno));
      std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      token.erase(token.find_last_not_of(" \t\r\n") + 1);  // npos + 1 == 0: blank → empty
      if (token.empty() || token.find_first_of(" \t\r\n") != std::string::npos)
        return usageError("--admin-token-file: " + v + " must hold one token (no spaces)");
      flags.adminToken = token;
    } else if (takeValue(args, i, "--workers", v, error)) {
      uint64_t n;
      if (!parseUnsigned(v, n) || n == 0 || n > 256)
        return usageError("--workers: \"" + v + "\" is not a number between 1 and 256");
      flags.workers = n;
    } else if (takeValue(args, i, "--idle-timeout", v, error)) {
      int64_t ms;
      if (!config::parseDurationMs(v, ms) || ms <= 0)
        return usageError("--idle-timeout: \"" + v + "\" is not a positive duration (e.g. 60s)");
      flags.settings.idleTimeoutMs = ms;
    } else if (takeValue(args, i, "--request-headers-timeout", v, error)) {
      int64_t ms;
      if (!config::parseDurationMs(v, ms) || ms <= 0)
        return usageError("--request-headers-timeout: \"" + v + "\" is not a positive duration (e.g. 10s)");
      flags.settings.requestHeadersTimeoutMs = ms;
    } else if (takeValue(args, i, "--drain-timeout", v, error)) {
      int64_t ms;
      if (!config::parseDurationMs(v, ms))
        return usageError("--drain-timeout: \"" + v + "\" is not a duration (e.g. 15s)");
      flags.settings.drainTimeoutMs = ms;
    } else if (takeValue(args, i, "--statsd", v, error)) {
      auto address = net::Address::parse(v);
      if (!address.ok()) return usageError("--statsd: " + address.error());
      flags.statsd = observability::StatsdOptions{};
      flags.statsd->address = *address;
    } else if (takeValue(args, i, "--statsd-interval", v, error)) {
      int64_t ms;
      if (!config::parseDurationMs(v, ms) || ms <= 0)
        return usageError("--statsd-interval: \"" + v + "\" is not a positive duration (e.g. 10s)");
      flags.statsdIntervalMs = ms;
    } else if (args[i] == "--upstream-tls-system-ca") {
      flags.upstreamTlsSystemCa = true;
    } else if (args[i] == "--statsd-dogstatsd") {
      flags.dogstatsd = true;
    } else if (takeValue(args, i, "--discovery-mode", v, error)) {
      if (!discovery::parseDiscoveryMode(v, flags.discovery.mode))
        return usageError("--discovery-mode: \"" + v + "\" is not one of WHITELIST, BLACKLIST, DISABLED");
    } else if (takeValue(args, i, "--discovery-refresh", v, error)) {
      int64_t ms;
      if (!config::parseDurationMs(v, ms) || ms < 100)
        return usageError("--discovery-refresh: \"" + v + "\" is not a duration of at least 100ms (e.g. 30s)");
      flags.discovery.refreshMs = ms;
    } else if (takeValue(args, i, "--dns-servers", v, error)) {
      auto servers = parseDnsServers(v);
      if (!servers.ok()) return usageError("--dns-servers: " + servers.error());
      flags.dns.servers = *servers;
    } else if (takeValue(args, i, "--zipkin-endpoint", v, error)) {
      auto url = observability::parseCollectorUrl(v, "/api/v2/spans");
      if (!url.ok()) return usageError("--zipkin-endpoint: " + url.error());
      flags.tracing.zipkin = *url;
    } else if (takeValue(args, i, "--otlp-endpoint", v, error)) {
      auto url = observability::parseCollectorUrl(v, "/v1/traces");
      if (!url.ok()) return usageError("--otlp-endpoint: " + url.error());
      flags.tracing.otlp = *url;
    } else if (takeValue(args, i, "--trace-sampling", v, error)) {
      std::string number = v.ends_with("%") ? v.substr(0, v.size() - 1) : v;
      char* end = nullptr;
      double percent = number.empty() || !isdigit(static_cast<unsigned char>(number[0]))
                           ? -1 : strtod(number.c_str(), &end);
      if (percent < 0 || percent > 100 || !end || *end != '\0')
        return usageError("--trace-sampling: \"" + v + "\" is not a percentage between 0 and 100");
      flags.tracing.samplingPerMillion = static_cast<uint32_t>(percent * 10000 + 0.5);
      flags.traceSamplingSet = true;
    } else if (takeValue(args, i, "--access-log", v, error)) {
      if (v.empty()) return usageError("--access-log: give a file path (or /dev/stdout)");
      flags.accessLog = v;
    } else if (takeValue(args, i, "--max-request-body", v, error)) {
      uint64_t n;
      if (!parseUnsigned(v, n)) return usageError("--max-request-body: \"" + v + "\" is not a byte count");
      flags.settings.maxRequestBodyBytes = n;
    } else if (takeValue(args, i, "--max-request-headers-size", v, error)) {
      uint64_t n;
      if (!parseUnsigned(v, n) || n < 1024 || n > (64u << 20))
        return usageError("--max-request-headers-size: \"" + v + "\" is not a byte count between 1024 and 67108864");
      flags.settings.maxRequestHeaderBytes = n;
    } else if (takeValue(args, i, "--max-request-headers", v, error)) {
      uint64_t n;
      if (!parseUnsigned(v, n) || n == 0 || n > 10000)
        return usageError("--max-request-headers: \"" + v + "\" is not a number between 1 and 10000");
      flags.settings.maxRequestHeaders = n;
    } else if (takeValue(args, i, "--max-concurrent-streams", v, error)) {
      uint64_t n;
      if (!parseUnsigned(v, n) || n == 0 || n > 100000)
        return usageError("--max-concurrent-streams: \"" + v + "\" is not a number between 1 and 100000");
      flags.settings.maxConcurrentStreams = static_cast<uint32_t>(n);
    } else if (takeValue(args, i, "--io-engine", v, error)) {
      if (v == "epoll") {
        flags.settings.ioEngine = net::IoEngine::Epoll;
      } else if (v == "io_uring") {
        flags.settings.ioEngine = net::IoEngine::IoUring;
      } else {
        return usageError("--io-engine: \"" + v + "\" is not epoll or io_uring");
      }
      flags.ioEngineSet = true;
    } else if (takeValue(args, i, "--max-connections", v, error)) {
      uint64_t n;
      if (!parseUnsigned(v, n) || n > 10000000)
        return usageError("--max-connections: \"" + v + "\" is not a number between 0 and 10000000");
      flags.settings.maxConnections = n;
      flags.maxConnectionsSet = true;
    } else if (!error.empty()) {
      return usageError(error);
    } else {
      return usageError("run: unknown flag " + args[i]);
    }
  }
  if (flags.configDir.empty()) return usageError("run: --config-dir is required");
  if (!flags.statsd && (flags.dogstatsd || flags.statsdIntervalMs != 10000))
    return usageError("--statsd-interval and --statsd-dogstatsd need --statsd ADDR");
  if (flags.traceSamplingSet && !flags.tracing.zipkin && !flags.tracing.otlp)
    return usageError("--trace-sampling needs --zipkin-endpoint URL or --otlp-endpoint URL");
  auto adminAddress = net::Address::parse(flags.adminAddress);
  if (!adminAddress.ok()) return usageError("--admin-address: " + adminAddress.error());
  if (flags.workers == 0) {
    unsigned hw = std::thread::hardware_concurrency();
    flags.workers = hw ? hw : 1;
  }

  auto store = store::FileStore::create(flags.configDir);
  if (!store.ok()) return usageError("--config-dir: " + store.error());

  if (!flags.ioEngineSet) {
    // io_uring where the kernel (and any seccomp policy, e.g. a container's) allows it.
    auto probe = net::EventLoop::create(net::IoEngine::IoUring);
    if (probe.ok())
      flags.settings.ioEngine = net::IoEngine::IoUring;
    else
      LOG_INFO("io_uring unavailable (%s): using epoll", probe.error().c_str());
  }

  // Descriptors: 256 kept for upstream connections, files and the admin API; the default
  // --max-connections shares the rest between the workers.
  const uint64_t openFiles = raiseOpenFileLimit();
  const uint64_t perWorkerFiles = openFiles > 512 ? (openFiles - 256) / flags.workers : 256;
  if (!flags.maxConnectionsSet && flags.settings.maxConnections > perWorkerFiles) {
    flags.settings.maxConnections = perWorkerFiles;
    LOG_INFO("open-file limit %llu: --max-connections %zu per worker",
             static_cast<unsigned long long>(openFiles), flags.settings.maxConnections);
  } else if (flags.maxConnectionsSet &&
             (flags.settings.maxConnections == 0 || flags.settings.maxConnections > perWorkerFiles)) {
    LOG_WARN("--max-connections %zu per worker x %zu workers is above the open-file limit %llu: "
             "accepting may fail with EMFILE first", flags.settings.maxConnections, flags.workers,
             static_cast<unsigned long long>(openFiles));
  }

  // Signals are taken synchronously by the main thread; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // Metrics and access logs: sized for the workers before the first snapshot is built.
  observability::Observability& obs = observability::instance();
  obs.configure(flags.workers);
  obs.setDefaultAccessLogPath(flags.accessLog);
  obs.accessLogs().start();
  observability::tracer().configure(flags.workers, flags.tracing);  // off without a collector
  observability::tracer().start();
  std::unique_ptr<observability::StatsdSink> statsd;
  if (flags.statsd) {
    flags.statsd->intervalMs = flags.statsdIntervalMs;
    flags.statsd->dogstatsd = flags.dogstatsd;
    auto sink = observability::StatsdSink::create(*flags.statsd, obs.metrics());
    if (!sink.ok()) return usageError("--statsd: " + sink.error());
    statsd = std::move(*sink);
    statsd->start();
  }

  PluginRegistry plugins;
  registerBuiltinPlugins(plugins);
  gateway::SnapshotHolder holder;
  auto dns = net::DnsResolver::create(flags.dns);
  if (!dns.ok()) {
    LOG_ERROR("dns resolver: %s", dns.error().c_str());
    return 1;
  }
  controller::Controller* controllerPtr = nullptr;
  controller::CachingHostResolver resolver(**dns, [&controllerPtr] {
    if (controllerPtr) controllerPtr->requestRebuild();
  });
  controller::ControllerOptions controllerOptions{flags.workers, true};
  controllerOptions.discovery = flags.discovery;
  controllerOptions.upstreamTlsSystemCa = flags.upstreamTlsSystemCa;
  controller::Controller controller(**store, plugins, &holder, controllerOptions, resolver,
                                    &resolver);
  controllerPtr = &controller;

  // The first snapshot is built before the workers start; the controller thread (with the
  // health checker and outlier detector) starts before them so that workers can report.
  std::vector<std::unique_ptr<gateway::Worker>> workers;
  std::atomic<bool> workersReady{false};  // publishes before that are picked up at start
  controller.setOnPublish([&workers, &workersReady] {
    if (!workersReady.load(std::memory_order_acquire)) return;
    for (auto& w : workers) w->notifySnapshot();
  });
  controller.rebuild();
  controller.start();
  flags.settings.outlierDetector = controller.outlierDetector();
  for (size_t i = 0; i < flags.workers; ++i)
    workers.push_back(std::make_unique<gateway::Worker>(i, holder, flags.settings));
  for (auto& w : workers) {
    Status s = w->start();
    if (!s.ok()) {
      LOG_ERROR("worker: %s", s.message().c_str());
      return 1;
    }
  }
  workersReady.store(true, std::memory_order_release);
  for (auto& w : workers) w->notifySnapshot();  // anything published while they started
  admin::AdminServer adminServer(controller);
  adminServer.setAuthToken(flags.adminToken);
  Status s = adminServer.start(*adminAddress);
  if (!s.ok()) {
    LOG_ERROR("%s", s.message().c_str());
    for (auto& w : workers) w->stop();
    return 1;
  }
  s = (*store)->watch([&controller] { controller.requestRebuild(); });
  if (!s.ok()) LOG_WARN("--config-dir: not watching for changes: %s", s.message().c_str());
  LOG_INFO("portico %s: %zu workers (%s), config %s, admin http://%s", PORTICO_VERSION,
           flags.workers, flags.settings.ioEngine == net::IoEngine::IoUring ? "io_uring" : "epoll",
           flags.configDir.c_str(), adminServer.address().toString().c_str());

  for (;;) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGUSR1) {
      LOG_INFO("SIGUSR1: reopening access logs");
      obs.accessLogs().reopen();
      continue;
    }
    if (sig == SIGHUP) {
      LOG_INFO("SIGHUP: reloading config");
      controller.requestRebuild();
      continue;
    }
    LOG_INFO("%s: draining (up to %lld ms)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
             static_cast<long long>(flags.settings.drainTimeoutMs));
    break;
  }
  (*store)->stop();
  controller.stop();
  (*dns)->stop();
  for (auto& w : workers) w->drain();
  for (auto& w : workers) w->join();
  adminServer.stop();
  workers.clear();
  obs.accessLogs().stop();  // writes what the workers queued last
  observability::tracer().stop();  // and exports their last spans
  if (statsd) statsd->stop();  // and a last flush
  LOG_INFO("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  std::string command = args[0];
  args.erase(args.begin());
  if (command == "version" || command == "--version") {
    printf("portico %s\n", PORTICO_VERSION);
    return 0;
  }
  if (command == "run") return runServe(args);
  if (command == "validate") return runValidate(args);
  if (command == "convert") return runConvert(args);
  return usageError("unknown command \"" + command + "\"");
}
