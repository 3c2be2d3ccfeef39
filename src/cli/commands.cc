#include "cli/commands.h"

#include <cstdio>

#include "cli/objects.h"
#include "config/model.h"

namespace portico::cli {

namespace {

FlagSpec outputFlag(const std::string& formats, const std::string& fallback) {
  return {"output", 'o', true, formats, "output format: " + formats + " (default " + fallback + ")"};
}
const FlagSpec kDryRun{"dry-run", 0, false, "", "print the object that would be written; write nothing"};
const FlagSpec kForce{"force", 0, false, "", "write even when Portico would reject the object"};

}  // namespace

const std::vector<CommandSpec>& commandTable() {
  static const std::vector<CommandSpec> table = {
      {"create upstream static", "[NAME]", 0, 1,
       {{"name", 0, true, "NAME", "the upstream's name (or give it as the argument)"},
        {"static-hosts", 0, true, "HOST:PORT,...", "hosts of the upstream (no port = 80; [v6]:port)"},
        kDryRun, kForce, outputFlag("yaml|json", "yaml")},
       "Create a static upstream (a fixed list of hosts)."},
      {"create virtualservice", "[NAME]", 0, 1,
       {{"name", 0, true, "NAME", "the virtual service's name (or give it as the argument)"},
        {"domains", 0, true, "DOMAIN,...", "domains it serves (default *)"},
        kDryRun, kForce, outputFlag("yaml|json", "yaml")},
       "Create a virtual service without routes (add them with add route)."},
      {"add route", "", 0, 0,
       {{"name", 0, true, "VS", "virtual service to add to; created when missing (default \"default\")"},
        {"path-exact", 'e', true, "PATH", "match this exact path"},
        {"path-prefix", 'p', true, "PREFIX", "match paths starting with this"},
        {"path-regex", 'r', true, "RE2", "match paths matching this regex (whole path)"},
        {"method", 'm', true, "METHOD,...", "match only these HTTP methods"},
        {"header", 'd', true, "NAME=VALUE", "match a header value (NAME alone: present); repeatable"},
        {"queryParameter", 'q', true, "NAME=VALUE", "match a query parameter (NAME alone: present); repeatable"},
        {"dest-name", 'u', true, "UPSTREAM", "upstream to send matching requests to (required)"},
        {"dest-namespace", 's', true, "NS", "namespace of the upstream (default: --namespace)"},
        {"prefix-rewrite", 0, true, "PREFIX", "replace the matched prefix with this"},
        {"rest-function-name", 'f', true, "NAME", "REST function of the upstream (destinationSpec.rest)"},
        {"rest-parameters", 0, true, "HEADER=TEMPLATE,...", "REST parameters, e.g. ':path=/users/{id}'"},
        {"index", 'x', true, "N", "position of the new route (default 0: first)"},
        kDryRun, kForce, outputFlag("yaml|json", "yaml")},
       "Add a route to a virtual service (first by default, like glooctl)."},
      {"remove route", "", 0, 0,
       {{"name", 0, true, "VS", "virtual service (default \"default\")"},
        {"index", 'x', true, "N", "position of the route to remove, from 0 (required)"},
        kDryRun, kForce, outputFlag("yaml|json", "yaml")},
       "Remove a route from a virtual service."},
      {"route sort", "", 0, 0,
       {{"name", 0, true, "VS", "virtual service (default \"default\")"}, kDryRun, kForce,
        outputFlag("yaml|json", "yaml")},
       "Order a virtual service's routes most specific first (exact, regex, longest prefix)."},
      {"get", "KIND [NAME]", 1, 2,
       {outputFlag("table|wide|yaml|json", "table"),
        {"all-namespaces", 'A', false, "", "list every namespace"}},
       "Show upstreams, virtualservices, routetables, gateways, secrets, upstreamgroups with their status.",
       kindWords()},
      {"delete", "KIND NAME", 2, 2, {kForce},
       "Delete an object (refused when it would get others rejected, unless --force).", kindWords()},
      {"apply", "", 0, 0,
       {{"filename", 'f', true, "FILE|DIR|-", "YAML/JSON objects to create or update; repeatable"},
        {"dry-run", 0, false, "", "validate on the server and report; write nothing"}, kForce},
       "Create or update objects from files, declaratively (unchanged objects are left alone)."},
      {"edit", "KIND NAME", 2, 2, {kForce},
       "Edit an object in $EDITOR; it is validated before it is saved.", kindWords()},
      {"check", "", 0, 0, {},
       "Check that the gateway is ready, every object Accepted, every upstream has a healthy host."},
      {"proxy url", "", 0, 0,
       {{"port", 0, true, "http|https", "which listener (default http)"},
        {"name", 0, true, "GATEWAY", "gateway object to use (default: the first that fits)"}},
       "Print the gateway's URL, e.g. curl $(porticoctl proxy url)/path."},
      {"proxy stats", "", 0, 0, {}, "Print the gateway's metrics (Prometheus text)."},
      {"proxy dump", "", 0, 0, {}, "Print the config in effect (JSON)."},
      {"version", "", 0, 0, {}, "Print the versions of porticoctl and of the running Portico."},
      {"completion", "bash|zsh", 1, 1, {}, "Print a shell completion script.", {"bash", "zsh"}},
  };
  return table;
}

int failWith(int code, const std::string& message) {
  fprintf(stderr, "porticoctl: %s\n", message.c_str());
  return code;
}

Result<Json> fetchObject(const Context& ctx, const std::string& kind, const std::string& ns,
                         const std::string& name, bool& found) {
  found = false;
  auto res = ctx.client.request("GET", "/api/objects/" + kindName(kind) + "/" + urlEncode(ns) + "/" + urlEncode(name));
  if (!res.ok()) return res.status();
  if (res->status == 404) return Json();
  if (res->status != 200) return Status::error(describeError(*res));
  Json j = parseJson(res->body);
  if (!j.is_object()) return Status::error("the admin API answered something that is not a JSON object");
  found = true;
  return j;
}

Result<Json> fetchList(const Context& ctx, const std::string& kind, const std::string& ns) {
  std::string target = "/api/objects?kind=" + kindName(kind);
  if (!ns.empty()) target += "&namespace=" + urlEncode(ns);
  auto res = ctx.client.request("GET", target);
  if (!res.ok()) return res.status();
  if (res->status != 200) return Status::error(describeError(*res));
  Json j = parseJson(res->body);
  const Json* objects = member(j, "objects");
  if (!objects || !objects->is_array()) return Status::error("the admin API answered an unexpected list");
  return *objects;
}

int writeObject(const Context& ctx, Json object) {
  object.erase("status");
  if (ctx.cmd.has("dry-run")) {
    std::string format = ctx.cmd.value("output", "yaml");
    if (format == "json") fputs(toPrettyJson(object).c_str(), stdout);
    else if (format == "yaml") fputs(toYamlText(object).c_str(), stdout);
    else return failWith(kExitUsage, "--output: \"" + format + "\" is not one of yaml, json");
    return kExitOk;
  }
  const Json* meta = member(object, "metadata");
  std::string kind = getString(object, "kind");
  std::string name = meta ? getString(*meta, "name") : "", ns = meta ? getString(*meta, "namespace") : "";
  std::string target = "/api/objects/" + kind + "/" + urlEncode(ns) + "/" + urlEncode(name);
  if (ctx.cmd.has("force")) target += "?force=true";
  auto res = ctx.client.request("PUT", target, toCompactJson(object), "application/json");
  if (!res.ok()) return failWith(kExitFailed, res.error());
  std::string display = config::ObjectKey{kind, ns, name}.display();
  if (res->status != 200) return failWith(kExitFailed, display + ": " + describeError(*res));
  Json answer = parseJson(res->body);
  std::string state = getString(answer, "state"), reason = getString(answer, "reason");
  printf("%s %s (%s)\n", display.c_str(), getString(answer, "result").c_str(), state.c_str());
  if (state == "Rejected") {
    fprintf(stderr, "porticoctl: %s\n", reason.c_str());
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace portico::cli
