#include "common/buffer.h"

#include <cstdlib>
#include <new>
#include <utility>

namespace portico {

Buffer::~Buffer() { free(data_); }

Buffer::Buffer(Buffer&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), cap_(std::exchange(o.cap_, 0)),
      start_(std::exchange(o.start_, 0)), end_(std::exchange(o.end_, 0)) {}

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    free(data_);
    data_ = std::exchange(o.data_, nullptr);
    cap_ = std::exchange(o.cap_, 0);
    start_ = std::exchange(o.start_, 0);
    end_ = std::exchange(o.end_, 0);
  }
  return *this;
}

void Buffer::makeRoom(size_t n) {
  size_t used = end_ - start_;
  // Slide unread bytes to the front when that frees enough space; grow only otherwise.
  if (start_ > 0 && cap_ - used >= n && start_ >= used) {
    memmove(data_, data_ + start_, used);
    start_ = 0;
    end_ = used;
    return;
  }
  size_t want = used + n;
  size_t cap = cap_ ? cap_ : 1024;
  while (cap < want) cap *= 2;
  char* p = static_cast<char*>(malloc(cap));
  if (!p) throw std::bad_alloc();  // OOM is fatal by policy.
  if (used) memcpy(p, data_ + start_, used);
  free(data_);
  data_ = p;
  cap_ = cap;
  start_ = 0;
  end_ = used;
}

void Buffer::shrinkTo(size_t keep) {
  if (cap_ <= keep || size() > keep) return;
  size_t used = size();
  char* p = nullptr;
  if (used || keep) {
    p = static_cast<char*>(malloc(keep));
    if (!p) throw std::bad_alloc();
    if (used) memcpy(p, data(), used);
  }
  free(data_);
  data_ = p;
  cap_ = p ? keep : 0;
  start_ = 0;
  end_ = used;
}

void Buffer::appendDecimal(unsigned long long n) {
  char tmp[24];
  int i = sizeof(tmp);
  do {
    tmp[--i] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n);
  append(tmp + i, sizeof(tmp) - i);
}

void Buffer::appendHex(unsigned long long n) {
  static const char digits[] = "0123456789abcdef";
  char tmp[20];
  int i = sizeof(tmp);
  do {
    tmp[--i] = digits[n & 15];
    n >>= 4;
  } while (n);
  append(tmp + i, sizeof(tmp) - i);
}

}  // namespace portico
