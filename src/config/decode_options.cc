// Route options and virtual-host options: rewrites, retries, header manipulation, CORS, faults,
// shadowing, lbHash (routes only, as in Gloo). Every option Portico does not implement
// (extauth, ratelimit, waf, jwt, rbac, ...) stays unread, so MapReader reports
// it by path.
#include <charconv>
#include <cstdint>

#include "config/decode.h"
#include "config/decode_internal.h"
#include "config/field_reader.h"

namespace portico::config::detail {

namespace {

constexpr std::string_view kRetryConditions[] = {"5xx", "gateway-error", "connect-failure", "reset",
                                                 "retriable-4xx"};
constexpr std::string_view kHopByHop[] = {"connection", "keep-alive", "proxy-connection",
                                          "te",         "trailer",    "transfer-encoding",
                                          "upgrade"};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// A float percentage in [0, 100] (faults, shadowing).
bool readPercentage(MapReader& r, std::string_view key, double& out) {
  const Value* v = r.take(key);
  if (!v) return false;
  std::string path = r.pathOf(key);
  if (v->type != Value::Type::Number) {
    r.errors().add(path, std::string("expected a number, got ") + typeName(v->type));
    return false;
  }
  std::string_view text = v->scalar;
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  double d = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (ec != std::errc() || end != text.data() + text.size() || !(d >= 0 && d <= 100)) {
    r.errors().add(path, "must be between 0 and 100, got " + v->scalar);
    return false;
  }
  out = d;
  return true;
}

// A header name that headerManipulation adds or removes; `out` is the lowercased name.
bool checkManipulatedHeader(const std::string& name, const std::string& path, bool request,
                            Errors& errors, std::string& out) {
  if (name.empty()) {
    errors.add(path, "required");
    return false;
  }
  if (name[0] == ':') {
    errors.add(path, "pseudo-header " + jsonQuote(name) + " cannot be added or removed");
    return false;
  }
  if (!isToken(name)) {
    errors.add(path, "invalid header name " + jsonQuote(name) +
                         ": expected a token (letters, digits and !#$%&'*+-.^_`|~)");
    return false;
  }
  out = lowerAscii(name);
  for (std::string_view h : kHopByHop) {
    if (out == h) {
      errors.add(path, jsonQuote(out) + " is a hop-by-hop header that Portico manages; it cannot "
                                        "be added or removed");
      return false;
    }
  }
  if (out == "content-length") {
    errors.add(path, "\"content-length\" is set by Portico from the body; it cannot be added or "
                     "removed");
    return false;
  }
  if (request && out == "host") {
    errors.add(path, "\"host\" cannot be added or removed: use options.hostRewrite or "
                     "options.autoHostRewrite");
    return false;
  }
  return true;
}

// Header values are literal. Envoy expands %VARIABLE% (and "%%" is a literal '%'); Portico does
// not implement the variables yet, so they are refused rather than sent verbatim.
bool decodeHeaderValue(const std::string& in, const std::string& path, Errors& errors,
                       std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '\r' || c == '\n' || c == '\0') {
      errors.add(path, "must not contain CR, LF or NUL characters");
      return false;
    }
    if (c == '%') {
      if (i + 1 < in.size() && in[i + 1] == '%') {
        ++i;
      } else {
        errors.add(path, "header variables such as %DOWNSTREAM_REMOTE_ADDRESS% are not supported "
                         "by Portico yet (write %% for a literal %)");
        return false;
      }
    }
    out.push_back(c);
  }
  return true;
}

void decodeHeadersToAdd(const Value& v, const std::string& path, bool request,
                        std::vector<HeaderValueOption>& out, Errors& errors) {
  if (!expectList(v, path, errors)) return;
  for (size_t i = 0; i < v.list.size(); ++i) {
    MapReader item(v.list[i], indexPath(path, i), errors);
    HeaderValueOption opt;
    bool ok = false;
    if (const Value* header = item.take("header")) {
      MapReader h(*header, item.pathOf("header"), errors);
      std::string key, value;
      ok = h.requireString("key", key) &&
           checkManipulatedHeader(key, h.pathOf("key"), request, errors, opt.key);
      if (h.readString("value", value) &&
          !decodeHeaderValue(value, h.pathOf("value"), errors, opt.value))
        ok = false;
    } else if (v.list[i].isMap() && !item.has("headerSecretRef")) {
      errors.add(item.pathOf("header"), "required");
    }
    // headerSecretRef (a value from a secret) stays unread: reported as unsupported.
    item.readBool("append", opt.append);
    if (ok) out.push_back(std::move(opt));
  }
}

void decodeHeadersToRemove(MapReader& r, std::string_view key, bool request,
                           std::vector<std::string>& out) {
  std::vector<std::string> names;
  if (!r.readStringList(key, names)) return;
  std::string path = r.pathOf(key);
  for (size_t i = 0; i < names.size(); ++i) {
    std::string lowered;
    if (checkManipulatedHeader(names[i], indexPath(path, i), request, r.errors(), lowered))
      out.push_back(std::move(lowered));
  }
}

void decodeHeaderManipulation(const Value& v, const std::string& path, HeaderManipulation& out,
                              Errors& errors) {
  MapReader r(v, path, errors);
  if (const Value* add = r.take("requestHeadersToAdd"))
    decodeHeadersToAdd(*add, r.pathOf("requestHeadersToAdd"), true, out.requestHeadersToAdd,
                       errors);
  decodeHeadersToRemove(r, "requestHeadersToRemove", true, out.requestHeadersToRemove);
  if (const Value* add = r.take("responseHeadersToAdd"))
    decodeHeadersToAdd(*add, r.pathOf("responseHeadersToAdd"), false, out.responseHeadersToAdd,
                       errors);
  decodeHeadersToRemove(r, "responseHeadersToRemove", false, out.responseHeadersToRemove);
}

void decodeRetries(const Value& v, const std::string& path, RetryPolicy& out, Errors& errors) {
  MapReader r(v, path, errors);
  std::string retryOn;
  if (r.readString("retryOn", retryOn)) {
    std::string normalized;
    std::string_view rest = retryOn;
    bool ok = true;
    while (ok) {
      size_t comma = rest.find(',');
      std::string_view item = trim(rest.substr(0, comma));
      bool known = false;
      for (std::string_view c : kRetryConditions)
        known = known || item == c;
      if (!known) {
        errors.add(r.pathOf("retryOn"),
                   "unsupported retry condition " + jsonQuote(item) +
                       ": expected a comma-separated list of 5xx, gateway-error, connect-failure, "
                       "reset, retriable-4xx");
        ok = false;
        break;
      }
      if (!normalized.empty()) normalized.push_back(',');
      normalized.append(item);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    if (ok) out.retryOn = std::move(normalized);
  }
  int64_t n = 0;
  if (r.readInt("numRetries", 0, 10, n)) out.numRetries = static_cast<uint32_t>(n);
  r.readDurationMs("perTryTimeout", out.perTryTimeoutMs);
}

// maxAge: seconds, as a string ("86400") or a number.
void decodeMaxAge(const Value& v, const std::string& path, std::string& out, Errors& errors) {
  bool digits = v.isScalar() && !v.scalar.empty() && v.scalar.size() <= 10;
  for (char c : v.scalar)
    digits = digits && c >= '0' && c <= '9';
  if ((v.type == Value::Type::String || v.type == Value::Type::Number) && digits) {
    out = v.scalar;
    return;
  }
  errors.add(path, "expected a number of seconds such as \"86400\", got " +
                       (v.isScalar() ? jsonQuote(v.scalar) : std::string(typeName(v.type))));
}

void decodeTokenList(MapReader& r, std::string_view key, std::vector<std::string>& out) {
  std::vector<std::string> items;
  if (!r.readStringList(key, items)) return;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!isToken(items[i])) {
      r.errors().add(indexPath(r.pathOf(key), i),
                     "invalid value " + jsonQuote(items[i]) +
                         ": expected a token (letters, digits and !#$%&'*+-.^_`|~)");
      continue;
    }
    out.push_back(items[i]);
  }
}

void decodeCors(const Value& v, const std::string& path, CorsPolicy& out, Errors& errors) {
  MapReader r(v, path, errors);
  std::vector<std::string> origins;
  if (r.readStringList("allowOrigin", origins)) {
    for (size_t i = 0; i < origins.size(); ++i) {
      if (origins[i].empty())
        errors.add(indexPath(r.pathOf("allowOrigin"), i), "must not be empty");
      else
        out.allowOrigin.push_back(origins[i]);
    }
  }
  std::vector<std::string> regexes;
  if (r.readStringList("allowOriginRegex", regexes)) {
    for (size_t i = 0; i < regexes.size(); ++i)
      if (checkRegex(regexes[i], indexPath(r.pathOf("allowOriginRegex"), i), errors))
        out.allowOriginRegex.push_back(regexes[i]);
  }
  decodeTokenList(r, "allowMethods", out.allowMethods);
  decodeTokenList(r, "allowHeaders", out.allowHeaders);
  decodeTokenList(r, "exposeHeaders", out.exposeHeaders);
  if (const Value* maxAge = r.take("maxAge"))
    decodeMaxAge(*maxAge, r.pathOf("maxAge"), out.maxAge, errors);
  r.readBool("allowCredentials", out.allowCredentials);
}

void decodeFaults(const Value& v, const std::string& path, Faults& out, Errors& errors) {
  MapReader r(v, path, errors);
  if (const Value* abort = r.take("abort")) {
    MapReader a(*abort, r.pathOf("abort"), errors);
    FaultAbort fa;
    readPercentage(a, "percentage", fa.percentage);
    int64_t status = 0;
    if (!a.has("httpStatus") && abort->isMap())
      errors.add(a.pathOf("httpStatus"), "required");
    else if (a.readInt("httpStatus", 200, 599, status))
      fa.httpStatus = static_cast<uint32_t>(status);
    out.abort = fa;
  }
  if (const Value* delay = r.take("delay")) {
    MapReader d(*delay, r.pathOf("delay"), errors);
    FaultDelay fd;
    readPercentage(d, "percentage", fd.percentage);
    if (!d.has("fixedDelay") && delay->isMap())
      errors.add(d.pathOf("fixedDelay"), "required");
    else if (d.readDurationMs("fixedDelay", fd.fixedDelayMs) && fd.fixedDelayMs == 0)
      errors.add(d.pathOf("fixedDelay"), "must be greater than 0");
    out.delay = fd;
  }
}

void decodeShadowing(const Value& v, const std::string& path, const std::string& defaultNs,
                     Shadowing& out, Errors& errors) {
  MapReader r(v, path, errors);
  out.fieldPath = r.pathOf("upstream");
  if (const Value* upstream = r.take("upstream"))
    decodeResourceRef(*upstream, out.fieldPath, defaultNs, out.upstream, errors);
  else if (v.isMap())
    errors.add(out.fieldPath, "required");
  readPercentage(r, "percentage", out.percentage);
}

void decodeRewrites(MapReader& r, RouteOptions& out) {
  Errors& errors = r.errors();
  if (r.has("prefixRewrite") && r.has("regexRewrite"))
    errors.add(r.path(), "only one of prefixRewrite, regexRewrite may be set");
  std::string rewrite;
  if (r.readString("prefixRewrite", rewrite)) out.prefixRewrite = std::move(rewrite);
  if (const Value* rr = r.take("regexRewrite")) {
    MapReader rx(*rr, r.pathOf("regexRewrite"), errors);
    RegexRewrite result;
    bool ok = false;
    if (const Value* pattern = rx.take("pattern")) {
      MapReader p(*pattern, rx.pathOf("pattern"), errors);
      // googleRe2 (maxProgramSize) stays unread: reported as unsupported.
      ok = p.requireString("regex", result.pattern) &&
           checkRegex(result.pattern, p.pathOf("regex"), errors);
    } else if (rr->isMap()) {
      errors.add(rx.pathOf("pattern"), "required");
    }
    if (rx.readString("substitution", result.substitution) && ok)
      ok = checkRewrite(result.pattern, result.substitution, rx.pathOf("substitution"), errors);
    if (ok) out.regexRewrite = std::move(result);
  }

  if (r.has("hostRewrite") && r.has("autoHostRewrite"))
    errors.add(r.path(), "only one of hostRewrite, autoHostRewrite may be set");
  std::string host;
  if (r.readString("hostRewrite", host)) {
    if (isHostAndPort(host))
      out.hostRewrite = std::move(host);
    else
      errors.add(r.pathOf("hostRewrite"), "invalid host " + jsonQuote(host) +
                                              ": expected a host name or IP address, optionally "
                                              "followed by \":port\"");
  }
  bool autoHost = false;
  if (r.readBool("autoHostRewrite", autoHost)) out.autoHostRewrite = autoHost;
}

// A Set-Cookie Path attribute value: a ';' or a control character would end or break the header.
bool isCookiePath(std::string_view path) {
  if (path.empty() || path[0] != '/') return false;
  for (char c : path) {
    auto u = static_cast<unsigned char>(c);
    if (c == ';' || u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

void decodeHashCookie(const Value& v, const std::string& path, HashPolicy& out, Errors& errors) {
  MapReader c(v, path, errors);
  if (!v.isMap()) return;  // reported by the reader
  out.type = HashPolicy::Type::Cookie;
  if (c.requireString("name", out.name) && !isToken(out.name))
    errors.add(c.pathOf("name"), "invalid cookie name " + jsonQuote(out.name) +
                                     ": expected a token (letters, digits and !#$%&'*+-.^_`|~)");
  int64_t ttlMs = 0;
  if (c.readDurationMs("ttl", ttlMs)) {
    // Envoy reads ttl 0s as "generate a session cookie", which the model cannot say yet.
    if (ttlMs > 0)
      out.cookieTtlMs = ttlMs;
    else
      errors.add(c.pathOf("ttl"), "must be greater than 0 (session cookies, ttl 0s, are not "
                                  "supported by Portico yet)");
  }
  std::string cookiePath;
  if (c.readString("path", cookiePath) && !cookiePath.empty()) {
    if (isCookiePath(cookiePath))
      out.cookiePath = std::move(cookiePath);
    else
      errors.add(c.pathOf("path"), "invalid cookie path " + jsonQuote(cookiePath) +
                                       ": expected a path starting with '/', without ';' or "
                                       "control characters");
  }
}

// options.lbHash: {hashPolicies: [{header | cookie{name, ttl, path} | sourceIp: true,
// terminal}]}, for upstreams balanced by ringHash or maglev.
void decodeLbHash(const Value& v, const std::string& path, std::vector<HashPolicy>& out,
                  Errors& errors) {
  MapReader r(v, path, errors);
  const Value* policies = r.take("hashPolicies");
  if (!policies) return;
  std::string listPath = r.pathOf("hashPolicies");
  if (!expectList(*policies, listPath, errors)) return;
  for (size_t i = 0; i < policies->list.size(); ++i) {
    std::string itemPath = indexPath(listPath, i);
    if (!expectMap(policies->list[i], itemPath, errors)) continue;
    MapReader p(policies->list[i], itemPath, errors);
    HashPolicy policy;
    size_t keys = static_cast<size_t>(p.has("header")) + p.has("cookie") + p.has("sourceIp");
    if (keys > 1)
      errors.add(itemPath, "only one of header, cookie, sourceIp may be set");
    else if (keys == 0)
      errors.add(itemPath, "one of header, cookie, sourceIp is required");
    if (p.has("header")) {
      std::string header;
      policy.type = HashPolicy::Type::Header;
      if (p.requireString("header", header)) {
        if (isToken(header))
          policy.name = lowerAscii(header);
        else
          errors.add(p.pathOf("header"),
                     "invalid header name " + jsonQuote(header) +
                         ": expected a token (letters, digits and !#$%&'*+-.^_`|~)");
      }
    }
    if (const Value* cookie = p.take("cookie"))
      decodeHashCookie(*cookie, p.pathOf("cookie"), policy, errors);
    bool sourceIp = false;
    if (p.readBool("sourceIp", sourceIp)) {
      policy.type = HashPolicy::Type::SourceIp;
      if (!sourceIp)
        errors.add(p.pathOf("sourceIp"), "must be true: false hashes nothing (use header or "
                                         "cookie to hash on something else)");
    }
    p.readBool("terminal", policy.terminal);
    out.push_back(std::move(policy));
  }
}


}  // namespace

// transformations (legacy, one unconditional regular-stage rule) and stagedTransformations.
void decodeTransformationOptions(MapReader& r, RouteOptions& out) {
  if (r.has("transformations") && r.has("stagedTransformations"))
    r.errors().add(r.path(), "only one of transformations, stagedTransformations may be set");
  if (const Value* t = r.take("transformations"))
    decodeTransformations(*t, r.pathOf("transformations"), out.transformations.emplace(), r.errors());
  if (const Value* t = r.take("stagedTransformations"))
    decodeStagedTransformations(*t, r.pathOf("stagedTransformations"),
                                out.transformations.emplace(), r.errors());
}

void decodeRouteOptions(const Value& v, const std::string& path, const std::string& defaultNs,
                        RouteOptions& out, Errors& errors) {
  MapReader r(v, path, errors);
  int64_t ms = 0;
  if (r.readDurationMs("timeout", ms)) {
    if (ms > 0)
      out.timeoutMs = ms;
    else
      errors.add(r.pathOf("timeout"), "must be greater than 0");
  }
  decodeRewrites(r, out);
  if (const Value* retries = r.take("retries"))
    decodeRetries(*retries, r.pathOf("retries"), out.retries.emplace(), errors);
  if (const Value* hm = r.take("headerManipulation"))
    decodeHeaderManipulation(*hm, r.pathOf("headerManipulation"), out.headerManipulation.emplace(),
                             errors);
  if (const Value* cors = r.take("cors"))
    decodeCors(*cors, r.pathOf("cors"), out.cors.emplace(), errors);
  if (const Value* faults = r.take("faults"))
    decodeFaults(*faults, r.pathOf("faults"), out.faults.emplace(), errors);
  if (const Value* shadowing = r.take("shadowing"))
    decodeShadowing(*shadowing, r.pathOf("shadowing"), defaultNs, out.shadowing.emplace(), errors);
  decodeTransformationOptions(r, out);
  if (const Value* lbHash = r.take("lbHash"))
    decodeLbHash(*lbHash, r.pathOf("lbHash"), out.hashPolicies, errors);
}

void decodeVirtualHostOptions(const Value& v, const std::string& path, VirtualService& out,
                              Errors& errors) {
  MapReader r(v, path, errors);
  RouteOptions& options = out.options;
  if (const Value* hm = r.take("headerManipulation"))
    decodeHeaderManipulation(*hm, r.pathOf("headerManipulation"),
                             options.headerManipulation.emplace(), errors);
  if (const Value* cors = r.take("cors"))
    decodeCors(*cors, r.pathOf("cors"), options.cors.emplace(), errors);
  if (const Value* retries = r.take("retries"))
    decodeRetries(*retries, r.pathOf("retries"), options.retries.emplace(), errors);
  decodeTransformationOptions(r, options);
  r.readBool("sortRoutes", out.sortRoutes);
}

}  // namespace portico::config::detail
