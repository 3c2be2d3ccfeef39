// H1Parser: message heads, bodies and errors, including every split of the input.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http/h1_parser.h"

namespace portico::http {
namespace {

struct Message {
  std::string method, target;
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool keepAlive = false, chunked = false;
  uint64_t contentLength = 0;
};

class Collector : public H1ParserCallbacks {
public:
  explicit Collector(H1Parser::Type type) : parser(type, *this) {}
  ParserAction onHeadersComplete() override {
    current = {};
    current.method = std::string(parser.method());
    current.target = parser.target();
    current.status = parser.statusCode();
    for (const auto& h : parser.headers()) current.headers.emplace_back(h.name, h.value);
    current.keepAlive = parser.keepAlive();
    current.chunked = parser.chunked();
    current.contentLength = parser.contentLength();
    return skipBody ? ParserAction::SkipBody : ParserAction::Continue;
  }
  ParserAction onBody(const char* d, size_t n) override {
    current.body.append(d, n);
    return ParserAction::Continue;
  }
  ParserAction onMessageComplete() override {
    messages.push_back(current);
    return pauseAtEnd ? ParserAction::Pause : ParserAction::Continue;
  }
  /// Feeds `input` in pieces cut at `cuts`; resumes after pauses. Returns false on error.
  bool feed(const std::string& input, const std::vector<size_t>& cuts) {
    size_t start = 0;
    std::vector<size_t> ends = cuts;
    ends.push_back(input.size());
    for (size_t end : ends) {
      std::string piece = pending + input.substr(start, end - start);
      pending.clear();
      start = end;
      size_t off = 0;
      while (off < piece.size()) {
        auto r = parser.execute(piece.data() + off, piece.size() - off);
        if (r.error) return false;
        off += r.consumed;
        if (r.paused) parser.resume();
      }
    }
    return true;
  }

  H1Parser parser;
  Message current;
  std::vector<Message> messages;
  std::string pending;
  bool pauseAtEnd = false;
  bool skipBody = false;
};

const std::string kPipelined =
    "POST /upload?x=1 HTTP/1.1\r\nHost: Example.com\r\nContent-Type: text/plain\r\n"
    "Transfer-Encoding: chunked\r\nX-Multi: a\r\nX-Multi: b\r\n\r\n"
    "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer-X: t\r\n\r\n"
    "GET /two HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\n\r\nabc"
    "GET /three HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n";

void checkPipelined(const std::vector<Message>& m) {
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].method, "POST");
  EXPECT_EQ(m[0].target, "/upload?x=1");
  EXPECT_EQ(m[0].body, "hello, world");
  EXPECT_TRUE(m[0].chunked);
  ASSERT_EQ(m[0].headers.size(), 5u);
  EXPECT_EQ(m[0].headers[0].first, "host");  // names are lowercased
  EXPECT_EQ(m[0].headers[0].second, "Example.com");
  EXPECT_EQ(m[0].headers[3].second, "a");
  EXPECT_EQ(m[0].headers[4].second, "b");
  EXPECT_EQ(m[1].target, "/two");
  EXPECT_EQ(m[1].body, "abc");
  EXPECT_EQ(m[1].contentLength, 3u);
  EXPECT_TRUE(m[1].keepAlive);
  EXPECT_EQ(m[2].target, "/three");
  EXPECT_FALSE(m[2].keepAlive);
}

TEST(H1Parser, PipelinedRequestsInOneRead) {
  Collector c(H1Parser::Type::Request);
  ASSERT_TRUE(c.feed(kPipelined, {}));
  checkPipelined(c.messages);
}

TEST(H1Parser, EverySingleSplitPoint) {
  for (size_t cut = 1; cut < kPipelined.size(); ++cut) {
    Collector c(H1Parser::Type::Request);
    ASSERT_TRUE(c.feed(kPipelined, {cut})) << "cut at " << cut;
    checkPipelined(c.messages);
    if (HasFatalFailure()) FAIL() << "cut at " << cut;
  }
}

TEST(H1Parser, ByteByByteWithPauses) {
  Collector c(H1Parser::Type::Request);
  c.pauseAtEnd = true;
  std::vector<size_t> cuts;
  for (size_t i = 1; i < kPipelined.size(); ++i) cuts.push_back(i);
  ASSERT_TRUE(c.feed(kPipelined, cuts));
  checkPipelined(c.messages);
}

TEST(H1Parser, PauseStopsBeforeTheNextRequest) {
  Collector c(H1Parser::Type::Request);
  c.pauseAtEnd = true;
  std::string two = "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: b\r\n\r\n";
  auto r = c.parser.execute(two.data(), two.size());
  EXPECT_TRUE(r.paused);
  EXPECT_EQ(r.consumed, two.find("GET /b"));
  EXPECT_EQ(c.messages.size(), 1u);
}

TEST(H1Parser, ResponsesWithLengthChunkedAndEof) {
  Collector c(H1Parser::Type::Response);
  std::string in = "HTTP/1.1 100 Continue\r\n\r\n"
                   "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                   "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                   "HTTP/1.0 200 OK\r\n\r\nuntil close";
  ASSERT_TRUE(c.feed(in, {}));
  EXPECT_TRUE(c.parser.bodyUntilEof());
  EXPECT_TRUE(c.parser.finish());
  ASSERT_EQ(c.messages.size(), 4u);
  EXPECT_EQ(c.messages[0].status, 100);
  EXPECT_EQ(c.messages[1].body, "ok");
  EXPECT_EQ(c.messages[2].status, 404);
  EXPECT_EQ(c.messages[2].body, "abc");
  EXPECT_EQ(c.messages[3].body, "until close");
}

TEST(H1Parser, SkipBodyForHeadResponses) {
  Collector c(H1Parser::Type::Response);
  c.skipBody = true;
  ASSERT_TRUE(c.feed("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", {}));
  ASSERT_EQ(c.messages.size(), 1u);
  EXPECT_EQ(c.messages[0].contentLength, 1000u);
  EXPECT_EQ(c.messages[0].body, "");
}

struct BadCase {
  const char* name;
  std::string input;
  ParseError error;
};

TEST(H1Parser, RejectsMalformedAndSmuggling) {
  std::vector<BadCase> cases = {
      {"cl+te", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", ParseError::Malformed},
      {"duplicate cl", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", ParseError::Malformed},
      {"non-numeric cl", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3x\r\n\r\n", ParseError::Malformed},
      {"te not chunked last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", ParseError::Malformed},
      {"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", ParseError::Malformed},
      {"bad request line", "GET/HTTP/1.1\r\n\r\n", ParseError::Malformed},
      {"nul in header", std::string("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 27), ParseError::Malformed},
      {"empty header name", "GET / HTTP/1.1\r\nHost: a\r\n: value\r\n\r\n", ParseError::Malformed},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n", ParseError::Malformed},
      {"bad chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", ParseError::Malformed},
  };
  for (const auto& bc : cases) {
    Collector c(H1Parser::Type::Request);
    EXPECT_FALSE(c.feed(bc.input, {})) << bc.name;
    EXPECT_EQ(c.parser.error(), bc.error) << bc.name;
    EXPECT_STRNE(c.parser.errorReason(), "") << bc.name;
  }
}

TEST(H1Parser, ObsFoldIsRejectedWhereverTheReadsSplit) {
  const std::string folded = "GET / HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n\ttwo\r\n\r\n";
  for (size_t cut = 1; cut < folded.size(); ++cut) {
    Collector c(H1Parser::Type::Request);
    EXPECT_FALSE(c.feed(folded, {cut})) << "cut at " << cut;
  }
}

TEST(H1Parser, HeaderLimits) {
  {
    Collector c(H1Parser::Type::Request);
    std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(61 * 1024, 'x') + "\r\n\r\n";
    EXPECT_FALSE(c.feed(big, {}));
    EXPECT_EQ(c.parser.error(), ParseError::HeadersTooLarge);
  }
  {
    Collector c(H1Parser::Type::Request);
    std::string many = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 101; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
    EXPECT_FALSE(c.feed(many + "\r\n", {}));
    EXPECT_EQ(c.parser.error(), ParseError::TooManyHeaders);
  }
  {
    Collector c(H1Parser::Type::Request);
    EXPECT_FALSE(c.feed("GET /" + std::string(61 * 1024, 'a') + " HTTP/1.1\r\n\r\n", {}));
    EXPECT_EQ(c.parser.error(), ParseError::UriTooLong);
  }
}

// Transfer-Encoding of requests (RFC 9112 §6.1, §6.3): a request body is framed only by one
// final "chunked". Other codings, even before a final chunked, are refused: a proxy that
// re-chunks would drop them silently (tests/README.md, differential table).
TEST(H1Parser, RequestTransferEncodings) {
  struct Case {
    const char* name;
    std::string headers;  // between the Host line and the blank line
    bool accepted;
  };
  const std::vector<Case> cases = {
      {"chunked", "Transfer-Encoding: chunked\r\n", true},
      {"chunked, any case and spaces", "Transfer-Encoding:  CHUNKED \r\n", true},
      {"empty list element before chunked", "Transfer-Encoding: gzip, , chunked\r\n", false},
      {"empty list element first", "Transfer-Encoding: , chunked\r\n", true},
      // RFC 9110 §5.6.1 asks recipients to ignore empty list elements; llhttp does before
      // "chunked" but not after it (chunked is then not final). Refusing is safe, so kept.
      {"empty list element last", "Transfer-Encoding: chunked,\r\n", false},
      {"gzip, chunked", "Transfer-Encoding: gzip, chunked\r\n", false},
      {"chunked, gzip", "Transfer-Encoding: chunked, gzip\r\n", false},
      {"chunked, chunked", "Transfer-Encoding: chunked, chunked\r\n", false},
      {"identity", "Transfer-Encoding: identity\r\n", false},
      {"empty value", "Transfer-Encoding: \r\n", false},
      {"blank value", "Transfer-Encoding:  \t \r\n", false},
      {"empty value + content-length", "Transfer-Encoding: \r\nContent-Length: 5\r\n", false},
      {"two lines: chunked, empty", "Transfer-Encoding: chunked\r\nTransfer-Encoding: \r\n", true},
      {"chunked with a parameter", "Transfer-Encoding: chunked;q=1\r\n", false},
      {"two lines: chunked, chunked", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", false},
      {"two lines: gzip, chunked", "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", false},
      {"two lines: chunked, gzip", "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n", false},
      {"te + content-length", "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", false},
      {"content-length + te", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", false},
      {"te identity + content-length", "Transfer-Encoding: identity\r\nContent-Length: 5\r\n", false},
  };
  const std::string body = "5\r\nhello\r\n0\r\n\r\n";
  for (const Case& tc : cases) {
    const std::string in = "POST / HTTP/1.1\r\nHost: a\r\n" + tc.headers + "\r\n" + body;
    // Every split, so that no read boundary changes the verdict.
    for (size_t cut = 0; cut < in.size(); ++cut) {
      Collector c(H1Parser::Type::Request);
      bool ok = c.feed(in, cut ? std::vector<size_t>{cut} : std::vector<size_t>{});
      ASSERT_EQ(ok, tc.accepted) << tc.name << ", cut at " << cut;
      if (ok) {
        ASSERT_EQ(c.messages.size(), 1u) << tc.name;
        EXPECT_EQ(c.messages[0].body, "hello") << tc.name;
        EXPECT_TRUE(c.messages[0].chunked) << tc.name;
      } else {
        EXPECT_EQ(c.parser.error(), ParseError::Malformed) << tc.name;
        EXPECT_TRUE(c.messages.empty()) << tc.name;
      }
    }
  }
}

// Responses are framed as RFC 9112 §6.3 says and passed on: a final chunked is chunked whatever
// codes precede it, any other Transfer-Encoding means the body runs until the close.
TEST(H1Parser, ResponseTransferEncodings) {
  {
    Collector c(H1Parser::Type::Response);
    ASSERT_TRUE(c.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", {}));
    ASSERT_EQ(c.messages.size(), 1u);
    EXPECT_EQ(c.messages[0].body, "abc");
  }
  {
    Collector c(H1Parser::Type::Response);
    ASSERT_TRUE(c.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n3\r\nabc", {}));
    EXPECT_TRUE(c.parser.bodyUntilEof());
    EXPECT_TRUE(c.parser.finish());
    ASSERT_EQ(c.messages.size(), 1u);
    EXPECT_EQ(c.messages[0].body, "3\r\nabc");
  }
}

// A callback paused the parser and the peer closed before the caller resumed. finish() judges
// the message as if the caller had resumed first: complete when nothing was cut off (calling
// onMessageComplete once for a close-delimited body), false when the close truncated it.
class PausingCollector : public Collector {
public:
  using Collector::Collector;
  enum class PauseIn { Nothing, Headers, Body, Complete } pauseIn = PauseIn::Nothing;
  ParserAction onHeadersComplete() override {
    Collector::onHeadersComplete();
    return pauseIn == PauseIn::Headers ? ParserAction::Pause : ParserAction::Continue;
  }
  ParserAction onBody(const char* d, size_t n) override {
    Collector::onBody(d, n);
    return pauseIn == PauseIn::Body ? ParserAction::Pause : ParserAction::Continue;
  }
  ParserAction onMessageComplete() override {
    Collector::onMessageComplete();
    return pauseIn == PauseIn::Complete ? ParserAction::Pause : ParserAction::Continue;
  }
  /// One execute() of all of `in`; expects it to stop paused, not failed.
  void executePaused(const std::string& in) {
    auto r = parser.execute(in.data(), in.size());
    ASSERT_FALSE(r.error) << parser.errorReason();
    ASSERT_TRUE(r.paused);
  }
};

TEST(H1Parser, FinishAfterAPause) {
  using P = PausingCollector::PauseIn;
  struct Case {
    const char* name;
    H1Parser::Type type;
    P pauseIn;
    std::string in;
    bool complete;         // finish()'s result
    size_t messages;       // onMessageComplete calls in all
    const char* lastBody;  // of the last message completed
  };
  const auto Req = H1Parser::Type::Request;
  const auto Resp = H1Parser::Type::Response;
  const std::vector<Case> cases = {
      {"request paused at its end", Req, P::Complete,
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok", true, 1, "ok"},
      {"bodiless request paused at its head", Req, P::Headers,
       "GET / HTTP/1.1\r\nHost: a\r\n\r\n", true, 1, ""},
      {"request paused at its head, body missing", Req, P::Headers,
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n", false, 0, ""},
      {"request paused in its body, rest missing", Req, P::Body,
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nok", false, 0, ""},
      {"chunked request paused in its body", Req, P::Body,
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n", false, 0, ""},
      {"response paused at its end", Resp, P::Complete,
       "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true, 1, "ok"},
      {"close-delimited response paused in its body", Resp, P::Body,
       "HTTP/1.1 200 OK\r\n\r\nuntil close", true, 1, "until close"},
      {"close-delimited response paused at its head", Resp, P::Headers,
       "HTTP/1.1 200 OK\r\n\r\n", true, 1, ""},
      {"response paused in its body, rest missing", Resp, P::Body,
       "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nok", false, 0, ""},
  };
  for (const Case& tc : cases) {
    PausingCollector c(tc.type);
    c.pauseIn = tc.pauseIn;
    c.executePaused(tc.in);
    if (HasFatalFailure()) FAIL() << tc.name;
    EXPECT_EQ(c.parser.finish(), tc.complete) << tc.name;
    ASSERT_EQ(c.messages.size(), tc.messages) << tc.name;
    if (tc.messages) {
      EXPECT_EQ(c.messages.back().body, tc.lastBody) << tc.name;
    }
    // A second finish() (e.g. a close after a read error) changes nothing.
    EXPECT_EQ(c.parser.finish(), tc.complete) << tc.name;
    EXPECT_EQ(c.messages.size(), tc.messages) << tc.name;
  }
}

TEST(H1Parser, FinishWhenOnMessageCompletePausesAtTheClose) {
  PausingCollector c(H1Parser::Type::Response);
  c.pauseIn = PausingCollector::PauseIn::Complete;
  ASSERT_TRUE(c.feed("HTTP/1.1 200 OK\r\n\r\nbody", {}));
  EXPECT_TRUE(c.parser.finish());  // the message is whole; the callback's pause is no failure
  ASSERT_EQ(c.messages.size(), 1u);
  EXPECT_EQ(c.messages[0].body, "body");
}

TEST(H1Parser, FinishAfterAnErrorIsNotComplete) {
  Collector c(H1Parser::Type::Response);
  EXPECT_FALSE(c.feed("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", {}));
  EXPECT_FALSE(c.parser.finish());
  EXPECT_TRUE(c.messages.empty());
}

TEST(H1Parser, FinishBetweenMessagesAndAfterAnUpgrade) {
  {
    Collector c(H1Parser::Type::Response);
    EXPECT_TRUE(c.parser.finish());  // nothing received
  }
  {
    Collector c(H1Parser::Type::Request);
    std::string in = "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n\x81";
    auto r = c.parser.execute(in.data(), in.size());
    ASSERT_TRUE(r.paused);
    EXPECT_EQ(r.consumed, in.size() - 1);
    EXPECT_TRUE(c.parser.finish());  // the head was whole; what follows is not HTTP/1
    EXPECT_EQ(c.messages.size(), 1u);
  }
}

// Strictness of Portico's own parser (RFC 9112), each case at every split of its input.
TEST(H1Parser, RejectsMoreMalformedInputAtEverySplit) {
  std::vector<BadCase> cases = {
      {"bare LF after the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", ParseError::Malformed},
      {"bare LF after a header", "GET / HTTP/1.1\r\nHost: a\n\r\n", ParseError::Malformed},
      {"bare LF ending the head", "GET / HTTP/1.1\r\nHost: a\r\n\n", ParseError::Malformed},
      {"bare CR in a value", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", ParseError::Malformed},
      {"control byte in a value", "GET / HTTP/1.1\r\nHost: a\x01" "b\r\n\r\n", ParseError::Malformed},
      {"DEL in a value", "GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n", ParseError::Malformed},
      {"two spaces after the method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", ParseError::Malformed},
      {"two spaces before the version", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", ParseError::Malformed},
      {"no version (HTTP/0.9)", "GET /\r\n\r\n", ParseError::Malformed},
      {"unknown version", "GET / HTTP/1.7\r\nHost: a\r\n\r\n", ParseError::Malformed},
      {"not HTTP", "GET / RTSP/1.0\r\nHost: a\r\n\r\n", ParseError::Malformed},
      {"unknown method", "FETCH / HTTP/1.1\r\nHost: a\r\n\r\n", ParseError::Malformed},
      {"lowercase method", "get / HTTP/1.1\r\nHost: a\r\n\r\n", ParseError::Malformed},
      {"tab in the target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", ParseError::Malformed},
      {"whitespace before the first header", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", ParseError::Malformed},
      {"no colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", ParseError::Malformed},
      {"tab before the colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", ParseError::Malformed},
      {"equal duplicate content-length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", ParseError::Malformed},
      {"empty content-length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", ParseError::Malformed},
      {"chunk size overflow", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", ParseError::Malformed},
      {"bare CR in a chunk extension", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;a\rb\r\nx\r\n0\r\n\r\n", ParseError::Malformed},
      {"chunk extension without a name", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;\r\nx\r\n0\r\n\r\n", ParseError::Malformed},
      {"no CRLF after chunk data", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n0\r\n\r\n", ParseError::Malformed},
      {"obs-fold in a trailer", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: a\r\n b\r\n\r\n", ParseError::Malformed},
      {"long partial line", "GET / HTTP/1.1\r\nX: " + std::string(70 * 1024, ' '), ParseError::HeadersTooLarge},
  };
  for (const auto& bc : cases) {
    for (size_t cut = 0; cut < bc.input.size(); cut += (bc.input.size() > 1000 ? 997 : 1)) {
      Collector c(H1Parser::Type::Request);
      bool ok = c.feed(bc.input, cut ? std::vector<size_t>{cut} : std::vector<size_t>{});
      if (bc.error == ParseError::HeadersTooLarge) {
        EXPECT_EQ(c.parser.error(), bc.error) << bc.name << ", cut at " << cut;
        continue;
      }
      EXPECT_FALSE(ok) << bc.name << ", cut at " << cut;
      EXPECT_EQ(c.parser.error(), bc.error) << bc.name << ", cut at " << cut;
      EXPECT_STRNE(c.parser.errorReason(), "") << bc.name;
    }
  }
}

TEST(H1Parser, AcceptedRequestDetails) {
  Collector c(H1Parser::Type::Request);
  std::string in = "\r\nHEAD /x HTTP/1.0\r\nConnection: Keep-Alive\r\nX-Pad:  \tv a l \t \r\nEmpty:\r\n\r\n"
                   "GET / HTTP/2.0\r\n\r\n";
  ASSERT_TRUE(c.feed(in, {}));
  ASSERT_EQ(c.messages.size(), 2u);
  EXPECT_EQ(c.messages[0].method, "HEAD");
  EXPECT_TRUE(c.messages[0].keepAlive);  // 1.0 + keep-alive
  ASSERT_EQ(c.messages[0].headers.size(), 3u);
  EXPECT_EQ(c.messages[0].headers[1].second, "v a l");  // OWS around the value is not part of it
  EXPECT_EQ(c.messages[0].headers[2].second, "");
  EXPECT_EQ(c.parser.versionMajor(), 2);  // the gateway answers 505
  EXPECT_FALSE(c.messages[1].keepAlive);  // 2.0 read with 1.0 rules, as llhttp did
}

TEST(H1Parser, ResponsesWithoutBodiesAndStatusLines) {
  Collector c(H1Parser::Type::Response);
  // RFC 9112 §6.3: 1xx, 204 and 304 end at their head whatever Content-Length says.
  std::string in = "HTTP/1.1 103 Early Hints\r\nContent-Length: 3\r\n\r\n"
                   "HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n"
                   "HTTP/1.1 304\r\nContent-Length: 3\r\n\r\n"
                   "HTTP/1.1 200 \r\nContent-Length: 3\r\n\r\nabc";
  ASSERT_TRUE(c.feed(in, {}));
  ASSERT_EQ(c.messages.size(), 4u);
  EXPECT_EQ(c.messages[0].status, 103);
  EXPECT_EQ(c.messages[1].status, 204);
  EXPECT_EQ(c.messages[2].status, 304);
  EXPECT_EQ(c.messages[2].body, "");
  EXPECT_EQ(c.messages[3].body, "abc");
  for (std::string bad : {"HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 099 X\r\n\r\n", "HTTP/1.1 200OK\r\n\r\n",
                          "HTTP/1.1  200 OK\r\n\r\n", "HTTP/1.1 200 O\x01K\r\n\r\n", "HTTP/3.0 200 OK\r\n\r\n"}) {
    Collector b(H1Parser::Type::Response);
    EXPECT_FALSE(b.feed(bad, {})) << bad;
  }
}

TEST(H1Parser, UpgradeThenResumeAsHttp11) {
  for (std::string head : {"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
                           "CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n"}) {
    Collector c(H1Parser::Type::Request);
    std::string in = head + "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
    auto r = c.parser.execute(in.data(), in.size());
    ASSERT_TRUE(r.paused) << head;
    EXPECT_EQ(r.consumed, head.size());
    EXPECT_TRUE(c.parser.upgrade());
    ASSERT_EQ(c.messages.size(), 1u);
    c.parser.resume();
    r = c.parser.execute(in.data() + head.size(), in.size() - head.size());
    EXPECT_FALSE(r.error);
    EXPECT_EQ(r.consumed, in.size() - head.size());
    ASSERT_EQ(c.messages.size(), 2u);
    EXPECT_EQ(c.messages[1].target, "/next");
  }
  // A 101 with Upgrade and Connection: upgrade ends the HTTP/1 part of a response stream.
  Collector c(H1Parser::Type::Response);
  std::string in = "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n\x81" "x";
  auto r = c.parser.execute(in.data(), in.size());
  EXPECT_TRUE(r.paused);
  EXPECT_EQ(r.consumed, in.size() - 2);
  EXPECT_TRUE(c.parser.finish());
}

TEST(H1Parser, ChunkExtensionsAndTrailers) {
  Collector c(H1Parser::Type::Request);
  std::string in = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "3 ; a = b ;c=\"q \\\" ;\"\r\nabc\r\n0;last\r\nT1: x\r\nT2: y\r\n\r\n";
  for (size_t cut = 0; cut < in.size(); ++cut) {
    Collector s(H1Parser::Type::Request);
    ASSERT_TRUE(s.feed(in, cut ? std::vector<size_t>{cut} : std::vector<size_t>{})) << cut;
    ASSERT_EQ(s.messages.size(), 1u);
    EXPECT_EQ(s.messages[0].body, "abc");
    // Trailer fields are appended to headers() after the body, as llhttp reported them.
    ASSERT_EQ(s.parser.headers().size(), 4u);
    EXPECT_EQ(s.parser.headers()[3].name, "t2");
  }
}

TEST(H1Parser, HeadsSplitAcrossReads) {
  // Cuts inside the method, a header name, and the second request line.
  Collector c(H1Parser::Type::Request);
  std::string req = "GET /a HTTP/1.1\r\nHost: example\r\nUser-Agent: x\r\nAccept: */*\r\n\r\n";
  ASSERT_TRUE(c.feed(req + req, {5, 40, req.size() + 7}));
  EXPECT_EQ(c.messages.size(), 2u);
  EXPECT_EQ(c.parser.method(), "GET");
  EXPECT_FALSE(c.parser.isHead());
}

TEST(H1Parser, LongHeaderNamesAreLowercasedAndChecked) {
  Collector c(H1Parser::Type::Request);
  ASSERT_TRUE(c.feed("GET / HTTP/1.1\r\nX-ABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789: 1\r\n"
                     "Some_Name.With~Tchars-AndMore: 2\r\n\r\n", {}));
  ASSERT_EQ(c.messages.size(), 1u);
  EXPECT_EQ(c.messages[0].headers[0].first, "x-abcdefghijklmnopqrstuvwxyz-0123456789");
  EXPECT_EQ(c.messages[0].headers[1].first, "some_name.with~tchars-andmore");
  // Bytes the eight-at-a-time path must not let through (each also breaks OR-ing 0x20).
  for (std::string name : {"Content-Leng@th", "Content-Len\x0dgth", "Content-Len\x10gth",
                           "Content-Len[gth", "Content-Len\xc4gth", "Content-Le gth", "ABCDEFGH{"}) {
    Collector b(H1Parser::Type::Request);
    EXPECT_FALSE(b.feed("GET / HTTP/1.1\r\n" + name + ": 1\r\n\r\n", {})) << name;
  }
}

TEST(HeaderMap, ParseContentLength) {
  EXPECT_EQ(parseContentLength("0"), 0u);
  EXPECT_EQ(parseContentLength("1048576"), 1048576u);
  EXPECT_EQ(parseContentLength("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(parseContentLength(""), std::nullopt);
  EXPECT_EQ(parseContentLength("12a"), std::nullopt);
  EXPECT_EQ(parseContentLength(" 12"), std::nullopt);
  EXPECT_EQ(parseContentLength("-1"), std::nullopt);
  EXPECT_EQ(parseContentLength("18446744073709551616"), std::nullopt);  // overflow
}

TEST(HeaderMap, ListTokensAndRemoval) {
  EXPECT_TRUE(listContainsToken("keep-alive, X-Foo ,Upgrade", "x-foo"));
  EXPECT_FALSE(listContainsToken("keep-alive, X-Foo-Bar", "x-foo"));
  HeaderMap m;
  m.add("A", "1");
  m.add("b", "2");
  m.add("a", "3");
  EXPECT_EQ(*m.get("a"), "1");
  EXPECT_EQ(m.remove("a"), 2u);
  EXPECT_EQ(m.size(), 1u);
  m.clear();
  m.add("c", "3");
  EXPECT_EQ(m[0].name, "c");
}

TEST(HeaderMap, ConnectionTokensSkipConnectionOptions) {
  std::string v = "Keep-Alive, X-Secret ,close, Upgrade,x-other";
  ConnectionTokens t(&v);
  EXPECT_FALSE(t.empty());
  EXPECT_TRUE(t.contains("x-secret"));
  EXPECT_TRUE(t.contains("x-other"));
  EXPECT_FALSE(t.contains("keep-alive"));
  EXPECT_FALSE(t.contains("x-secre"));
  std::string plain = "keep-alive";
  EXPECT_TRUE(ConnectionTokens(&plain).empty());
  EXPECT_TRUE(ConnectionTokens(nullptr).empty());
  std::string many = "a,b,c,d,e,f,g,h,i,j";
  EXPECT_TRUE(ConnectionTokens(&many).contains("j"));  // beyond the inline slots
  std::string manyWithUpgrade = "upgrade, a,b,c,d,e,f,g,h,i";  // found by the header_map fuzzer
  EXPECT_FALSE(ConnectionTokens(&manyWithUpgrade).contains("upgrade"));
  EXPECT_TRUE(ConnectionTokens(&manyWithUpgrade).contains("i"));
}

}  // namespace
}  // namespace portico::http
