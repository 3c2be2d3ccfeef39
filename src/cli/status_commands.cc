// check, proxy url|stats|dump, version: read-only views of a running Portico.
#include <cstdio>

#include "cli/commands.h"
#include "cli/objects.h"
#include "config/model.h"

namespace portico::cli {

namespace {

/// GETs an admin endpoint; fails unless it answers 200.
Result<std::string> getText(const Context& ctx, const std::string& target) {
  auto res = ctx.client.request("GET", target);
  if (!res.ok()) return res.status();
  if (res->status != 200) return Status::error(target + ": " + describeError(*res));
  return std::move(res->body);
}

void report(const char* what, const std::vector<std::string>& problems) {
  if (problems.empty()) {
    printf("Checking %s... OK\n", what);
    return;
  }
  printf("Checking %s... %zu problem%s\n", what, problems.size(), problems.size() == 1 ? "" : "s");
  for (const std::string& p : problems) printf("  %s\n", p.c_str());
}

}  // namespace

int runCheck(const Context& ctx) {
  size_t problems = 0;
  // Readiness: a refused connection is the first problem and ends the check.
  auto ready = ctx.client.request("GET", "/ready");
  if (!ready.ok()) {
    report("gateway readiness", {ready.error()});
    printf("Problems detected!\n");
    return kExitFailed;
  }
  std::vector<std::string> readiness;
  if (ready->status != 200) {
    std::string body = ready->body;
    while (!body.empty() && body.back() == '\n') body.pop_back();
    readiness.push_back("/ready answered " + std::to_string(ready->status) + ": " + body);
  }
  report("gateway readiness", readiness);
  problems += readiness.size();

  std::vector<std::string> objectProblems;
  auto statuses = getText(ctx, "/statuses");
  if (!statuses.ok()) {
    objectProblems.push_back(statuses.error());
  } else {
    Json list = parseJson(*statuses);
    if (!list.is_array()) objectProblems.push_back("/statuses: not a JSON list");
    else
      for (const Json& s : list) {
        std::string state = getString(s, "state");
        if (state == "Accepted") continue;
        std::string kind = getString(s, "kind");
        std::string who = kind == "File" ? "file " + getString(s, "name")
                                         : config::ObjectKey{kind, getString(s, "namespace"), getString(s, "name")}.display();
        std::string r = getString(s, "reason");
        objectProblems.push_back(who + " is " + state + (r.empty() ? "" : ": " + r));
      }
  }
  report("config objects", objectProblems);
  problems += objectProblems.size();

  std::vector<std::string> hostProblems;
  auto upstreams = getText(ctx, "/upstreams");
  if (!upstreams.ok()) {
    hostProblems.push_back(upstreams.error());
  } else {
    Json list = parseJson(*upstreams);
    if (!list.is_array()) hostProblems.push_back("/upstreams: not a JSON list");
    else
      for (const Json& c : list) {
        std::string name = "upstream " + getString(c, "name");
        const Json* hosts = member(c, "hosts");
        size_t total = 0, healthy = 0;
        std::string failures;
        if (hosts && hosts->is_array())
          for (const Json& h : *hosts) {
            ++total;
            const Json* ok = member(h, "healthy");
            if (!ok || (ok->is_boolean() && ok->get<bool>())) {
              ++healthy;
              continue;
            }
            std::string why = getString(h, "lastHealthCheckFailure");
            if (why.empty()) why = getString(h, "healthCheck") == "failing" ? "health check failing" : "unavailable";
            if (const Json* e = member(h, "ejected"); e && e->is_boolean() && e->get<bool>()) why += ", ejected";
            failures += (failures.empty() ? "" : "; ") + getString(h, "address") + ": " + why;
          }
        if (total == 0) {
          std::string unresolved;
          if (const Json* u = member(c, "unresolved"); u && u->is_array())
            for (const Json& x : *u) unresolved += (unresolved.empty() ? "" : ", ") + (x.is_string() ? x.get<std::string>() : x.dump());
          hostProblems.push_back(name + ": no hosts" + (unresolved.empty() ? "" : " (unresolved: " + unresolved + ")"));
        } else if (healthy == 0) {
          hostProblems.push_back(name + ": no healthy host (" + failures + ")");
        }
      }
  }
  report("upstream hosts", hostProblems);
  problems += hostProblems.size();

  if (problems) {
    printf("Problems detected!\n");
    return kExitFailed;
  }
  printf("No problems detected.\n");
  return kExitOk;
}

int runProxy(const Context& ctx) {
  const std::string& which = ctx.cmd.spec->path;
  if (which == "proxy stats" || which == "proxy dump") {
    auto text = getText(ctx, which == "proxy stats" ? "/metrics" : "/config_dump");
    if (!text.ok()) return failWith(kExitFailed, text.error());
    if (which == "proxy dump") {
      Json j = parseJson(*text);
      fputs(j.is_discarded() ? text->c_str() : toPrettyJson(j).c_str(), stdout);
    } else {
      fputs(text->c_str(), stdout);
    }
    return kExitOk;
  }
  std::string scheme = ctx.cmd.value("port", "http");
  if (scheme != "http" && scheme != "https")
    return failWith(kExitUsage, "--port: \"" + scheme + "\" is not one of http, https");
  auto dump = getText(ctx, "/config_dump");
  if (!dump.ok()) return failWith(kExitFailed, dump.error());
  Json j = parseJson(*dump);
  const Json* objects = member(j, "objects");
  std::string wanted = ctx.cmd.value("name");
  if (objects && objects->is_array()) {
    for (const Json& o : *objects) {
      if (getString(o, "kind") != "Gateway") continue;
      const Json* meta = member(o, "metadata");
      if (!wanted.empty() && (!meta || getString(*meta, "name") != wanted)) continue;
      const Json* ssl = path(o, "spec.ssl");
      bool isSsl = ssl && ssl->is_boolean() && ssl->get<bool>();
      if (isSsl != (scheme == "https")) continue;
      const Json* spec = member(o, "spec");
      std::string addr = spec ? getString(*spec, "bindAddress") : "";
      const Json* port = spec ? member(*spec, "bindPort") : nullptr;
      if (addr.empty() || addr == "::" || addr == "0.0.0.0") {
        std::string admin = ctx.client.host();
        addr = admin == "::" || admin == "0.0.0.0" || admin.empty() ? "127.0.0.1" : admin;
      }
      if (addr.find(':') != std::string::npos) addr = "[" + addr + "]";
      printf("%s://%s:%s\n", scheme.c_str(), addr.c_str(),
             port ? (port->is_string() ? port->get<std::string>().c_str() : port->dump().c_str()) : "8080");
      return kExitOk;
    }
  }
  return failWith(kExitFailed, "no " + scheme + " gateway" + (wanted.empty() ? "" : " named " + wanted) +
                                   " in effect (see porticoctl get gateway)");
}

int runVersion(const Context& ctx) {
  printf("porticoctl %s\n", PORTICO_VERSION);
  auto res = ctx.client.request("GET", "/api/version");
  if (!res.ok()) {
    printf("portico: unavailable (%s)\n", res.error().c_str());
    return kExitOk;
  }
  Json j = parseJson(res->body);
  std::string v = res->status == 200 ? getString(j, "version") : "";
  if (v.empty()) printf("portico: unknown (%s)\n", describeError(*res).c_str());
  else printf("portico %s (admin API at %s)\n", v.c_str(), ctx.client.address().c_str());
  return kExitOk;
}

}  // namespace portico::cli
