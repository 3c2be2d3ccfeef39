// Errors: the problems found while decoding one object, each with the field path it concerns.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace portico::config {

class Errors {
public:
  /// `path` is the field path from the document root ("spec.virtualHost.routes[0].matchers");
  /// empty for object-level problems.
  void add(std::string_view path, std::string_view message);
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  /// "path: message; path: message" — the tail of a Rejected status reason.
  std::string toString() const;
  const std::vector<std::string>& items() const { return items_; }

private:
  std::vector<std::string> items_;
};

}  // namespace portico::config
