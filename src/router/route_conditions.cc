#include "router/route_conditions.h"

#include <algorithm>
#include <re2/re2.h>
#include <string>

#include "router/query.h"

namespace portico::router {

namespace {

std::shared_ptr<const re2::RE2> compileRegex(const std::string& pattern, bool caseSensitive = true) {
  RE2::Options opts;
  opts.set_case_sensitive(caseSensitive);
  opts.set_log_errors(false);
  return std::make_shared<RE2>(pattern, opts);
}

inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool startsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (lower(s[i]) != lower(prefix[i])) return false;
  return true;
}

inline bool fullMatch(std::string_view text, const re2::RE2& re) {
  return RE2::FullMatch(re2::StringPiece(text.data(), text.size()), re);
}

/// `value` equals the values of `name` in `headers` joined with "," (`count` of them,
/// `joinedSize` bytes in all), compared piece by piece so that nothing is copied.
bool joinedEquals(const http::HeaderMap& headers, std::string_view name, size_t joinedSize,
                  std::string_view value) {
  if (joinedSize != value.size()) return false;
  size_t at = 0;
  bool first = true;
  for (const http::HeaderEntry& e : headers) {
    if (e.name != name) continue;
    if (!first) {
      if (value[at] != ',') return false;
      ++at;
    }
    first = false;
    if (value.substr(at, e.value.size()) != e.value) return false;
    at += e.value.size();
  }
  return true;
}

/// RE2 full match on the values of `name` joined with ","; the join goes to a stack buffer
/// unless it is long.
bool joinedFullMatch(const http::HeaderMap& headers, std::string_view name, size_t joinedSize,
                     const re2::RE2& re) {
  char inlineBuf[512];
  std::string heap;
  char* out = inlineBuf;
  if (joinedSize > sizeof(inlineBuf)) {
    heap.resize(joinedSize);
    out = heap.data();
  }
  size_t at = 0;
  bool first = true;
  for (const http::HeaderEntry& e : headers) {
    if (e.name != name) continue;
    if (!first) out[at++] = ',';  // also between empty values: "", "" joins to ","
    first = false;
    std::copy(e.value.begin(), e.value.end(), out + at);
    at += e.value.size();
  }
  return fullMatch(std::string_view(out, at), re);
}
}  // namespace

bool pathMatches(const PathMatcher& m, std::string_view path) {
  switch (m.type) {
  case PathMatcher::Type::Prefix:
    return m.caseSensitive ? path.substr(0, m.value.size()) == m.value
                           : startsWithIgnoreCase(path, m.value);
  case PathMatcher::Type::Exact:
    return m.caseSensitive ? path == m.value
                           : (path.size() == m.value.size() && startsWithIgnoreCase(path, m.value));
  case PathMatcher::Type::Regex:
    return m.regex && fullMatch(path, *m.regex);
  }
  return false;
}

bool headerConditionHolds(const HeaderMatch& h, const http::HeaderMap* headers) {
  const http::HeaderEntry* first = nullptr;
  size_t count = 0;
  size_t joinedSize = 0;
  if (headers) {
    for (const http::HeaderEntry& e : *headers) {
      if (e.name != h.name) continue;
      if (!first) first = &e;
      joinedSize += (count++ ? 1 : 0) + e.value.size();
    }
  }
  bool holds;
  if (!first) {
    holds = false;
  } else if (h.regex) {
    holds = count == 1 ? fullMatch(first->value, *h.regex)
                       : joinedFullMatch(*headers, h.name, joinedSize, *h.regex);
  } else if (h.value.empty()) {
    holds = true;
  } else {
    holds = count == 1 ? first->value == h.value
                       : joinedEquals(*headers, h.name, joinedSize, h.value);
  }
  return holds != h.invert;
}

bool queryConditionHolds(const QueryMatch& q, std::string_view query) {
  DecodeBuffer scratch;
  std::string_view value;
  if (!findQueryParameter(query, q.name, scratch, &value)) return false;
  if (q.regex) return fullMatch(value, *q.regex);
  return q.value.empty() || value == q.value;
}

/// A matcher on a pseudo-header (:authority, :method, :path with its query, :scheme), as Envoy
/// offers them in header matchers.
bool pseudoConditionHolds(const HeaderMatch& h, const RequestView& request) {
  std::string joined;
  std::string_view value;
  if (h.name == ":authority") {
    value = request.authority;
  } else if (h.name == ":method") {
    value = request.method;
  } else if (h.name == ":scheme") {
    value = request.scheme;
  } else {  // ":path": the target as sent, query included
    if (request.query.empty()) {
      value = request.path;
    } else {
      joined.reserve(request.path.size() + 1 + request.query.size());
      joined.append(request.path).append("?").append(request.query);
      value = joined;
    }
  }
  bool holds = h.regex ? fullMatch(value, *h.regex) : (h.value.empty() || value == h.value);
  return holds != h.invert;
}

bool conditionsHold(const PathMatcher& m, const RequestView& request) {
  if (!m.methods.empty() &&
      std::find(m.methods.begin(), m.methods.end(), request.method) == m.methods.end())
    return false;
  for (const HeaderMatch& h : m.headers) {
    if (!h.name.empty() && h.name[0] == ':') {
      if (!pseudoConditionHolds(h, request)) return false;
      continue;
    }
    if (!headerConditionHolds(h, request.headers)) return false;
  }
  for (const QueryMatch& q : m.queryParameters)
    if (!queryConditionHolds(q, request.query)) return false;
  return true;
}

PathMatcher compilePathMatcher(const config::Matcher& m) {
  PathMatcher pm;
  pm.caseSensitive = m.caseSensitive;
  pm.value = m.value;
  if (m.type == config::Matcher::Type::Regex) {
    pm.type = PathMatcher::Type::Regex;
    pm.regex = compileRegex(m.value, m.caseSensitive);
  } else {
    pm.type = m.type == config::Matcher::Type::Exact ? PathMatcher::Type::Exact
                                                     : PathMatcher::Type::Prefix;
    if (!m.caseSensitive)
      for (char& c : pm.value) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  }
  for (const auto& h : m.headers) {
    HeaderMatch hm{h.name, h.value, nullptr, h.invertMatch};
    if (h.regex) hm.regex = compileRegex(h.value);
    pm.headers.push_back(std::move(hm));
  }
  for (const auto& q : m.queryParameters) {
    QueryMatch qm{q.name, q.value, nullptr};
    if (q.regex) qm.regex = compileRegex(q.value);
    pm.queryParameters.push_back(std::move(qm));
  }
  pm.methods = m.methods;
  return pm;
}

}  // namespace portico::router
