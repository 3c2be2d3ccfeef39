// libFuzzer target: a RouteTable built from fuzz-chosen virtual hosts (domains) and routes
// (prefix / exact / RE2 regex matchers with header, query and method conditions), matched
// against fuzz-chosen requests. Every answer is compared with a reference written here from
// the documented semantics: domain precedence, then a linear first-match-wins scan.
#include <fuzzer/FuzzedDataProvider.h>
#include <re2/re2.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "h1_fuzz_common.h"
#include "router/route_index.h"
#include "router/route_table.h"

namespace {

using namespace portico::router;  // NOLINT(google-build-using-namespace): fuzz target
using portico::fuzz::escaped;

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

// ---- generators -------------------------------------------------------------------------------

/// Strings over a small alphabet, so that prefixes, paths and names collide often.
std::string smallString(FuzzedDataProvider& in, size_t maxLen) {
  static constexpr char kAlphabet[] = "/aAbB0.-_%/x/";
  size_t n = in.ConsumeIntegralInRange<size_t>(0, maxLen);
  std::string s;
  for (size_t i = 0; i < n && in.remaining_bytes() > 0; ++i) {
    uint8_t b = in.ConsumeIntegral<uint8_t>();
    s.push_back(b < 240 ? kAlphabet[b % (sizeof(kAlphabet) - 1)] : static_cast<char>(b - 240 + 'C'));
  }
  return s;
}

std::string pathString(FuzzedDataProvider& in) {
  if (in.ConsumeIntegralInRange<int>(0, 7) == 0) return in.ConsumeRandomLengthString(40);
  std::string s = smallString(in, 12);
  if (in.ConsumeIntegralInRange<int>(0, 3) != 0) s.insert(s.begin(), '/');
  return s;
}

/// RE2 patterns built from pieces (most compile), sometimes raw bytes (most do not).
std::string regexString(FuzzedDataProvider& in) {
  if (in.ConsumeIntegralInRange<int>(0, 5) == 0) return in.ConsumeRandomLengthString(24);
  static const char* const kPieces[] = {"/",  "a",   "A",     "b",      "[0-9]+", ".*",  "(a|b)",
                                        "\\d", "?",  "x",     "[^/]*",  "/b",     "0",   "(?i)a",
                                        "$",  "^",   "\\.",   "[a-z]{1,3}", "+",   "%",   "_"};
  std::string s;
  size_t n = in.ConsumeIntegralInRange<size_t>(0, 6);
  for (size_t i = 0; i < n; ++i)
    s += kPieces[in.ConsumeIntegralInRange<size_t>(0, std::size(kPieces) - 1)];
  return s;
}

std::shared_ptr<const RE2> compile(const std::string& pattern, bool caseSensitive) {
  RE2::Options opts;
  opts.set_case_sensitive(caseSensitive);
  opts.set_log_errors(false);
  opts.set_max_mem(1 << 20);
  auto re = std::make_shared<RE2>(pattern, opts);
  if (!re->ok()) return nullptr;
  return re;
}

const char* const kHeaderNames[] = {"x-a", "x-b", "host", "x-c"};
const char* const kQueryNames[] = {"a", "b", "a b", "%", "x"};
const char* const kMethods[] = {"GET", "POST", "PUT", "HEAD", "get"};

PathMatcher makeMatcher(FuzzedDataProvider& in, bool& ok) {
  PathMatcher m;
  ok = true;
  m.caseSensitive = in.ConsumeIntegralInRange<int>(0, 3) != 0;
  switch (in.ConsumeIntegralInRange<int>(0, 2)) {
  case 0: m.type = PathMatcher::Type::Prefix; break;
  case 1: m.type = PathMatcher::Type::Exact; break;
  default: m.type = PathMatcher::Type::Regex; break;
  }
  if (m.type == PathMatcher::Type::Regex) {
    m.value = regexString(in);
    m.regex = compile(m.value, m.caseSensitive);  // like the controller: case is an RE2 option
    if (!m.regex) ok = false;  // the controller rejects it; never reaches a RouteTable
  } else {
    m.value = pathString(in);
    if (!m.caseSensitive) m.value = lowered(m.value);  // the RouteEntry contract
  }
  if (in.ConsumeIntegralInRange<int>(0, 3) == 0) {
    size_t n = in.ConsumeIntegralInRange<size_t>(0, 2);
    for (size_t i = 0; i < n; ++i) {
      HeaderMatch h;
      h.name = kHeaderNames[in.ConsumeIntegralInRange<size_t>(0, std::size(kHeaderNames) - 1)];
      bool isRegex = in.ConsumeBool();
      h.value = isRegex ? regexString(in) : smallString(in, 4);
      if (isRegex && !(h.regex = compile(h.value, true))) ok = false;
      h.invert = in.ConsumeBool();
      m.headers.push_back(std::move(h));
    }
    n = in.ConsumeIntegralInRange<size_t>(0, 2);
    for (size_t i = 0; i < n; ++i) {
      QueryMatch q;
      q.name = kQueryNames[in.ConsumeIntegralInRange<size_t>(0, std::size(kQueryNames) - 1)];
      bool isRegex = in.ConsumeBool();
      q.value = isRegex ? regexString(in) : smallString(in, 4);
      if (isRegex && !(q.regex = compile(q.value, true))) ok = false;
      m.queryParameters.push_back(std::move(q));
    }
    n = in.ConsumeIntegralInRange<size_t>(0, 2);
    for (size_t i = 0; i < n; ++i)
      m.methods.push_back(kMethods[in.ConsumeIntegralInRange<size_t>(0, 3)]);
  }
  return m;
}

std::vector<RouteEntry> makeRoutes(FuzzedDataProvider& in, uint32_t& nextCluster) {
  std::vector<RouteEntry> routes;
  size_t n = in.ConsumeIntegralInRange<size_t>(0, 12);
  for (size_t i = 0; i < n && in.remaining_bytes() > 0; ++i) {
    RouteEntry r;
    r.clusterIndex = nextCluster++;
    r.name = "routes[" + std::to_string(i) + "]";
    size_t matchers = in.ConsumeIntegralInRange<size_t>(1, 3);
    for (size_t k = 0; k < matchers; ++k) {
      bool ok = false;
      PathMatcher m = makeMatcher(in, ok);
      if (ok) r.matchers.push_back(std::move(m));
    }
    if (!r.matchers.empty()) routes.push_back(std::move(r));
  }
  return routes;
}

std::string domainString(FuzzedDataProvider& in) {
  static const char* const kDomains[] = {"*",       "a.com",    "A.com:8080", "*.a.com",
                                         "*.b.a.com", "*a.com", "b.com",      "[::1]:80",
                                         "[::1]",   "a.com:80", "*.com",      ""};
  if (in.ConsumeIntegralInRange<int>(0, 3) != 0)
    return kDomains[in.ConsumeIntegralInRange<size_t>(0, std::size(kDomains) - 1)];
  return in.ConsumeRandomLengthString(16);
}

std::string hostString(FuzzedDataProvider& in) {
  static const char* const kHosts[] = {"a.com",     "A.COM",      "a.com:8080", "x.a.com",
                                       "x.b.a.com", "b.a.com",    "xa.com",     "[::1]:80",
                                       "[::1]",     "b.com:1",    ".a.com",     "",
                                       "a.com:",    "x.com:8080", "com"};
  switch (in.ConsumeIntegralInRange<int>(0, 5)) {
  case 0: return in.ConsumeRandomLengthString(20);
  case 1: return std::string(in.ConsumeIntegralInRange<size_t>(250, 262), 'a');
  default: return kHosts[in.ConsumeIntegralInRange<size_t>(0, std::size(kHosts) - 1)];
  }
}

// ---- reference semantics ------------------------------------------------------------------------

struct RefDomains {
  struct Entry {
    std::string domain;  ///< lowercased
    size_t vhost;
  };
  std::vector<Entry> entries;  ///< in insertion order

  int findDomain(std::string_view h) const {
    for (const Entry& e : entries)
      if (e.domain != "*" && !(e.domain.size() > 1 && e.domain[0] == '*') && e.domain == h)
        return static_cast<int>(e.vhost);
    int best = -1;
    size_t bestLen = 0;
    for (const Entry& e : entries) {
      if (!(e.domain.size() > 1 && e.domain[0] == '*')) continue;
      std::string_view suffix = std::string_view(e.domain).substr(1);
      if (h.size() > suffix.size() && h.ends_with(suffix) && (best < 0 || suffix.size() > bestLen)) {
        best = static_cast<int>(e.vhost);
        bestLen = suffix.size();
      }
    }
    return best;
  }
  int catchAll() const {
    for (const Entry& e : entries)
      if (e.domain == "*") return static_cast<int>(e.vhost);
    return -1;
  }
  /// RouteTable::findVirtualHost's documented order. Host values over 256 bytes go straight to
  /// the catch-all (the implementation lowercases into a 256-byte stack buffer).
  int find(std::string_view host) const {
    if (!host.empty() && host.size() <= 256) {
      std::string h = lowered(host);
      int idx = findDomain(h);
      if (idx < 0) {
        size_t colon = h.rfind(':');
        if (colon != std::string::npos && h.find(']', colon) == std::string::npos)
          idx = findDomain(std::string_view(h).substr(0, colon));
      }
      if (idx >= 0) return idx;
    }
    return catchAll();
  }
};

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
/// Percent-decoding as query.h documents it: %XX with two hex digits, '+' kept, others as is.
std::string percentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hexValue(s[i + 1]) >= 0 && hexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hexValue(s[i + 1]) * 16 + hexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool refPath(const PathMatcher& m, std::string_view path) {
  switch (m.type) {
  case PathMatcher::Type::Prefix:
    return m.caseSensitive ? path.starts_with(m.value) : lowered(path).starts_with(lowered(m.value));
  case PathMatcher::Type::Exact:
    return m.caseSensitive ? path == m.value : lowered(path) == lowered(m.value);
  case PathMatcher::Type::Regex:
    return RE2::FullMatch(re2::StringPiece(path.data(), path.size()), *m.regex);
  }
  return false;
}

bool refHeader(const HeaderMatch& h, const portico::http::HeaderMap* headers) {
  bool found = false;
  std::string joined;
  if (headers) {
    for (const portico::http::HeaderEntry& e : *headers) {
      if (e.name != h.name) continue;
      if (found) joined.push_back(',');
      joined += e.value;
      found = true;
    }
  }
  bool holds = false;
  if (found) {
    if (h.regex) holds = RE2::FullMatch(joined, *h.regex);
    else holds = h.value.empty() || joined == h.value;
  }
  return holds != h.invert;
}

bool refQuery(const QueryMatch& q, std::string_view query) {
  size_t pos = 0;
  while (pos < query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view pair = query.substr(pos, amp - pos);
    pos = amp + 1;
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    if (percentDecode(pair.substr(0, eq)) != q.name) continue;
    std::string value = eq == std::string_view::npos ? "" : percentDecode(pair.substr(eq + 1));
    if (q.regex) return RE2::FullMatch(value, *q.regex);
    return q.value.empty() || value == q.value;
  }
  return false;
}

bool refConditions(const PathMatcher& m, const RequestView& r) {
  if (!m.methods.empty() && std::find(m.methods.begin(), m.methods.end(), r.method) == m.methods.end())
    return false;
  for (const HeaderMatch& h : m.headers)
    if (!refHeader(h, r.headers)) return false;
  for (const QueryMatch& q : m.queryParameters)
    if (!refQuery(q, r.query)) return false;
  return true;
}

struct Answer {
  const RouteEntry* route = nullptr;
  size_t length = 0;
  bool operator==(const Answer&) const = default;
};

Answer refMatch(const std::vector<RouteEntry>& routes, const RequestView& r) {
  for (const RouteEntry& route : routes)
    for (const PathMatcher& m : route.matchers)
      if (refPath(m, r.path) && refConditions(m, r))
        return {&route, m.type == PathMatcher::Type::Prefix ? m.value.size() : r.path.size()};
  return {};
}

std::string describe(const std::vector<RouteEntry>& routes, const RequestView& r, Answer got,
                     Answer want) {
  auto idx = [&](const RouteEntry* e) { return e ? std::to_string(e - routes.data()) : "none"; };
  std::string s = "request path=" + escaped(r.path) + " query=" + escaped(r.query) +
                  " method=" + std::string(r.method) + "\n";
  if (r.headers)
    for (const auto& e : *r.headers) s += "  " + escaped(e.name) + ": " + escaped(e.value) + "\n";
  s += "got route " + idx(got.route) + " len " + std::to_string(got.length) + ", want route " +
       idx(want.route) + " len " + std::to_string(want.length) + "\nroutes:\n";
  static const char* const kType[] = {"prefix", "exact", "regex"};
  for (size_t i = 0; i < routes.size(); ++i)
    for (const PathMatcher& m : routes[i].matchers) {
      s += "  [" + std::to_string(i) + "] " + kType[static_cast<int>(m.type)] + " " +
           escaped(m.value) + (m.caseSensitive ? "" : " (nocase)");
      for (const auto& h : m.headers)
        s += " hdr " + h.name + (h.regex ? "~" : "=") + escaped(h.value) + (h.invert ? "!" : "");
      for (const auto& q : m.queryParameters)
        s += " q " + escaped(q.name) + (q.regex ? "~" : "=") + escaped(q.value);
      for (const auto& meth : m.methods) s += " " + meth;
      s += "\n";
    }
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  RouteTable table;
  RefDomains ref;
  uint32_t nextCluster = 0;
  size_t hosts = in.ConsumeIntegralInRange<size_t>(1, 3);
  for (size_t v = 0; v < hosts; ++v) {
    std::vector<std::string> domains;
    size_t n = in.ConsumeIntegralInRange<size_t>(0, 3);
    for (size_t i = 0; i < n; ++i) domains.push_back(domainString(in));
    VirtualHost vh;
    vh.name = "vhost" + std::to_string(v);
    vh.routes = makeRoutes(in, nextCluster);
    size_t idx = table.addVirtualHost(std::move(vh), domains);
    FUZZ_CHECK(idx == v, "addVirtualHost position");
    for (const std::string& d : domains.empty() ? std::vector<std::string>{"*"} : domains)
      ref.entries.push_back({lowered(d), v});
  }
  const std::vector<VirtualHost>& vhosts = table.virtualHosts();
  // The same routes without an index (matchRoute's linear fallback) and with one built directly.
  std::vector<VirtualHost> linear;
  for (const VirtualHost& v : vhosts) {
    VirtualHost copy;
    copy.routes = v.routes;
    linear.push_back(std::move(copy));
  }

  while (in.remaining_bytes() > 0) {
    std::string host = hostString(in);
    const VirtualHost* found = table.findVirtualHost(host);
    int want = ref.find(host);
    int got = found ? static_cast<int>(found - vhosts.data()) : -1;
    FUZZ_CHECK(got == want, "findVirtualHost(" + escaped(host) + ") = " + std::to_string(got) +
                                ", expected " + std::to_string(want));

    std::string path = pathString(in);
    std::string query = in.ConsumeBool() ? smallString(in, 10) : in.ConsumeRandomLengthString(16);
    for (char& c : query)
      if (c == 'x') c = '=';  // more name=value pairs
      else if (c == '_') c = '&';
    std::string method = kMethods[in.ConsumeIntegralInRange<size_t>(0, std::size(kMethods) - 1)];
    portico::http::HeaderMap headers;
    size_t nh = in.ConsumeIntegralInRange<size_t>(0, 3);
    for (size_t i = 0; i < nh; ++i)
      headers.add(kHeaderNames[in.ConsumeIntegralInRange<size_t>(0, std::size(kHeaderNames) - 1)],
                  smallString(in, 4));
    bool noHeaders = nh == 0 && in.ConsumeBool();
    RequestView request{path, query, method, noHeaders ? nullptr : &headers, {}, "http"};

    for (size_t v = 0; v < vhosts.size(); ++v) {
      const std::vector<RouteEntry>& routes = vhosts[v].routes;
      Answer expected = refMatch(routes, request);
      RouteTable::Match m = RouteTable::matchRoute(vhosts[v], request);
      Answer indexed{m.route, m.matchedLength};
      FUZZ_CHECK(indexed == expected, "indexed: " + describe(routes, request, indexed, expected));

      RouteTable::Match lm = RouteTable::matchRoute(linear[v], request);
      Answer scanned{lm.route ? &routes[lm.route - linear[v].routes.data()] : nullptr,
                     lm.matchedLength};
      FUZZ_CHECK(scanned == expected, "linear: " + describe(routes, request, scanned, expected));
    }
  }
  return 0;
}
