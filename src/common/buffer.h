// Buffer: one contiguous, growable byte region with a read cursor, reused across requests.
// Appends go at the end, consume() drops from the front; the storage is kept (not freed) on clear.
#pragma once

#include <cstddef>
#include <cstring>
#include <string_view>

namespace portico {

class Buffer {
public:
  Buffer() = default;
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& o) noexcept;
  Buffer& operator=(Buffer&& o) noexcept;

  const char* data() const { return data_ + start_; }
  size_t size() const { return end_ - start_; }
  bool empty() const { return end_ == start_; }
  std::string_view view() const { return {data(), size()}; }
  size_t capacity() const { return cap_; }

  void append(const char* p, size_t n) {
    if (cap_ - end_ < n) makeRoom(n);
    memcpy(data_ + end_, p, n);
    end_ += n;
  }
  void append(std::string_view s) { append(s.data(), s.size()); }
  void append(char c) { append(&c, 1); }
  /// Appends n in decimal (used for Content-Length and chunk sizes in hex via appendHex).
  void appendDecimal(unsigned long long n);
  void appendHex(unsigned long long n);

  /// Returns a pointer to at least `min` writable bytes at the end; call commit() with what was used.
  char* reserve(size_t min) {
    if (cap_ - end_ < min) makeRoom(min);
    return data_ + end_;
  }
  size_t writableSize() const { return cap_ - end_; }
  void commit(size_t n) { end_ += n; }

  void consume(size_t n) {
    start_ += n;
    if (start_ == end_) start_ = end_ = 0;
  }
  void clear() { start_ = end_ = 0; }
  /// Frees the storage when it grew beyond `keep` bytes (after a large message), so idle
  /// connections don't pin memory.
  void shrinkTo(size_t keep);

private:
  void makeRoom(size_t n);

  char* data_ = nullptr;
  size_t cap_ = 0;
  size_t start_ = 0;
  size_t end_ = 0;
};

}  // namespace portico
