// Errors as values: Status (ok or a message) and Result<T> (a value or a Status).
// Used everywhere instead of exceptions; libraries that throw are wrapped at their boundary.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace portico {

class Status {
public:
  Status() = default;
  static Status error(std::string message) { return Status(std::move(message)); }

  bool ok() const { return !message_.has_value(); }
  explicit operator bool() const { return ok(); }
  /// The error text; empty when ok().
  const std::string& message() const {
    static const std::string empty;
    return message_ ? *message_ : empty;
  }

private:
  explicit Status(std::string m) : message_(std::move(m)) {}
  std::optional<std::string> message_;
};

template <typename T> class Result {
public:
  Result(T value) : v_(std::move(value)) {}
  Result(Status error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  /// The error; only valid when !ok().
  const Status& status() const { return std::get<1>(v_); }
  const std::string& error() const { return std::get<1>(v_).message(); }

private:
  std::variant<T, Status> v_;
};

}  // namespace portico
