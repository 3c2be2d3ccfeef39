// AdminServer: the admin HTTP API (/ready, /statuses, /config_dump, /metrics) on its own
// thread, off the workers. Small and blocking by design: one short request per connection.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

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

  /// Binds (errors name the address) and starts serving.
  Status start(const net::Address& address);
  void stop();
  const net::Address& address() const { return address_; }

private:
  void serve();
  void handle(int fd);
  /// Fills status/contentType/body for one request.
  void route(std::string_view method, std::string_view path, int& status,
             std::string& contentType, std::string& body);

  controller::Controller& controller_;
  net::Address address_;
  int listenFd_ = -1;
  int wakeFd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace portico::admin
