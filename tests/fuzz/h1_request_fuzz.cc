// libFuzzer target: the request-mode HTTP/1 parser, whole vs split input (h1_fuzz_common.h).
#include <cstddef>
#include <cstdint>

#include "h1_fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  portico::fuzz::fuzzOne(portico::http::H1Parser::Type::Request, data, size);
  return 0;
}
