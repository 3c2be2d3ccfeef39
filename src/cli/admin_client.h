// AdminClient: porticoctl's blocking HTTP/1.1 client for a running Portico's admin API
// (--admin-address / PORTICO_ADMIN, optional bearer token). One request per connection.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace portico::cli {

struct HttpResponse {
  int status = 0;
  std::string contentType;
  std::string body;
};

class AdminClient {
public:
  /// `address`: "host:port", "[v6]:port" or "http://host:port"; `token` may be empty.
  AdminClient(std::string address, std::string token)
      : address_(std::move(address)), token_(std::move(token)) {}

  /// Sends one request and reads the whole answer. Fails (with a message naming the address
  /// and how to change it) when the admin API cannot be reached or answers garbage.
  Result<HttpResponse> request(std::string_view method, std::string_view target,
                               std::string_view body = {},
                               std::string_view contentType = "application/yaml") const;
  const std::string& address() const { return address_; }
  /// The host part of the address ("127.0.0.1", "::1", "localhost").
  std::string host() const;

private:
  std::string address_;
  std::string token_;
};

/// The "error" member of a JSON error answer, or the body itself; with the HTTP status.
std::string describeError(const HttpResponse& response);

/// Percent-encodes a path segment or query value.
std::string urlEncode(std::string_view s);

}  // namespace portico::cli
