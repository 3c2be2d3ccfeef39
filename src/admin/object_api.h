// ObjectApi: the admin API's /api/ endpoints — list, read, create/replace and delete config
// objects in the store, validated first with the controller's own decoders (porticoctl's API).
#pragma once

#include <string>
#include <string_view>

namespace portico::controller {
class Controller;
}

namespace portico::admin {

/// One admin request as the API handlers see it (the body is read whole; 4 MiB at most).
struct AdminRequest {
  std::string_view method;
  std::string_view path;   ///< without the query
  std::string_view query;  ///< without '?'
  std::string_view body;
};

struct AdminResponse {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
};

/// Serves /api/version and /api/objects[...] (see README.md, "Admin API"). Writes go through
/// ConfigStore::put/remove and are followed by a synchronous rebuild, so the answer carries the
/// object's new status. Runs on the admin thread; requests are handled one at a time.
class ObjectApi {
public:
  explicit ObjectApi(controller::Controller& controller) : controller_(controller) {}

  /// Handles a request whose path starts with "/api/".
  void handle(const AdminRequest& request, AdminResponse& response);

private:
  void list(const AdminRequest& request, AdminResponse& response);
  void getOne(std::string_view kind, std::string_view ns, std::string_view name,
              AdminResponse& response);
  /// PUT /api/objects/KIND/NS/NAME (one object) and POST /api/apply (several): validate
  /// together, then write those that changed.
  void write(const AdminRequest& request, AdminResponse& response, bool single,
             std::string_view kind, std::string_view ns, std::string_view name);
  void remove(const AdminRequest& request, std::string_view kind, std::string_view ns,
              std::string_view name, AdminResponse& response);

  controller::Controller& controller_;
};

}  // namespace portico::admin
