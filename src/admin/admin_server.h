// AdminServer: the admin HTTP API (/ready, /statuses, /config_dump, /metrics, /api/ objects) on
// its own thread, off the workers. Small and blocking by design: one short request per connection.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "admin/object_api.h"
#include "common/status.h"
#include "net/address.h"

namespace portico::controller {
class Controller;
}

namespace portico::admin {

class AdminServer {
public:
  explicit AdminServer(controller::Controller& controller);
  ~AdminServer();

  /// Requires "Authorization: Bearer <token>" on every endpoint but /, /ready and /metrics
  /// (from --admin-token-file). Without a token, /api/ is refused when the address is not
  /// loopback. Call before start().
  void setAuthToken(std::string token) { token_ = std::move(token); }
  /// Binds (errors name the address) and starts serving.
  Status start(const net::Address& address);
  void stop();
  const net::Address& address() const { return address_; }

private:
  void serve();
  void handle(int fd);
  /// Fills status/contentType/body for one request.
  void route(const AdminRequest& request, int& status, std::string& contentType,
             std::string& body);
  /// False (with the answer filled in) when the request lacks the credentials it needs.
  bool authorized(const AdminRequest& request, std::string_view authorization,
                  AdminResponse& response) const;

  controller::Controller& controller_;
  ObjectApi objectApi_;
  std::string token_;
  bool loopback_ = true;  ///< the bound address is 127.0.0.0/8 or ::1
  net::Address address_;
  int listenFd_ = -1;
  int wakeFd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace portico::admin
