#include "cli/admin_client.h"

#include <cerrno>
#include <cstring>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/json.h"
#include "http/h1_parser.h"

namespace portico::cli {

namespace {

constexpr int kTimeoutMs = 30000;

class ResponseCollector : public http::H1ParserCallbacks {
public:
  bool done = false;
  std::string body;
  http::ParserAction onHeadersComplete() override { return http::ParserAction::Continue; }
  http::ParserAction onBody(const char* data, size_t len) override {
    body.append(data, len);
    return http::ParserAction::Continue;
  }
  http::ParserAction onMessageComplete() override {
    done = true;
    return http::ParserAction::Pause;
  }
};

/// Splits "host:port" / "[v6]:port" (an "http://" prefix and a trailing '/' are dropped).
bool splitHostPort(std::string_view address, std::string& host, std::string& port) {
  if (address.substr(0, 7) == "http://") address.remove_prefix(7);
  while (!address.empty() && address.back() == '/') address.remove_suffix(1);
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == address.size()) return false;
  host = std::string(address.substr(0, colon));
  port = std::string(address.substr(colon + 1));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return !host.empty() && port.find_first_not_of("0123456789") == std::string::npos;
}

class Fd {
public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

private:
  int fd_;
};

}  // namespace

std::string AdminClient::host() const {
  std::string host, port;
  return splitHostPort(address_, host, port) ? host : "127.0.0.1";
}

Result<HttpResponse> AdminClient::request(std::string_view method, std::string_view target,
                                          std::string_view body, std::string_view contentType) const {
  const std::string where = "admin API at " + address_ + " (set --admin-address or PORTICO_ADMIN)";
  std::string host, port;
  if (!splitHostPort(address_, host, port))
    return Status::error("--admin-address: \"" + address_ + "\" is not HOST:PORT");
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) return Status::error("cannot resolve " + host + " for the " + where + ": " + gai_strerror(rc));
  std::string lastError = "no address";
  int fd = -1;
  for (addrinfo* ai = found; ai && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      lastError = strerror(errno);
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) return Status::error("cannot reach the " + where + ": " + lastError);
  Fd guard(fd);

  std::string req = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: " + address_ +
                    "\r\nUser-Agent: porticoctl/" PORTICO_VERSION "\r\nAccept: application/json\r\n"
                    "Connection: close\r\n";
  if (!token_.empty()) req += "Authorization: Bearer " + token_ + "\r\n";
  if (!body.empty() || method == "PUT" || method == "POST")
    req += "Content-Type: " + std::string(contentType) + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n";
  req.append(body);
  for (size_t off = 0; off < req.size();) {
    ssize_t n = send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return Status::error("sending to the " + where + ": " + strerror(errno));
    off += static_cast<size_t>(n);
  }

  ResponseCollector collector;
  http::H1Parser parser(http::H1Parser::Type::Response, collector);
  char buf[16384];
  while (!collector.done) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, kTimeoutMs) <= 0) return Status::error("no answer from the " + where + " within 30s");
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0) return Status::error("reading from the " + where + ": " + strerror(errno));
    if (n == 0) {
      if (!parser.finish() && !collector.done)
        return Status::error("the " + where + " closed the connection mid-answer");
      break;
    }
    auto r = parser.execute(buf, static_cast<size_t>(n));
    if (r.error) return Status::error("the " + where + " answered malformed HTTP: " + parser.errorReason());
  }
  HttpResponse out;
  out.status = parser.statusCode();
  if (const std::string* ct = parser.headers().get("content-type")) out.contentType = *ct;
  out.body = std::move(collector.body);
  return out;
}

std::string describeError(const HttpResponse& response) {
  Json j = parseJson(response.body);
  std::string text = j.is_object() && j.contains("error") && j["error"].is_string()
                         ? j["error"].get<std::string>()
                         : response.body;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  std::string out = "admin API answered " + std::to_string(response.status) + ": " + text;
  if (j.is_object() && j.contains("rejected") && j["rejected"].is_array())
    for (const Json& r : j["rejected"])
      if (r.is_object()) out += "\n  " + getString(r, "reason");
  return out;
}

std::string urlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace portico::cli
