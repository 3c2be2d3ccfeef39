// porticoctl's commands: the table the parser, the help and the completion scripts are built
// from, and one run function per command family. Each returns the process exit code.
#pragma once

#include <string>
#include <vector>

#include "cli/admin_client.h"
#include "cli/args.h"
#include "cli/json.h"

namespace portico::cli {

/// Exit codes: 0 done, 1 a check or an operation failed, 2 usage error.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

const std::vector<CommandSpec>& commandTable();

/// What every command works with.
struct Context {
  const ParsedCommand& cmd;
  AdminClient client;
  std::string ns;  ///< -n/--namespace (default gloo-system)
};

/// Prints "porticoctl: MESSAGE" to stderr and returns `code`.
int failWith(int code, const std::string& message);

// ---- shared by the commands (commands.cc) ----
/// GET /api/objects/KIND/NS/NAME; `found` false on 404.
Result<Json> fetchObject(const Context& ctx, const std::string& kind, const std::string& ns,
                         const std::string& name, bool& found);
/// GET /api/objects?kind=&namespace= (ns empty = all namespaces): the objects array.
Result<Json> fetchList(const Context& ctx, const std::string& kind, const std::string& ns);
/// PUT of one object (or, with --dry-run, prints it as -o yaml|json instead) and prints
/// "<kind> <name>.<ns> created|configured|unchanged (<state>)". Exit code 1 when the admin API
/// refuses it or it ends up Rejected.
int writeObject(const Context& ctx, Json object);

// ---- command families ----
int runCreate(const Context& ctx);     // create upstream static | create virtualservice
int runRouteEdit(const Context& ctx);  // add route | remove route | route sort
int runGet(const Context& ctx);
int runDelete(const Context& ctx);
int runApply(const Context& ctx);
int runEdit(const Context& ctx);
int runCheck(const Context& ctx);
int runProxy(const Context& ctx);  // proxy url | stats | dump
int runVersion(const Context& ctx);
int runCompletion(const Context& ctx);

}  // namespace portico::cli
