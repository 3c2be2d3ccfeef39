// Hashing for load balancing: a 64-bit hash of bytes (xxHash64, written from the published
// algorithm description) that the gateway applies to hash-policy inputs, and a 64-bit mixer.
#pragma once

#include <cstdint>
#include <string_view>

namespace portico::upstream {

/// XXH64 of `data` with `seed` (bit-exact with the reference xxHash64, checked in tests). Fast
/// (~1 byte/cycle for short keys), good avalanche, not cryptographic: never use it where an
/// attacker benefits from collisions beyond skewing which host a key lands on. Any thread.
uint64_t hashBytes(std::string_view data, uint64_t seed = 0);

/// splitmix64's finalizer: a bijective mix of a 64-bit value (derives several independent-looking
/// draws from one random number, e.g. the candidates of a least-request pick).
inline uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

}  // namespace portico::upstream
