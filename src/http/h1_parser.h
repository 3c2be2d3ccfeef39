// H1Parser: Portico's own incremental HTTP/1.0/1.1 request or response parser (RFC 9112). Collects
// the message head (method, target, status, headers) and streams body bytes to its callbacks.
// Head lines are parsed whole: in place when a read holds the line, else from a copy kept across
// reads (reused, so no allocation per message once warm).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "http/header_map.h"

namespace portico::http {

/// What a callback asks the parser to do next.
enum class ParserAction {
  Continue,
  /// Stop after this point; execute() returns and resume() continues from there.
  Pause,
  /// Only from onHeadersComplete of a response: the message has no body (HEAD, 1xx, 204, 304).
  SkipBody,
};

class H1ParserCallbacks {
public:
  virtual ~H1ParserCallbacks() = default;
  virtual ParserAction onHeadersComplete() = 0;
  /// Decoded body bytes (chunk framing removed). The pointer is valid only during the call.
  virtual ParserAction onBody(const char* data, size_t len) = 0;
  virtual ParserAction onMessageComplete() = 0;
};

struct ParserLimits {
  size_t maxHeaderBytes = 60 * 1024;  ///< request line/target + all header names and values
  size_t maxHeaders = 100;
};

/// Why parsing failed; maps to the HTTP status a server answers with.
enum class ParseError { None, Malformed, HeadersTooLarge, TooManyHeaders, UriTooLong };

class H1Parser {
public:
  enum class Type { Request, Response };

  H1Parser(Type type, H1ParserCallbacks& callbacks, ParserLimits limits = {});
  ~H1Parser();
  H1Parser(const H1Parser&) = delete;
  H1Parser& operator=(const H1Parser&) = delete;

  struct ExecResult {
    size_t consumed = 0;
    bool paused = false;
    bool error = false;
  };
  /// Parses `len` bytes. Stops early when a callback pauses (consumed < len possible) or on an
  /// error (see error()/errorReason()).
  ExecResult execute(const char* data, size_t len);
  /// Continues after a pause; the caller then calls execute() with the unconsumed bytes.
  void resume();
  /// The peer closed: completes a message delimited by EOF (onMessageComplete, once). Returns
  /// false when the close truncated a message or after a parse error; true between messages and
  /// after an upgrade. May be called while paused: it judges the close as if the caller had
  /// resumed and called execute() with no more bytes (bytes a paused execute() did not consume
  /// are not looked at: pass them first).
  bool finish();
  /// Back to the initial state (e.g. reusing an upstream connection for a new exchange).
  void reset();

  /// True between the first byte of a message and its completion.
  bool inMessage() const { return inMessage_; }
  ParseError error() const { return error_; }
  const char* errorReason() const;

  // The current message head; valid from onHeadersComplete until the next message begins.
  std::string_view method() const;
  bool isHead() const;
  const std::string& target() const { return target_; }
  int statusCode() const;
  int versionMajor() const;
  int versionMinor() const;
  bool keepAlive() const;
  bool hasContentLength() const;
  uint64_t contentLength() const { return contentLength_; }
  bool chunked() const;
  /// The body ends when the connection closes (response without length or chunking).
  bool bodyUntilEof() const;
  bool upgrade() const;
  const HeaderMap& headers() const { return headers_; }
  HeaderMap& headers() { return headers_; }

private:
  enum class State : uint8_t {
    Idle,           ///< between messages: CR/LF skipped until a message starts
    Closed,         ///< after a message without keep-alive: the rest is consumed unread
    StartLine,      ///< request line or status line
    HeaderLine,
    AfterHead,      ///< onHeadersComplete returned; the body framing is chosen next
    BodyLength,     ///< Content-Length body, remaining_ bytes left
    BodyEof,        ///< response body until the connection closes
    ChunkSize,      ///< a chunk-size line (with extensions)
    ChunkData,      ///< remaining_ bytes of chunk data
    ChunkDataEnd,   ///< the CRLF after chunk data
    Trailers,       ///< trailer lines after the last chunk
    BodyDone,       ///< the body ended; onMessageComplete is next
    UpgradePending, ///< the head ended an upgrade: execute() stops here until resume()
    Error,
  };
  /// What a line-taking step got.
  enum class Line { Whole, Partial, Failed };

  Line takeLine(const char*& p, const char* end, std::string_view& line, size_t maxRaw);
  bool fail(ParseError kind, const char* reason);
  void beginMessage();
  bool parseRequestLine(std::string_view line);
  bool parseStatusLine(std::string_view line);
  bool parseVersion(std::string_view v);
  bool parseHeaderLine(std::string_view line, bool trailer);
  bool noteSpecialHeader(const HeaderEntry& e);
  bool checkFraming();
  bool parseChunkSize(std::string_view line);
  bool hasBody() const;
  bool needsEof() const;
  size_t maxLine() const;

  Type type_;
  H1ParserCallbacks& callbacks_;
  ParserLimits limits_;
  HeaderMap headers_;
  std::string target_;
  std::string line_;  ///< the start of a line a read ended in (capacity reused)
  size_t headBytes_ = 0;
  uint64_t contentLength_ = 0;
  uint64_t remaining_ = 0;  ///< body or chunk bytes still to come
  State state_ = State::Idle;
  bool paused_ = false;           ///< a callback asked to pause; resume() clears it
  bool upgradeReported_ = false;  ///< execute() stopped at the upgrade; resume() goes on as HTTP/1.1
  bool inMessage_ = false;
  // The current message's head, valid until the next message begins.
  uint8_t method_ = 0;  ///< index into the method table
  uint8_t major_ = 0, minor_ = 0;
  int status_ = 0;
  bool hasContentLength_ = false;
  bool chunked_ = false;       ///< the last Transfer-Encoding coding is chunked
  bool teNonEmpty_ = false;    ///< a Transfer-Encoding field with a non-empty value
  bool tePresent_ = false;     ///< any Transfer-Encoding field, empty ones included
  bool teOnlyChunked_ = true;  ///< all Transfer-Encoding lines together list one "chunked" only
  uint8_t teChunkedTokens_ = 0;
  bool connClose_ = false, connKeepAlive_ = false, connUpgrade_ = false;
  bool upgradeHeader_ = false;
  bool upgrade_ = false;
  bool skipBody_ = false;
  ParseError error_ = ParseError::None;
  const char* reason_ = nullptr;
};

}  // namespace portico::http
