// porticoctl: the command line for a running Portico (glooctl's verbs over the admin API).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "config/model.h"

using namespace portico;
using namespace portico::cli;

namespace {

using Runner = int (*)(const Context&);

Runner runnerFor(const std::string& path) {
  if (path == "create upstream static" || path == "create virtualservice") return runCreate;
  if (path == "add route" || path == "remove route" || path == "route sort") return runRouteEdit;
  if (path == "get") return runGet;
  if (path == "delete") return runDelete;
  if (path == "apply") return runApply;
  if (path == "edit") return runEdit;
  if (path == "check") return runCheck;
  if (path.rfind("proxy ", 0) == 0) return runProxy;
  if (path == "version") return runVersion;
  return runCompletion;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = parseCommandLine(args, commandTable());
  if (!parsed.ok()) {
    fprintf(stderr, "porticoctl: %s\n", parsed.error().c_str());
    return kExitUsage;
  }
  const ParsedCommand& cmd = *parsed;
  if (!cmd.spec) {
    fputs(generalHelp(commandTable()).c_str(), cmd.help ? stdout : stderr);
    return cmd.help ? kExitOk : kExitUsage;
  }
  if (cmd.help) {
    fputs(commandHelp(*cmd.spec).c_str(), stdout);
    return kExitOk;
  }

  const char* envAddress = getenv("PORTICO_ADMIN");
  std::string address = cmd.value("admin-address", envAddress && *envAddress ? envAddress : "127.0.0.1:19000");
  std::string token;
  if (cmd.has("admin-token-file")) {
    std::string file = cmd.value("admin-token-file");
    std::ifstream in(file, std::ios::binary);
    if (!in) return failWith(kExitUsage, "--admin-token-file: cannot read " + file);
    token.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    token.erase(token.find_last_not_of(" \t\r\n") + 1);
  } else if (const char* envToken = getenv("PORTICO_ADMIN_TOKEN")) {
    token = envToken;
  }
  std::string ns = cmd.value("namespace", config::kDefaultNamespace);
  Context ctx{cmd, AdminClient(address, token), ns};
  return runnerFor(cmd.spec->path)(ctx);
}
