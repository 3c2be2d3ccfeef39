// Small validators the route decoders share: tokens, hosts, domains, RE2 checks, references.
#include <re2/re2.h>

#include <cctype>
#include <cstring>

#include "config/decode.h"
#include "config/decode_internal.h"
#include "config/field_reader.h"

namespace portico::config::detail {

namespace {

bool isHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

bool isHostName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = host.find('.', start);
    std::string_view label = host.substr(start, dot == host.npos ? host.npos : dot - start);
    if (label.empty() || label.size() > 63) return false;
    for (char c : label)
      if (!isHostChar(c)) return false;
    if (dot == host.npos) return true;
    start = dot + 1;
  }
}

bool isPort(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  int n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  return n >= 1 && n <= 65535;
}

// "[v6]" optionally followed by ":port"; `host` starts with '['.
bool isBracketedHost(std::string_view host) {
  size_t close = host.find(']');
  if (close == host.npos || close == 1) return false;
  std::string_view rest = host.substr(close + 1);
  if (!rest.empty() && !(rest[0] == ':' && isPort(rest.substr(1)))) return false;
  for (char c : host.substr(1, close - 1))
    if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return false;
  return true;
}

RE2::Options quietOptions(bool caseSensitive) {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_case_sensitive(caseSensitive);
  return options;
}

}  // namespace

std::string lowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string upperAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
    if (!ok) return false;
  }
  return true;
}

bool isHostAndPort(std::string_view s) {
  if (!s.empty() && s[0] == '[') return isBracketedHost(s);
  size_t colon = s.rfind(':');
  if (colon != s.npos) {
    if (!isPort(s.substr(colon + 1))) return false;
    s = s.substr(0, colon);
  }
  return isHostName(s);
}

bool isValidDomain(std::string_view d) {
  if (d == "*") return true;
  std::string_view host = d;
  if (!host.empty() && host[0] == '[') return isBracketedHost(host);
  size_t colon = host.rfind(':');
  if (colon != host.npos) {
    if (!isPort(host.substr(colon + 1))) return false;
    host = host.substr(0, colon);
  }
  if (host.substr(0, 2) == "*.") host.remove_prefix(2);
  return isHostName(host);
}

bool checkRegex(const std::string& pattern, std::string_view path, Errors& errors,
                bool caseSensitive) {
  RE2 re(pattern, quietOptions(caseSensitive));
  if (re.ok()) return true;
  errors.add(path, "invalid regex: " + re.error());
  return false;
}

bool checkRewrite(const std::string& pattern, const std::string& rewrite, std::string_view path,
                  Errors& errors) {
  RE2 re(pattern, quietOptions(true));
  std::string error;
  if (!re.ok() || re.CheckRewriteString(rewrite, &error)) return true;
  errors.add(path, error);
  return false;
}

bool reportConversionErrors(const RawObject& obj, Errors& errors) {
  for (const std::string& e : obj.conversionErrors)
    errors.add("", e);  // already "path: message"
  return !obj.conversionErrors.empty();
}

bool expectList(const Value& v, std::string_view path, Errors& errors) {
  if (v.isList()) return true;
  errors.add(path, std::string("expected a list, got ") + typeName(v.type));
  return false;
}

void decodeResourceRef(const Value& v, const std::string& path, const std::string& defaultNs,
                       ResourceRef& out, Errors& errors) {
  MapReader ref(v, path, errors);
  if (!v.isMap() && !v.isNull()) return;  // reported by the reader
  ref.requireString("name", out.name);
  out.ns = defaultNs;
  std::string ns;
  if (ref.readString("namespace", ns)) {
    if (isValidNamespace(ns))
      out.ns = std::move(ns);
    else
      errors.add(ref.pathOf("namespace"), "invalid namespace " + jsonQuote(ns));
  }
}

}  // namespace portico::config::detail
