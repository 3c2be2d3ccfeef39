#include "admin/object_api.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "common/log.h"
#include "config/decode.h"
#include "controller/controller.h"
#include "router/query.h"

namespace portico::admin {

namespace {

using config::ObjectKey;
using config::RawObject;
using config::Value;

/// The kinds the API lists and writes, as the store spells them.
constexpr std::string_view kKinds[] = {"Upstream",   "UpstreamGroup", "VirtualService",
                                       "RouteTable", "Gateway",       "Secret"};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// "virtualservice", "VirtualServices" → "VirtualService"; empty when unknown.
std::string canonicalKind(std::string_view kind) {
  std::string k = lower(kind);
  for (std::string_view known : kKinds) {
    std::string l = lower(known);
    if (k == l || k == l + "s") return std::string(known);
  }
  return "";
}

std::string kindList() {
  std::string out;
  for (std::string_view k : kKinds) out += (out.empty() ? "" : ", ") + lower(k);
  return out;
}

void fail(AdminResponse& r, int status, const std::string& message) {
  r.status = status;
  r.body = "{\"error\":" + config::jsonQuote(message) + "}";
}

std::string query(std::string_view q, std::string_view name) {
  router::DecodeBuffer scratch;
  std::string_view value;
  if (!router::findQueryParameter(q, name, scratch, &value)) return "";
  return std::string(value);
}

bool queryFlag(std::string_view q, std::string_view name) {
  std::string v = query(q, name);
  return v == "true" || v == "1";
}

/// Secrets never leave the admin API with their key material: every scalar outside
/// apiVersion/kind/metadata/status is replaced (the field names stay, to show the type).
void redact(Value& v) {
  if (v.isScalar()) {
    v = Value::makeString("<redacted>");
    return;
  }
  for (Value& item : v.list) redact(item);
  for (auto& [k, item] : v.map) redact(item);
}

/// The document as the API shows it: without the stored status, with the controller's.
Value presented(const RawObject& obj, const std::map<ObjectKey, config::ObjectStatus>& statuses) {
  Value doc = obj.doc;
  std::erase_if(doc.map, [](const auto& kv) { return kv.first == "status"; });
  if (obj.kind == "Secret") {
    for (auto& [k, v] : doc.map)
      if (k != "apiVersion" && k != "kind" && k != "metadata") redact(v);
  }
  Value status = Value::makeMap();
  auto it = statuses.find(obj.key());
  config::ObjectStatus s = it == statuses.end() ? config::ObjectStatus{} : it->second;
  status.set("state", Value::makeString(config::toString(s.state)));
  status.set("reason", Value::makeString(s.reason));
  doc.set("status", std::move(status));
  return doc;
}

std::map<ObjectKey, config::ObjectStatus> statusMap(const controller::Controller& c) {
  std::map<ObjectKey, config::ObjectStatus> out;
  for (const auto& e : c.statuses())
    if (e.kind != "File") out[{e.kind, e.ns, e.name}] = e.status;
  return out;
}

/// Key-sorted JSON without status and resourceVersion: what "unchanged" compares.
void sortMaps(Value& v) {
  for (Value& item : v.list) sortMaps(item);
  for (auto& [k, item] : v.map) sortMaps(item);
  std::sort(v.map.begin(), v.map.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
}

std::string canonical(const RawObject& obj) {
  Value doc = obj.doc;
  std::erase_if(doc.map, [](const auto& kv) { return kv.first == "status"; });
  Value meta = Value::makeMap();
  if (const Value* m = doc.find("metadata"); m && m->isMap()) meta = *m;
  meta.set("namespace", Value::makeString(obj.meta.ns));
  std::erase_if(meta.map, [](const auto& kv) { return kv.first == "resourceVersion"; });
  doc.set("metadata", std::move(meta));
  sortMaps(doc);
  return config::toJson(doc);
}

/// Parses a request body: one or more YAML documents, a JSON object, or a JSON list of objects.
Result<std::vector<RawObject>> parseObjects(std::string_view body) {
  std::vector<config::Document> docs;
  size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return Status::error("the request body is empty: send a YAML or JSON object");
  if (body[first] == '{' || body[first] == '[') {
    auto v = config::parseJson(body);
    if (!v.ok()) return Status::error("request body: " + v.error());
    docs.push_back({std::move(*v), "request body"});
  } else {
    auto parsed = config::parseYaml(body, "request body");
    if (!parsed.ok()) return parsed.status();
    docs = std::move(*parsed);
  }
  std::vector<config::Document> flat;
  for (auto& d : docs) {
    if (d.root.isList()) {
      for (auto& item : d.root.list) flat.push_back({item, d.source});
    } else {
      flat.push_back(std::move(d));
    }
  }
  std::vector<RawObject> out;
  std::set<ObjectKey> seen;
  for (const auto& d : flat) {
    auto obj = config::toRawObject(d);
    if (!obj.ok()) return Status::error(d.source + ": " + obj.error());
    std::erase_if(obj->doc.map, [](const auto& kv) { return kv.first == "status"; });
    obj->source = "(admin API)";
    if (!seen.insert(obj->key()).second)
      return Status::error(obj->key().display() + " appears twice in the request body");
    out.push_back(std::move(*obj));
  }
  if (out.empty()) return Status::error("the request body holds no object");
  return out;
}

std::string rejectedJson(const std::vector<controller::StatusEntry>& rejected) {
  std::string out = "[";
  for (size_t i = 0; i < rejected.size(); ++i) {
    const auto& e = rejected[i];
    out += std::string(i ? "," : "") + "{\"kind\":" + config::jsonQuote(e.kind) +
           ",\"namespace\":" + config::jsonQuote(e.ns) + ",\"name\":" + config::jsonQuote(e.name) +
           ",\"reason\":" + config::jsonQuote(e.status.reason) + "}";
  }
  return out + "]";
}

std::string resultJson(const ObjectKey& key, std::string_view result,
                       const std::map<ObjectKey, config::ObjectStatus>& statuses) {
  auto it = statuses.find(key);
  config::ObjectStatus s = it == statuses.end() ? config::ObjectStatus{} : it->second;
  return "{\"kind\":" + config::jsonQuote(key.kind) + ",\"namespace\":" + config::jsonQuote(key.ns) +
         ",\"name\":" + config::jsonQuote(key.name) + ",\"result\":" + config::jsonQuote(result) +
         ",\"state\":" + config::jsonQuote(config::toString(s.state)) +
         ",\"reason\":" + config::jsonQuote(s.reason) + "}";
}

/// Splits "/api/objects/a/b/c" after the prefix into its segments.
std::vector<std::string_view> segments(std::string_view rest) {
  std::vector<std::string_view> out;
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    if (!seg.empty()) out.push_back(seg);
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return out;
}

}  // namespace

void ObjectApi::handle(const AdminRequest& req, AdminResponse& res) {
  if (req.path == "/api/version") {
    if (req.method != "GET" && req.method != "HEAD") return fail(res, 405, "use GET");
    res.body = "{\"version\":" + config::jsonQuote(PORTICO_VERSION) + "}";
    return;
  }
  if (req.path == "/api/apply") {
    if (req.method != "POST") return fail(res, 405, "use POST with YAML or JSON objects");
    return write(req, res, false, "", "", "");
  }
  constexpr std::string_view kObjects = "/api/objects";
  if (req.path.substr(0, kObjects.size()) != kObjects ||
      (req.path.size() > kObjects.size() && req.path[kObjects.size()] != '/'))
    return fail(res, 404, "no such endpoint; see /api/objects, /api/apply, /api/version");
  std::vector<std::string_view> segs = segments(req.path.substr(kObjects.size()));
  if (segs.empty()) {
    if (req.method != "GET" && req.method != "HEAD") return fail(res, 405, "use GET on /api/objects");
    return list(req, res);
  }
  if (segs.size() != 3)
    return fail(res, 404, "expected /api/objects/KIND/NAMESPACE/NAME");
  std::string kind = canonicalKind(segs[0]);
  if (kind.empty())
    return fail(res, 404, "unknown kind \"" + std::string(segs[0]) + "\": one of " + kindList());
  if (req.method == "GET" || req.method == "HEAD") return getOne(kind, segs[1], segs[2], res);
  if (req.method == "PUT") return write(req, res, true, kind, segs[1], segs[2]);
  if (req.method == "DELETE") return remove(req, kind, segs[1], segs[2], res);
  fail(res, 405, "use GET, PUT or DELETE on an object");
}

void ObjectApi::list(const AdminRequest& req, AdminResponse& res) {
  std::string kindParam = query(req.query, "kind");
  std::string kind = kindParam.empty() ? "" : canonicalKind(kindParam);
  if (!kindParam.empty() && kind.empty())
    return fail(res, 400, "kind: unknown kind \"" + kindParam + "\": one of " + kindList());
  std::string ns = query(req.query, "namespace");
  auto statuses = statusMap(controller_);
  store::Contents contents = controller_.store().list();
  std::vector<const RawObject*> picked;
  for (const RawObject& obj : contents.objects)
    if ((kind.empty() || obj.kind == kind) && (ns.empty() || obj.meta.ns == ns)) picked.push_back(&obj);
  std::sort(picked.begin(), picked.end(), [](const RawObject* a, const RawObject* b) {
    return std::tie(a->kind, a->meta.ns, a->meta.name) < std::tie(b->kind, b->meta.ns, b->meta.name);
  });
  res.body = "{\"objects\":[";
  for (size_t i = 0; i < picked.size(); ++i)
    res.body += (i ? "," : "") + config::toJson(presented(*picked[i], statuses));
  res.body += "]}";
}

void ObjectApi::getOne(std::string_view kind, std::string_view ns, std::string_view name,
                       AdminResponse& res) {
  ObjectKey key{std::string(kind), std::string(ns), std::string(name)};
  store::Contents contents = controller_.store().list();
  for (const RawObject& obj : contents.objects) {
    if (obj.key() != key) continue;
    res.body = config::toJson(presented(obj, statusMap(controller_)));
    return;
  }
  fail(res, 404, key.display() + " not found");
}

void ObjectApi::write(const AdminRequest& req, AdminResponse& res, bool single,
                      std::string_view kind, std::string_view ns, std::string_view name) {
  auto objects = parseObjects(req.body);
  if (!objects.ok()) return fail(res, 400, objects.error());
  if (single) {
    ObjectKey want{std::string(kind), std::string(ns), std::string(name)};
    if (objects->size() != 1) return fail(res, 400, "PUT takes exactly one object; use POST /api/apply for several");
    if (objects->front().key() != want)
      return fail(res, 400, "the body is " + objects->front().key().display() + " but the URL names " +
                                want.display());
  }
  bool force = queryFlag(req.query, "force");
  bool dryRun = queryFlag(req.query, "dryRun");

  // Idempotence: an object equal to the stored one is not written again.
  std::map<ObjectKey, std::string> stored;
  for (const RawObject& obj : controller_.store().list().objects) stored[obj.key()] = canonical(obj);
  std::vector<RawObject> changed;
  std::vector<std::pair<ObjectKey, std::string>> results;
  for (const RawObject& obj : *objects) {
    auto it = stored.find(obj.key());
    std::string result = it == stored.end() ? "created" : it->second == canonical(obj) ? "unchanged" : "configured";
    results.push_back({obj.key(), result});
    if (result != "unchanged") changed.push_back(obj);
  }
  if (!changed.empty() && !force) {
    std::vector<controller::StatusEntry> rejected = controller_.validateChange(changed, {});
    if (!rejected.empty()) {
      res.status = 422;
      res.body = "{\"error\":" +
                 config::jsonQuote("refused: the change would be rejected (nothing was written; "
                                   "force=true writes it anyway)") +
                 ",\"rejected\":" + rejectedJson(rejected) + "}";
      return;
    }
  }
  if (!dryRun) {
    for (const RawObject& obj : changed) {
      Status s = controller_.store().put(obj);
      if (!s.ok()) return fail(res, 500, s.message());
      LOG_INFO("admin API: wrote %s", obj.key().display().c_str());
    }
    if (!changed.empty()) controller_.rebuild();
  }
  auto statuses = statusMap(controller_);
  if (single) {
    res.body = resultJson(results.front().first, results.front().second, statuses);
    return;
  }
  res.body = "{\"results\":[";
  for (size_t i = 0; i < results.size(); ++i)
    res.body += (i ? "," : "") + resultJson(results[i].first, results[i].second, statuses);
  res.body += "]}";
}

void ObjectApi::remove(const AdminRequest& req, std::string_view kind, std::string_view ns,
                       std::string_view name, AdminResponse& res) {
  ObjectKey key{std::string(kind), std::string(ns), std::string(name)};
  bool exists = false;
  for (const RawObject& obj : controller_.store().list().objects) exists |= obj.key() == key;
  if (!exists) return fail(res, 404, key.display() + " not found");
  if (!queryFlag(req.query, "force")) {
    std::vector<controller::StatusEntry> rejected = controller_.validateChange({}, {key});
    if (!rejected.empty()) {
      res.status = 422;
      res.body = "{\"error\":" +
                 config::jsonQuote("refused: deleting " + key.display() +
                                   " would get other objects rejected (force=true deletes it anyway)") +
                 ",\"rejected\":" + rejectedJson(rejected) + "}";
      return;
    }
  }
  Status s = controller_.store().remove(key);
  if (!s.ok()) return fail(res, 500, s.message());
  LOG_INFO("admin API: deleted %s", key.display().c_str());
  controller_.rebuild();
  res.body = "{\"kind\":" + config::jsonQuote(key.kind) + ",\"namespace\":" + config::jsonQuote(key.ns) +
             ",\"name\":" + config::jsonQuote(key.name) + ",\"result\":\"deleted\"}";
}

}  // namespace portico::admin
