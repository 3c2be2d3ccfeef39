// DynamicMetadata: the (namespace, key) → string values a request's transformations set
// (transformationTemplate.dynamicMetadataValues), read by the access log's %DYNAMIC_METADATA%.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace portico::filters {

/// A small store reused for a connection's requests: clear() keeps the entries' strings, so a
/// request setting no more values than an earlier one allocates nothing. A few values per
/// request: lookups are linear.
class DynamicMetadata {
public:
  /// Sets (or replaces) the value of (ns, key). CR, LF and NUL become spaces: a text access
  /// log line stays one line whatever a template rendered.
  void set(std::string_view ns, std::string_view key, std::string_view value) {
    size_t i = indexOf(ns, key);
    if (i == size_) {
      if (size_ == entries_.size()) entries_.emplace_back();
      ++size_;
      entries_[i].ns.assign(ns);
      entries_[i].key.assign(key);
    }
    std::string& v = entries_[i].value;
    v.assign(value);
    for (char& c : v)
      if (c == '\r' || c == '\n' || c == '\0') c = ' ';
  }
  /// The value of (ns, key); nullptr when no transformation set it.
  const std::string* find(std::string_view ns, std::string_view key) const {
    size_t i = indexOf(ns, key);
    return i == size_ ? nullptr : &entries_[i].value;
  }
  void clear() { size_ = 0; }
  size_t size() const { return size_; }

private:
  struct Entry {
    std::string ns, key, value;
  };
  /// The entry's index; size_ when absent.
  size_t indexOf(std::string_view ns, std::string_view key) const {
    size_t i = 0;
    while (i < size_ && !(entries_[i].key == key && entries_[i].ns == ns)) ++i;
    return i;
  }

  std::vector<Entry> entries_;  ///< [0, size_) in use; the rest keep their capacity
  size_t size_ = 0;
};

}  // namespace portico::filters
