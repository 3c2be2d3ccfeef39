// libFuzzer target: the response-mode HTTP/1 parser (as the upstream side uses it: 1xx, HEAD
// without bodies, close-delimited bodies ended by finish()), whole vs split input.
#include <cstddef>
#include <cstdint>

#include "h1_fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  portico::fuzz::fuzzOne(portico::http::H1Parser::Type::Response, data, size);
  return 0;
}
