// get KIND [NAME] -o table|wide|yaml|json, and delete KIND NAME.
#include <cstdio>
#include <map>

#include "cli/commands.h"
#include "cli/objects.h"
#include "config/model.h"

namespace portico::cli {

namespace {

using Row = std::vector<std::string>;

std::string join(const std::vector<std::string>& items, const char* sep = ",") {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

/// Left-aligned columns, two spaces apart, no trailing blanks (kubectl's look).
std::string renderTable(const std::vector<Row>& rows) {
  std::vector<size_t> width;
  for (const Row& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  std::string out;
  for (const Row& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line.append(width[i] - r[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string state(const Json& obj) {
  const Json* s = member(obj, "status");
  std::string st = s ? getString(*s, "state") : "";
  return st.empty() ? "Pending" : st;
}

std::string reason(const Json& obj) {
  const Json* s = member(obj, "status");
  return s ? getString(*s, "reason") : "";
}

std::string metaField(const Json& obj, const char* field) {
  const Json* m = member(obj, "metadata");
  return m ? getString(*m, field) : "";
}

std::string upstreamType(const Json& obj) {
  const Json* spec = member(obj, "spec");
  for (const char* t : {"static", "kube", "aws", "awsEc2", "azure", "consul", "gcp", "pipe"})
    if (spec && member(*spec, t)) return t;
  return "unknown";
}

std::vector<std::string> staticHosts(const Json& obj) {
  std::vector<std::string> out;
  const Json* hosts = path(obj, "spec.static.hosts");
  if (!hosts || !hosts->is_array()) return out;
  for (const Json& h : *hosts) {
    std::string addr = getString(h, "addr");
    const Json* port = member(h, "port");
    if (addr.find(':') != std::string::npos) addr = "[" + addr + "]";
    out.push_back(addr + ":" + (port ? (port->is_string() ? port->get<std::string>() : port->dump()) : "?"));
  }
  return out;
}

const Json* routesOfConst(const Json& obj) {
  return getString(obj, "kind") == "RouteTable" ? path(obj, "spec.routes") : path(obj, "spec.virtualHost.routes");
}

/// "healthy/total healthy" per upstream from /upstreams (wide output only).
std::map<std::string, std::string> upstreamHealth(const Context& ctx) {
  std::map<std::string, std::string> out;
  auto res = ctx.client.request("GET", "/upstreams");
  if (!res.ok() || res->status != 200) return out;
  Json j = parseJson(res->body);
  if (!j.is_array()) return out;
  for (const Json& c : j) {
    const Json* hosts = member(c, "hosts");
    size_t total = 0, healthy = 0;
    if (hosts && hosts->is_array())
      for (const Json& h : *hosts) {
        ++total;
        const Json* ok = member(h, "healthy");
        healthy += !ok || (ok->is_boolean() && ok->get<bool>());
      }
    out[getString(c, "name")] = std::to_string(healthy) + "/" + std::to_string(total) + " healthy";
  }
  return out;
}

std::vector<Row> tableRows(const Context& ctx, const std::string& kind, const Json& objects, bool wide) {
  std::vector<Row> rows;
  std::map<std::string, std::string> health;
  if (kind == "upstream" && wide) health = upstreamHealth(ctx);
  auto with = [&](Row head, Row wideHead) {
    if (wide) head.insert(head.begin() + 1, "NAMESPACE");
    if (wide) head.insert(head.end() - 1, wideHead.begin(), wideHead.end());
    return head;
  };
  if (kind == "upstream") rows.push_back(with({"NAME", "TYPE", "STATUS", "DETAILS", "REASON"}, {"HEALTH"}));
  else if (kind == "virtualservice") rows.push_back(with({"NAME", "DOMAINS", "ROUTES", "STATUS", "REASON"}, {"ROUTE DETAILS"}));
  else if (kind == "routetable") rows.push_back(with({"NAME", "ROUTES", "WEIGHT", "STATUS", "REASON"}, {"ROUTE DETAILS"}));
  else if (kind == "gateway") rows.push_back(with({"NAME", "BIND", "STATUS", "REASON"}, {"VIRTUAL SERVICES"}));
  else if (kind == "upstreamgroup") rows.push_back(with({"NAME", "DESTINATIONS", "STATUS", "REASON"}, {}));
  else rows.push_back(with({"NAME", "TYPE", "STATUS", "REASON"}, {}));

  for (const Json& o : objects) {
    std::string name = metaField(o, "name"), ns = metaField(o, "namespace");
    Row r{name};
    Row extra;
    if (kind == "upstream") {
      r.insert(r.end(), {upstreamType(o), state(o), join(staticHosts(o))});
      auto h = health.find(name + "." + ns);
      extra.push_back(h == health.end() ? "-" : h->second);
    } else if (kind == "virtualservice" || kind == "routetable") {
      const Json* routes = routesOfConst(o);
      size_t n = routes && routes->is_array() ? routes->size() : 0;
      std::vector<std::string> summaries;
      if (routes && routes->is_array())
        for (const Json& rt : *routes) summaries.push_back(routeSummary(rt));
      if (kind == "virtualservice") {
        std::vector<std::string> domains;
        if (const Json* d = path(o, "spec.virtualHost.domains"); d && d->is_array())
          for (const Json& x : *d) domains.push_back(x.is_string() ? x.get<std::string>() : x.dump());
        r.insert(r.end(), {domains.empty() ? "*" : join(domains), std::to_string(n), state(o)});
      } else {
        const Json* w = path(o, "spec.weight");
        r.insert(r.end(), {std::to_string(n), w ? w->dump() : "0", state(o)});
      }
      extra.push_back(summaries.empty() ? "-" : join(summaries, " "));
    } else if (kind == "gateway") {
      const Json* spec = member(o, "spec");
      std::string addr = spec ? getString(*spec, "bindAddress") : "";
      const Json* port = path(o, "spec.bindPort");
      if (addr.empty()) addr = "::";
      if (addr.find(':') != std::string::npos) addr = "[" + addr + "]";
      r.insert(r.end(), {addr + ":" + (port ? port->dump() : "8080"), state(o)});
      std::vector<std::string> vss;
      if (const Json* list = path(o, "spec.httpGateway.virtualServices"); list && list->is_array())
        for (const Json& ref : *list) vss.push_back(getString(ref, "name"));
      extra.push_back(vss.empty() ? "*" : join(vss));
    } else if (kind == "upstreamgroup") {
      const Json* d = path(o, "spec.destinations");
      r.insert(r.end(), {std::to_string(d && d->is_array() ? d->size() : 0), state(o)});
    } else {  // secret: the kind of material, never the material
      std::string type = "-";
      for (const auto& [k, v] : o.items())
        if (k != "apiVersion" && k != "kind" && k != "metadata" && k != "status") {
          type = k;
          if (k == "spec" && v.is_object() && !v.empty()) type = v.begin().key();
          break;
        }
      r.insert(r.end(), {type, state(o)});
    }
    if (wide) {
      r.insert(r.begin() + 1, ns);
      r.insert(r.end(), extra.begin(), extra.end());
    }
    r.push_back(reason(o));
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace

int runGet(const Context& ctx) {
  std::string kind = normalizeKind(ctx.cmd.args[0]);
  if (kind.empty())
    return failWith(kExitUsage, "get: unknown kind \"" + ctx.cmd.args[0] + "\" (one of " + join(kindWords(), ", ") + ")");
  std::string format = ctx.cmd.value("output", "table");
  if (format != "table" && format != "wide" && format != "yaml" && format != "json")
    return failWith(kExitUsage, "--output: \"" + format + "\" is not one of table, wide, yaml, json");
  Json objects = Json::array();
  if (ctx.cmd.args.size() == 2) {
    bool found = false;
    auto obj = fetchObject(ctx, kind, ctx.ns, ctx.cmd.args[1], found);
    if (!obj.ok()) return failWith(kExitFailed, obj.error());
    if (!found) return failWith(kExitFailed, kind + " " + ctx.cmd.args[1] + "." + ctx.ns + " not found");
    objects.push_back(std::move(*obj));
  } else {
    auto list = fetchList(ctx, kind, ctx.cmd.has("all-namespaces") ? "" : ctx.ns);
    if (!list.ok()) return failWith(kExitFailed, list.error());
    objects = std::move(*list);
  }
  bool single = ctx.cmd.args.size() == 2;
  if (format == "yaml") {
    for (size_t i = 0; i < objects.size(); ++i) fputs(((i ? "---\n" : "") + toYamlText(objects[i])).c_str(), stdout);
    return kExitOk;
  }
  if (format == "json") {
    fputs(toPrettyJson(single ? objects[0] : objects).c_str(), stdout);
    return kExitOk;
  }
  if (objects.empty()) {
    fprintf(stderr, "No %ss found in %s.\n", kind.c_str(),
            ctx.cmd.has("all-namespaces") ? "any namespace" : ("namespace " + ctx.ns).c_str());
    return kExitOk;
  }
  fputs(renderTable(tableRows(ctx, kind, objects, format == "wide")).c_str(), stdout);
  return kExitOk;
}

int runDelete(const Context& ctx) {
  std::string kind = normalizeKind(ctx.cmd.args[0]);
  if (kind.empty())
    return failWith(kExitUsage, "delete: unknown kind \"" + ctx.cmd.args[0] + "\" (one of " + join(kindWords(), ", ") + ")");
  const std::string& name = ctx.cmd.args[1];
  std::string target = "/api/objects/" + kindName(kind) + "/" + urlEncode(ctx.ns) + "/" + urlEncode(name);
  if (ctx.cmd.has("force")) target += "?force=true";
  auto res = ctx.client.request("DELETE", target);
  if (!res.ok()) return failWith(kExitFailed, res.error());
  std::string display = config::ObjectKey{kindName(kind), ctx.ns, name}.display();
  if (res->status == 404) return failWith(kExitFailed, display + " not found");
  if (res->status != 200) return failWith(kExitFailed, display + ": " + describeError(*res));
  printf("%s deleted\n", display.c_str());
  return kExitOk;
}

}  // namespace portico::cli
