// create upstream static | create virtualservice | add route | remove route | route sort.
#include <cstdio>

#include "cli/commands.h"
#include "cli/objects.h"

namespace portico::cli {

namespace {

/// The object name from the argument or --name (not both, and one of them).
Result<std::string> objectName(const Context& ctx) {
  std::string fromArg = ctx.cmd.args.empty() ? "" : ctx.cmd.args[0];
  std::string fromFlag = ctx.cmd.value("name");
  if (!fromArg.empty() && !fromFlag.empty() && fromArg != fromFlag)
    return Status::error("--name: \"" + fromFlag + "\" differs from the argument \"" + fromArg + "\"");
  std::string name = fromArg.empty() ? fromFlag : fromArg;
  if (name.empty()) return Status::error(ctx.cmd.spec->path + ": give a NAME (argument or --name)");
  return name;
}

/// Refuses to create what exists already (create is not apply).
int createNew(const Context& ctx, const std::string& kind, const std::string& name, Json object) {
  if (!ctx.cmd.has("dry-run")) {
    bool found = false;
    auto existing = fetchObject(ctx, kind, ctx.ns, name, found);
    if (!existing.ok()) return failWith(kExitFailed, existing.error());
    if (found)
      return failWith(kExitFailed, kind + " " + name + "." + ctx.ns +
                                       " already exists (change it with apply, edit or add route)");
  }
  return writeObject(ctx, std::move(object));
}

Result<size_t> indexFlag(const Context& ctx) {
  std::string v = ctx.cmd.value("index");
  if (v.empty() || v.size() > 6 || v.find_first_not_of("0123456789") != std::string::npos)
    return Status::error("--index: \"" + v + "\" is not a route position (0, 1, ...)");
  return static_cast<size_t>(std::stoul(v));
}

}  // namespace

int runCreate(const Context& ctx) {
  auto name = objectName(ctx);
  if (!name.ok()) return failWith(kExitUsage, name.error());
  if (ctx.cmd.spec->path == "create upstream static") {
    if (!ctx.cmd.has("static-hosts")) return failWith(kExitUsage, "--static-hosts: required (HOST:PORT,...)");
    auto up = staticUpstream(*name, ctx.ns, ctx.cmd.values("static-hosts", true));
    if (!up.ok()) return failWith(kExitUsage, up.error());
    return createNew(ctx, "upstream", *name, std::move(*up));
  }
  return createNew(ctx, "virtualservice", *name,
                   virtualService(*name, ctx.ns, ctx.cmd.values("domains", true)));
}

int runRouteEdit(const Context& ctx) {
  const std::string& path = ctx.cmd.spec->path;
  std::string vsName = ctx.cmd.value("name", "default");
  RouteFlags flags;
  Json route;
  std::optional<size_t> index;
  // Usage errors first, before anything is fetched.
  if (path == "add route") {
    flags.pathExact = ctx.cmd.value("path-exact");
    flags.pathPrefix = ctx.cmd.value("path-prefix");
    flags.pathRegex = ctx.cmd.value("path-regex");
    flags.methods = ctx.cmd.values("method", true);
    flags.headers = ctx.cmd.values("header", false);
    flags.queryParameters = ctx.cmd.values("queryParameter", false);
    flags.destName = ctx.cmd.value("dest-name");
    flags.destNamespace = ctx.cmd.value("dest-namespace", ctx.ns);
    flags.prefixRewrite = ctx.cmd.value("prefix-rewrite");
    flags.restFunctionName = ctx.cmd.value("rest-function-name");
    flags.restParameters = ctx.cmd.values("rest-parameters", true);
    auto built = buildRoute(flags);
    if (!built.ok()) return failWith(kExitUsage, built.error());
    route = std::move(*built);
  }
  if (ctx.cmd.has("index")) {
    auto i = indexFlag(ctx);
    if (!i.ok()) return failWith(kExitUsage, i.error());
    index = *i;
  } else if (path == "remove route") {
    return failWith(kExitUsage, "--index: required (the position of the route, from 0)");
  }

  bool found = false;
  auto vs = fetchObject(ctx, "virtualservice", ctx.ns, vsName, found);
  if (!vs.ok()) return failWith(kExitFailed, vs.error());
  if (!found) {
    if (path != "add route")
      return failWith(kExitFailed, "virtualservice " + vsName + "." + ctx.ns + " not found");
    fprintf(stderr, "porticoctl: virtualservice %s.%s does not exist: creating it (domains *)\n",
            vsName.c_str(), ctx.ns.c_str());
    *vs = virtualService(vsName, ctx.ns, {});
  }
  if (path == "add route") {
    Status s = insertRoute(*vs, std::move(route), index);
    if (!s.ok()) return failWith(kExitUsage, s.message());
  } else if (path == "remove route") {
    Status s = removeRoute(*vs, *index);
    if (!s.ok()) return failWith(kExitUsage, s.message());
  } else if (!sortRoutes(*vs) && !ctx.cmd.has("dry-run")) {
    printf("virtualservice %s.%s: routes already sorted\n", vsName.c_str(), ctx.ns.c_str());
    return kExitOk;
  }
  return writeObject(ctx, std::move(*vs));
}

}  // namespace portico::cli
