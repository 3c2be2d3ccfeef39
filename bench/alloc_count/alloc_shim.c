// LD_PRELOAD allocation counter for bench/alloc_count.sh. Counts calls to the heap functions
// (operator new and delete reach these too) into a small shared file, $ALLOC_COUNT_FILE.<pid>,
// so the script reads the counts before and after a window of requests without signalling
// the process (Portico blocks signals in its workers and owns SIGTERM/SIGINT).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

// glibc's own entry points: calling them avoids dlsym(), which itself allocates.
extern void* __libc_malloc(size_t size);
extern void* __libc_calloc(size_t count, size_t size);
extern void* __libc_realloc(void* ptr, size_t size);
extern void* __libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void* ptr);

// The file layout read by alloc_count.sh: three little-endian u64.
struct Counters {
  _Atomic uint64_t allocs;  // malloc, calloc, realloc, memalign family
  _Atomic uint64_t frees;   // free of a non-null pointer
  _Atomic uint64_t bytes;   // bytes requested by the allocations
};

static struct Counters early;  // counts made before the constructor maps the file
static struct Counters* counters = &early;

__attribute__((constructor)) static void mapCounters(void) {
  const char* prefix = getenv("ALLOC_COUNT_FILE");
  if (!prefix) return;
  char path[4096];
  // One file per process: a child that inherits LD_PRELOAD must not reset the parent's counts.
  snprintf(path, sizeof path, "%s.%ld", prefix, (long)getpid());
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  if (ftruncate(fd, sizeof(struct Counters)) == 0) {
    void* p = mmap(NULL, sizeof(struct Counters), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p != MAP_FAILED) counters = p;
  }
  close(fd);
}

static void counted(size_t size) {
  atomic_fetch_add_explicit(&counters->allocs, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&counters->bytes, size, memory_order_relaxed);
}

void* malloc(size_t size) {
  counted(size);
  return __libc_malloc(size);
}

void* calloc(size_t count, size_t size) {
  counted(count * size);
  return __libc_calloc(count, size);
}

void* realloc(void* ptr, size_t size) {
  counted(size);
  return __libc_realloc(ptr, size);
}

void free(void* ptr) {
  if (ptr) atomic_fetch_add_explicit(&counters->frees, 1, memory_order_relaxed);
  __libc_free(ptr);
}

void* memalign(size_t alignment, size_t size) {
  counted(size);
  return __libc_memalign(alignment, size);
}

void* aligned_alloc(size_t alignment, size_t size) { return memalign(alignment, size); }

int posix_memalign(void** out, size_t alignment, size_t size) {
  void* p = memalign(alignment, size);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
