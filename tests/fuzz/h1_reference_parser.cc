// The llhttp-based H1Parser of before, renamed: the h1_differential fuzz target's reference.
#include "h1_reference_parser.h"

#include <llhttp.h>
#include <string_view>

namespace portico::fuzz {

using http::equalsIgnoreCase;

namespace {
// Maps a header-name byte to its lowercase form, or 0 when it is not an RFC 9110 tchar. llhttp
// tolerates some bytes in names (e.g. a space before the colon) that a proxy must reject: a
// peer could read such a name differently (request smuggling).
struct NameTable {
  char map[256] = {};
  constexpr NameTable() {
    for (int ch = '0'; ch <= '9'; ++ch) map[ch] = static_cast<char>(ch);
    for (int ch = 'a'; ch <= 'z'; ++ch) map[ch] = static_cast<char>(ch);
    for (int ch = 'A'; ch <= 'Z'; ++ch) map[ch] = static_cast<char>(ch + 32);
    for (char ch : std::string_view("!#$%&'*+-.^_`|~")) map[static_cast<unsigned char>(ch)] = ch;
  }
};
constexpr NameTable kNameTable;
}  // namespace

struct H1ReferenceParser::Impl {
  llhttp_t parser;
  llhttp_settings_t settings;

  static H1ReferenceParser& self(llhttp_t* p) { return *static_cast<H1ReferenceParser*>(p->data); }

  static int toLlhttp(ParserAction a) {
    switch (a) {
    case ParserAction::Continue: return 0;
    case ParserAction::Pause: return HPE_PAUSED;
    case ParserAction::SkipBody: return 1;
    }
    return 0;
  }

  static int onMessageBegin(llhttp_t* p) {
    H1ReferenceParser& s = self(p);
    s.headers_.clear();
    s.target_.clear();
    s.headBytes_ = 0;
    s.contentLength_ = 0;
    s.inMessage_ = true;
    s.inHeaderField_ = false;
    s.valuePieceEnd_ = nullptr;
    return 0;
  }
  static int onUrl(llhttp_t* p, const char* at, size_t len) {
    H1ReferenceParser& s = self(p);
    s.headBytes_ += len;
    if (s.headBytes_ > s.limits_.maxHeaderBytes) {
      s.error_ = ParseError::UriTooLong;
      return -1;
    }
    s.target_.append(at, len);
    return 0;
  }
  static int onHeaderField(llhttp_t* p, const char* at, size_t len) {
    H1ReferenceParser& s = self(p);
    if (!s.inHeaderField_) {
      if (s.headers_.size() >= s.limits_.maxHeaders) {
        s.error_ = ParseError::TooManyHeaders;
        return -1;
      }
      s.headers_.addEmpty();
      s.inHeaderField_ = true;
    }
    s.headBytes_ += len;
    if (s.headBytes_ > s.limits_.maxHeaderBytes) {
      s.error_ = ParseError::HeadersTooLarge;
      return -1;
    }
    std::string& name = s.headers_.back().name;
    size_t old = name.size();
    name.resize(old + len);
    char* out = name.data() + old;
    for (size_t i = 0; i < len; ++i) {
      char lc = kNameTable.map[static_cast<unsigned char>(at[i])];
      if (lc == 0) {
        s.error_ = ParseError::Malformed;
        s.customReason_ = "invalid character in header name";
        return -1;
      }
      out[i] = lc;
    }
    return 0;
  }
  static int onHeaderFieldComplete(llhttp_t* p) {
    H1ReferenceParser& s = self(p);
    if (!s.inHeaderField_ || s.headers_.back().name.empty()) {
      // No name bytes at all (": value"): a field name must be a token of at least one char.
      s.error_ = ParseError::Malformed;
      s.customReason_ = "empty header name";
      return -1;
    }
    s.inHeaderField_ = false;
    return 0;
  }
  static int onHeaderValue(llhttp_t* p, const char* at, size_t len) {
    H1ReferenceParser& s = self(p);
    if (s.headers_.size() == 0) {
      s.error_ = ParseError::Malformed;
      s.customReason_ = "header value without a name";
      return -1;
    }
    s.headBytes_ += len;
    if (s.headBytes_ > s.limits_.maxHeaderBytes) {
      s.error_ = ParseError::HeadersTooLarge;
      return -1;
    }
    if (s.valuePieceEnd_ != nullptr) {
      // A second piece of the same value. That is only a read boundary when the first piece
      // ended its buffer and this one starts the next; anything else is an obs-fold (RFC 9112
      // §5.2), which llhttp 8 unfolds silently and a proxy must reject.
      if (s.valuePieceEnd_ != kEndedBuffer || at != s.bufferStart_) {
        s.error_ = ParseError::Malformed;
        s.customReason_ = "obsolete line folding in a header";
        return -1;
      }
    }
    s.headers_.back().value.append(at, len);
    s.valuePieceEnd_ = at + len;
    return 0;
  }
  static int onHeaderValueComplete(llhttp_t* p) {
    self(p).valuePieceEnd_ = nullptr;
    return 0;
  }
  static int onHeadersComplete(llhttp_t* p) {
    H1ReferenceParser& s = self(p);
    s.contentLength_ = (p->flags & F_CONTENT_LENGTH) ? p->content_length : 0;
    if (s.type_ == Type::Request && transferCodings(s.headers_) == Codings::Other) {
      // "gzip, chunked" ends in chunked, so llhttp frames it, but a proxy that re-chunks the
      // body would drop the other coding; RFC 9112 §6.1 lets a server refuse codings it does
      // not implement, and one chunked coding is all a request may carry here. An empty field
      // counts too: llhttp 8 ignores it, and would frame the body by Content-Length or as none,
      // where RFC 9112 §6.3 says a request whose final coding is not chunked is a 400.
      s.error_ = ParseError::Malformed;
      s.customReason_ = "transfer coding other than a single chunked";
      return -1;
    }
    return toLlhttp(s.callbacks_.onHeadersComplete());
  }
  enum class Codings { Absent, OnlyChunked, Other };
  /// The Transfer-Encoding fields, all lines together: none, exactly one "chunked", or else.
  static Codings transferCodings(const HeaderMap& headers) {
    bool present = false;
    int chunked = 0;
    for (const HeaderEntry& h : headers) {
      if (h.name != "transfer-encoding") continue;
      present = true;
      std::string_view v = h.value;
      while (!v.empty()) {
        size_t comma = v.find(',');
        std::string_view token = v.substr(0, comma);
        v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
        while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
        while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
        if (token.empty()) continue;
        if (!equalsIgnoreCase(token, "chunked")) return Codings::Other;
        ++chunked;
      }
    }
    if (!present) return Codings::Absent;
    return chunked == 1 ? Codings::OnlyChunked : Codings::Other;
  }
  static int onBody(llhttp_t* p, const char* at, size_t len) {
    if (len == 0) return 0;  // llhttp may report an empty span after a pause: nothing to pass on
    return toLlhttp(self(p).callbacks_.onBody(at, len));
  }
  static int onMessageComplete(llhttp_t* p) {
    H1ReferenceParser& s = self(p);
    s.inMessage_ = false;
    return toLlhttp(s.callbacks_.onMessageComplete());
  }
};

H1ReferenceParser::H1ReferenceParser(Type type, H1ParserCallbacks& callbacks, ParserLimits limits)
    : impl_(std::make_unique<Impl>()), type_(type), callbacks_(callbacks), limits_(limits) {
  llhttp_settings_init(&impl_->settings);
  impl_->settings.on_message_begin = &Impl::onMessageBegin;
  impl_->settings.on_url = &Impl::onUrl;
  impl_->settings.on_header_field = &Impl::onHeaderField;
  impl_->settings.on_header_field_complete = &Impl::onHeaderFieldComplete;
  impl_->settings.on_header_value = &Impl::onHeaderValue;
  impl_->settings.on_header_value_complete = &Impl::onHeaderValueComplete;
  impl_->settings.on_headers_complete = &Impl::onHeadersComplete;
  impl_->settings.on_body = &Impl::onBody;
  impl_->settings.on_message_complete = &Impl::onMessageComplete;
  reset();
}

H1ReferenceParser::~H1ReferenceParser() = default;

void H1ReferenceParser::reset() {
  llhttp_init(&impl_->parser, type_ == Type::Request ? HTTP_REQUEST : HTTP_RESPONSE,
              &impl_->settings);
  impl_->parser.data = this;
  inMessage_ = false;
  inHeaderField_ = false;
  valuePieceEnd_ = nullptr;
  error_ = ParseError::None;
  customReason_ = nullptr;
}

H1ReferenceParser::ExecResult H1ReferenceParser::execute(const char* data, size_t len) {
  ExecResult r;
  // The previous buffer's end is remembered so that a value piece continuing at the start of
  // this buffer is recognised as a read boundary (see onHeaderValue).
  if (valuePieceEnd_ != nullptr && valuePieceEnd_ == bufferEnd_) valuePieceEnd_ = kEndedBuffer;
  bufferStart_ = data;
  bufferEnd_ = data + len;
  llhttp_errno_t err = llhttp_execute(&impl_->parser, data, len);
  if (err == HPE_OK) {
    r.consumed = len;
    return r;
  }
  if (err == HPE_PAUSED) {
    r.paused = true;
    r.consumed = static_cast<size_t>(llhttp_get_error_pos(&impl_->parser) - data);
    return r;
  }
  if (err == HPE_PAUSED_UPGRADE) {
    // An upgrade (a request with Upgrade, a 101 response): the head is complete and what
    // follows may not be HTTP/1 — the caller decides (a tunnel, or resume() as HTTP/1.1).
    r.paused = true;
    r.consumed = static_cast<size_t>(llhttp_get_error_pos(&impl_->parser) - data);
    return r;
  }
  r.error = true;
  if (error_ == ParseError::None) error_ = ParseError::Malformed;
  const char* pos = llhttp_get_error_pos(&impl_->parser);
  r.consumed = pos ? static_cast<size_t>(pos - data) : 0;
  return r;
}

void H1ReferenceParser::resume() {
  // After an upgrade request the gateway did not act on (Upgrade: h2c, or a websocket answered
  // without 101), the connection goes on as HTTP/1.1.
  if (llhttp_get_errno(&impl_->parser) == HPE_PAUSED_UPGRADE) llhttp_resume_after_upgrade(&impl_->parser);
  else llhttp_resume(&impl_->parser);
}

bool H1ReferenceParser::finish() {
  // llhttp_finish() answers OK in any error state, paused included, without looking at the
  // message: a truncated body would pass as complete and a close-delimited one never complete.
  switch (llhttp_get_errno(&impl_->parser)) {
  case HPE_OK: break;
  case HPE_PAUSED_UPGRADE: return true;  // the head was whole; what follows is not HTTP/1
  case HPE_PAUSED: {
    // A callback paused and the peer closed before the caller resumed. llhttp runs what follows
    // a callback (e.g. completing a bodiless message) only on the next execute(): run it now,
    // on no bytes, so that the close is judged where the caller would have resumed.
    llhttp_resume(&impl_->parser);
    static const char kNoBytes = 0;
    ExecResult r = execute(&kNoBytes, 0);
    if (r.error) return false;
    if (r.paused) llhttp_resume(&impl_->parser);  // onMessageComplete paused: nothing follows
    break;
  }
  default: return false;  // a parse error: nothing completes
  }
  if (!inMessage_) return true;  // between messages (also: don't complete one twice)
  llhttp_errno_t err = llhttp_finish(&impl_->parser);
  // HPE_PAUSED: onMessageComplete (a close-delimited body) asked to pause; the message is whole.
  if (err == HPE_PAUSED) llhttp_resume(&impl_->parser);
  return err == HPE_OK || err == HPE_PAUSED;
}

const char* H1ReferenceParser::errorReason() const {
  switch (error_) {
  case ParseError::None: return "";
  case ParseError::HeadersTooLarge: return "request headers too large";
  case ParseError::TooManyHeaders: return "too many headers";
  case ParseError::UriTooLong: return "request target too long";
  case ParseError::Malformed:
    if (customReason_) return customReason_;
    break;
  }
  const char* reason = llhttp_get_error_reason(&impl_->parser);
  return reason ? reason : "malformed message";
}

std::string_view H1ReferenceParser::method() const {
  return llhttp_method_name(static_cast<llhttp_method_t>(impl_->parser.method));
}
bool H1ReferenceParser::isHead() const { return impl_->parser.method == HTTP_HEAD; }
int H1ReferenceParser::statusCode() const { return impl_->parser.status_code; }
int H1ReferenceParser::versionMajor() const { return impl_->parser.http_major; }
int H1ReferenceParser::versionMinor() const { return impl_->parser.http_minor; }
bool H1ReferenceParser::keepAlive() const { return llhttp_should_keep_alive(&impl_->parser) != 0; }
bool H1ReferenceParser::hasContentLength() const { return (impl_->parser.flags & F_CONTENT_LENGTH) != 0; }
bool H1ReferenceParser::chunked() const { return (impl_->parser.flags & F_CHUNKED) != 0; }
bool H1ReferenceParser::bodyUntilEof() const { return llhttp_message_needs_eof(&impl_->parser) != 0; }
bool H1ReferenceParser::upgrade() const { return impl_->parser.upgrade != 0; }

}  // namespace portico::fuzz
