// Cost of parsing a typical proxied request and response head with H1Parser.
#include <benchmark/benchmark.h>

#include "http/h1_parser.h"

namespace portico::http {
namespace {

class Sink : public H1ParserCallbacks {
public:
  ParserAction onHeadersComplete() override { return ParserAction::Continue; }
  ParserAction onBody(const char*, size_t n) override {
    bytes += n;
    return ParserAction::Continue;
  }
  ParserAction onMessageComplete() override { return ParserAction::Continue; }
  size_t bytes = 0;
};

const std::string kRequest =
    "GET /api/v1/pets/12345?fields=name,tag HTTP/1.1\r\nHost: api.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36\r\nAccept: application/json\r\n"
    "Accept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n"
    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx_Zmeo\r\n"
    "X-Request-Id: 3f1c2a64-8a38-4c53-9f6e-6a0f1f1b0c11\r\nCookie: session=abcdef0123456789\r\n\r\n";

const std::string kResponse =
    "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Thu, 26 Nov 2026 10:00:00 GMT\r\n"
    "Content-Type: application/json\r\nContent-Length: 1024\r\nConnection: keep-alive\r\n\r\n" +
    std::string(1024, 'x');

void BM_ParseRequestHead(benchmark::State& state) {
  Sink sink;
  H1Parser parser(H1Parser::Type::Request, sink);
  for (auto _ : state) {
    auto r = parser.execute(kRequest.data(), kRequest.size());
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kRequest.size()));
}
BENCHMARK(BM_ParseRequestHead);

void BM_ParseResponse1KiB(benchmark::State& state) {
  Sink sink;
  H1Parser parser(H1Parser::Type::Response, sink);
  for (auto _ : state) {
    auto r = parser.execute(kResponse.data(), kResponse.size());
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kResponse.size()));
}
BENCHMARK(BM_ParseResponse1KiB);

}  // namespace
}  // namespace portico::http
