#include "config/errors.h"

namespace portico::config {

void Errors::add(std::string_view path, std::string_view message) {
  std::string item;
  if (!path.empty()) {
    item.append(path);
    item.append(": ");
  }
  item.append(message);
  items_.push_back(std::move(item));
}

std::string Errors::toString() const {
  std::string out;
  for (const auto& i : items_) {
    if (!out.empty()) out.append("; ");
    out.append(i);
  }
  return out;
}

}  // namespace portico::config
