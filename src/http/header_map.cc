#include "http/header_map.h"

#include <charconv>

namespace portico::http {

namespace {
inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
inline bool isSpace(char c) { return c == ' ' || c == '\t'; }
}  // namespace

void toLowerInPlace(std::string& s) {
  for (char& c : s) c = lower(c);
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::optional<uint64_t> parseContentLength(std::string_view value) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
  return n;
}

bool listContainsToken(std::string_view list, std::string_view token) {
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view item = list.substr(pos, comma - pos);
    while (!item.empty() && isSpace(item.front())) item.remove_prefix(1);
    while (!item.empty() && isSpace(item.back())) item.remove_suffix(1);
    if (equalsIgnoreCase(item, token)) return true;
    pos = comma + 1;
  }
  return false;
}

ConnectionTokens::ConnectionTokens(const std::string* value) {
  if (!value) return;
  std::string_view list = *value;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view item = list.substr(pos, comma - pos);
    while (!item.empty() && isSpace(item.front())) item.remove_prefix(1);
    while (!item.empty() && isSpace(item.back())) item.remove_suffix(1);
    pos = comma + 1;
    if (item.empty() || equalsIgnoreCase(item, "close") || equalsIgnoreCase(item, "keep-alive") ||
        equalsIgnoreCase(item, "upgrade"))
      continue;
    if (count_ == kMax) {
      overflow_ = list;
      return;
    }
    tokens_[count_++] = item;
  }
}

bool ConnectionTokens::contains(std::string_view lowerName) const {
  if (!overflow_.empty()) {
    // The long form keeps the whole list: the options every hop handles stay excluded.
    if (lowerName == "close" || lowerName == "keep-alive" || lowerName == "upgrade") return false;
    return listContainsToken(overflow_, lowerName);
  }
  for (size_t i = 0; i < count_; ++i)
    if (equalsIgnoreCase(tokens_[i], lowerName)) return true;
  return false;
}

HeaderEntry& HeaderMap::addEmpty() {
  if (size_ == entries_.size()) entries_.emplace_back();
  HeaderEntry& e = entries_[size_++];
  e.name.clear();
  e.value.clear();
  return e;
}

void HeaderMap::add(std::string_view name, std::string_view value) {
  HeaderEntry& e = addEmpty();
  e.name.assign(name);
  toLowerInPlace(e.name);
  e.value.assign(value);
}

const std::string* HeaderMap::get(std::string_view lowerName) const {
  for (size_t i = 0; i < size_; ++i)
    if (entries_[i].name == lowerName) return &entries_[i].value;
  return nullptr;
}

size_t HeaderMap::remove(std::string_view lowerName) {
  size_t out = 0, removed = 0;
  for (size_t i = 0; i < size_; ++i) {
    if (entries_[i].name == lowerName) {
      ++removed;
      continue;
    }
    if (out != i) std::swap(entries_[out], entries_[i]);
    ++out;
  }
  size_ = out;
  return removed;
}

void HeaderMap::set(std::string_view lowerName, std::string_view value) {
  remove(lowerName);
  add(lowerName, value);
}

size_t HeaderMap::byteSize() const {
  size_t n = 0;
  for (size_t i = 0; i < size_; ++i) n += entries_[i].name.size() + entries_[i].value.size();
  return n;
}

}  // namespace portico::http
