// H1ReferenceParser: the llhttp-based HTTP/1 parser Portico used before its own (src/http/
// h1_parser.cc), kept only as the reference of the h1_differential fuzz target. Same interface
// as http::H1Parser; never linked into Portico.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "http/h1_parser.h"

namespace portico::fuzz {

using http::H1ParserCallbacks;
using http::HeaderEntry;
using http::HeaderMap;
using http::ParseError;
using http::ParserAction;
using http::ParserLimits;

class H1ReferenceParser {
public:
  enum class Type { Request, Response };

  H1ReferenceParser(Type type, H1ParserCallbacks& callbacks, ParserLimits limits = {});
  ~H1ReferenceParser();
  H1ReferenceParser(const H1ReferenceParser&) = delete;
  H1ReferenceParser& operator=(const H1ReferenceParser&) = delete;

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
  struct Impl;
  friend struct Impl;
  std::unique_ptr<Impl> impl_;
  Type type_;
  H1ParserCallbacks& callbacks_;
  ParserLimits limits_;
  HeaderMap headers_;
  std::string target_;
  size_t headBytes_ = 0;
  uint64_t contentLength_ = 0;
  bool inMessage_ = false;
  bool inHeaderField_ = false;
  // obs-fold detection: where the current header value's last piece ended (kEndedBuffer: at
  // the end of the previous buffer), and the bounds of the buffer being parsed.
  static inline const char* const kEndedBuffer = reinterpret_cast<const char*>(1);
  const char* valuePieceEnd_ = nullptr;
  const char* bufferStart_ = nullptr;
  const char* bufferEnd_ = nullptr;
  ParseError error_ = ParseError::None;
  const char* customReason_ = nullptr;
};

}  // namespace portico::fuzz
