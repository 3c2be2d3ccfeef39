// HTTP/1.1 client pieces shared by the bench load tools (openloop, idle_conns): target parsing,
// a non-blocking connect, and an incremental reader for one response (Content-Length or chunked).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace bench {

/// Parses "IPv4:PORT" into `out`; false (and nothing set) on anything else.
inline bool parseTarget(const std::string& text, sockaddr_in& out) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  const int port = std::atoi(text.c_str() + colon + 1);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (port <= 0 || port > 65535 || inet_pton(AF_INET, text.substr(0, colon).c_str(), &addr.sin_addr) != 1)
    return false;
  out = addr;
  return true;
}

/// Starts a non-blocking TCP connect (TCP_NODELAY set); -1 with errno on failure.
inline int connectNonBlocking(const sockaddr_in& addr) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0 && errno != EINPROGRESS) {
    const int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

/// Raises the soft open-file limit to the hard one (10k connections need it); returns the limit.
inline rlim_t raiseFileLimit() {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  return lim.rlim_cur;
}

inline std::string makeGet(const std::string& path, const std::string& host) {
  return "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: portico-bench/1\r\n\r\n";
}

/// Reads one response at a time. Only what a benchmark needs: the status code, the body length
/// (Content-Length, chunked, or none for 1xx/204/304) and whether the server will close.
class ResponseReader {
 public:
  enum class Result { kNeedMore, kDone, kError };

  /// Consumes bytes of `data` up to the end of the current response; `used` says how many.
  Result feed(const char* data, size_t len, size_t& used) {
    used = 0;
    while (used < len) {
      if (state_ == State::kBody || state_ == State::kChunkData) {
        const size_t n = std::min(remaining_, len - used);
        remaining_ -= n;
        used += n;
        if (remaining_ == 0) {
          if (state_ == State::kBody) return finish();
          state_ = State::kChunkLine;
          skipCrlf_ = true;
        }
        continue;
      }
      // Line-oriented states: head, chunk-size lines, trailers.
      line_.push_back(data[used++]);
      if (line_.size() > 64 * 1024) return Result::kError;
      if (state_ == State::kHead) {
        if (line_.size() >= 4 && line_.compare(line_.size() - 4, 4, "\r\n\r\n") == 0) {
          if (!parseHead()) return Result::kError;
          line_.clear();
          if (state_ == State::kBody && remaining_ == 0) return finish();
        }
      } else if (line_.back() == '\n') {
        const bool empty = line_ == "\r\n";
        if (state_ == State::kChunkLine) {
          if (skipCrlf_ && empty) {  // the CRLF that ends a chunk's data
            skipCrlf_ = false;
          } else {
            remaining_ = std::strtoul(line_.c_str(), nullptr, 16);
            state_ = remaining_ ? State::kChunkData : State::kTrailer;
          }
        } else if (empty) {  // kTrailer: an empty line ends the response
          line_.clear();
          return finish();
        }
        line_.clear();
      }
    }
    return Result::kNeedMore;
  }

  int status() const { return status_; }
  bool closeAfter() const { return close_; }

 private:
  enum class State { kHead, kBody, kChunkLine, kChunkData, kTrailer };

  bool parseHead() {
    const auto sp = line_.find(' ');
    if (line_.compare(0, 5, "HTTP/") != 0 || sp == std::string::npos) return false;
    status_ = std::atoi(line_.c_str() + sp + 1);
    bool chunked = false;
    long length = -1;
    close_ = line_.compare(0, 8, "HTTP/1.0") == 0;
    for (size_t pos = line_.find("\r\n") + 2; pos < line_.size();) {
      const size_t end = line_.find("\r\n", pos);
      std::string header = line_.substr(pos, end - pos);
      pos = end + 2;
      for (auto& c : header) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      const std::string_view h = header;
      if (h.starts_with("content-length:")) length = std::atol(header.c_str() + 15);
      if (h.starts_with("transfer-encoding:") && h.find("chunked") != h.npos) chunked = true;
      if (h.starts_with("connection:")) close_ = h.find("close") != h.npos;
    }
    if (chunked) {
      state_ = State::kChunkLine;
      skipCrlf_ = false;
    } else if (length >= 0 || status_ < 200 || status_ == 204 || status_ == 304) {
      state_ = State::kBody;
      remaining_ = length > 0 ? static_cast<size_t>(length) : 0;
    } else {
      return false;  // read-until-close bodies: no proxy under test sends them for this origin
    }
    return true;
  }

  Result finish() {
    state_ = State::kHead;
    line_.clear();
    return Result::kDone;
  }

  State state_ = State::kHead;
  std::string line_;
  size_t remaining_ = 0;
  bool skipCrlf_ = false;
  int status_ = 0;
  bool close_ = false;
};

}  // namespace bench
