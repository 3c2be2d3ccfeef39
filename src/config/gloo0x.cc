// convertGloo0x: Gloo 0.x (2018) Upstream and VirtualService documents (a top-level `name`, no
// apiVersion/kind) rewritten at the Value level as gloo.solo.io/v1 / gateway.solo.io/v1
// documents, so that everything past toRawObject only ever sees modern objects.
//
// The converter checks the 0.x structure and names 0.x fields in its errors; leaf values are
// copied (with their source positions) and validated by the modern decoders.
#include <initializer_list>

#include "config/decode.h"
#include "config/field_reader.h"

namespace portico::config {

namespace {

constexpr const char* kUnsupported = "field not supported by Portico yet";

// The regions Gloo 0.x accepted for an aws upstream (pkg/plugins/aws/spec.go, ValidRegions).
constexpr std::string_view kGloo0xRegions[] = {
    "us-east-1",      "us-east-2",      "us-west-1",  "us-west-2",    "ap-northeast-1",
    "ap-northeast-2", "ap-south-1",     "ap-southeast-1", "ap-southeast-2", "ca-central-1",
    "cn-north-1",     "eu-central-1",   "eu-west-1",  "eu-west-2",    "eu-west-3",
    "sa-east-1",
};

bool isGloo0xRegion(std::string_view region) {
  for (std::string_view r : kGloo0xRegions)
    if (r == region) return true;
  return false;
}

std::string gloo0xRegionList() {
  std::string out;
  for (std::string_view r : kGloo0xRegions) {
    if (!out.empty()) out += ", ";
    out += r;
  }
  return out;
}

Value at(Value v, const Value& pos) {
  v.line = pos.line;
  v.column = pos.column;
  return v;
}
Value mapAt(const Value& pos) { return at(Value::makeMap(), pos); }
Value listAt(const Value& pos) { return at(Value::makeList(), pos); }
Value stringAt(std::string s, const Value& pos) { return at(Value::makeString(std::move(s)), pos); }
Value trueAt(const Value& pos) {
  Value v;
  v.type = Value::Type::Bool;
  v.scalar = "true";
  return at(std::move(v), pos);
}

// A scalar written unquoted (`x-version: 2`) where 0.x has a string: the same text, as a string.
Value asString(const Value& v) {
  if (v.type != Value::Type::Number && v.type != Value::Type::Bool) return v;
  Value s = v;
  s.type = Value::Type::String;
  return s;
}

// Takes `key` and, when present, stores it under `to` in `out`.
void moveKey(MapReader& r, std::string_view key, Value& out, const char* to) {
  if (const Value* v = r.take(key)) out.set(to, *v);
}

struct Rename {
  std::string_view from;
  const char* to;
};

class Converter {
public:
  explicit Converter(Errors& errors) : errors_(errors) {}

  Value convert(const Value& doc) {
    Value out = mapAt(doc);
    MapReader r(doc, "", errors_);
    r.ignore("status");  // written by Gloo 0.x; Portico keeps its own
    bool upstream = r.has("type");
    bool vs =
        r.has("routes") || r.has("domains") || r.has("ssl_config") || r.has("disable_for_gateways");
    Value metadata = convertMetadata(r);
    if (upstream == vs) {
      errors_.add("", upstream ? "a Gloo 0.x object has either type (an upstream) or routes and "
                                 "domains (a virtual service), not both"
                               : "cannot tell the kind of this Gloo 0.x object: an upstream has "
                                 "type, a virtual service has routes or domains");
      for (const auto& entry : doc.map)
        r.ignore(entry.first);
      return out;
    }
    out.set("apiVersion", stringAt(upstream ? "gloo.solo.io/v1" : "gateway.solo.io/v1", doc));
    out.set("kind", stringAt(upstream ? "Upstream" : "VirtualService", doc));
    out.set("metadata", std::move(metadata));
    Value spec = mapAt(doc);
    if (upstream)
      convertUpstream(r, doc, spec);
    else
      convertVirtualService(r, doc, spec);
    out.set("spec", std::move(spec));
    return out;
  }

private:
  // name + metadata{namespace, resource_version, annotations} → metadata.
  Value convertMetadata(MapReader& r) {
    const Value* name = r.take("name");
    Value meta = mapAt(name ? *name : Value());
    if (name) meta.set("name", asString(*name));
    Value ns = stringAt(kDefaultNamespace, meta);
    const Value* resourceVersion = nullptr;
    const Value* annotations = nullptr;
    if (const Value* md = r.take("metadata")) {
      MapReader m(*md, "metadata", errors_);
      if (const Value* v = m.take("namespace")) {
        std::string s;
        if (readStringValue(*v, "metadata.namespace", errors_, s) && !s.empty()) {
          ns = *v;
          ns_ = s;
        }
      }
      resourceVersion = m.take("resource_version");
      annotations = m.take("annotations");
    }
    meta.set("namespace", std::move(ns));
    if (resourceVersion) meta.set("resourceVersion", asString(*resourceVersion));
    if (annotations) meta.set("annotations", *annotations);
    return meta;
  }

  void convertUpstream(MapReader& r, const Value& doc, Value& spec) {
    std::string type;
    const Value* typeValue = r.take("type");
    if (readStringValue(*typeValue, "type", errors_, type) && type.empty())
      errors_.add("type", "required");
    // An empty function list is nothing to convert; functions of a host-based upstream are
    // REST functions (service_info.type REST), those of an aws upstream Lambda functions; any
    // other function is reported by the reader.
    const Value* functions = doc.find("functions");
    if (functions && (functions->isList() || functions->isMap()) && functions->list.empty() &&
        functions->map.empty())
      r.ignore("functions");
    bool hostBased = type == "static" || type == "service";
    if (const Value* info = r.take("service_info")) {
      MapReader si(*info, "service_info", errors_);
      std::string serviceType;
      if (si.readString("type", serviceType) && serviceType != "REST")
        errors_.add("service_info.type", "service type " + jsonQuote(serviceType) +
                                             " is not supported by Portico yet (only REST)");
    }
    const Value* restFunctions = hostBased ? r.take("functions") : nullptr;
    const Value* lambdaFunctions = type == "aws" ? r.take("functions") : nullptr;
    const Value* typeSpec = r.take("spec");
    static const Value kNone;
    const Value& ts = typeSpec ? *typeSpec : kNone;
    const Value& pos = typeSpec ? *typeSpec : *typeValue;
    if (type == "static" || type == "service") {
      convertStatic(ts, pos, spec);
      if (restFunctions) addRestFunctions(*restFunctions, spec);
    } else if (type == "kubernetes") {
      convertRenamed(ts, pos, "kube",
                     {{"service_name", "serviceName"},
                      {"service_namespace", "serviceNamespace"},
                      {"service_port", "servicePort"},
                      {"labels", "selector"}},
                     false, spec);
    } else if (type == "aws") {
      convertAws(ts, pos, lambdaFunctions, spec);
    } else if (type == "azure") {
      convertRenamed(ts, pos, "azure", {{"function_app_name", "functionAppName"}}, true, spec);
    } else if (type == "consul") {
      convertRenamed(ts, pos, "consul",
                     {{"service_name", "serviceName"}, {"service_tags", "serviceTags"}}, false,
                     spec);
    } else if (!type.empty()) {
      // No modern counterpart known here: kept as spec.<type>, which decodeUpstream rejects.
      spec.set(type, typeSpec ? *typeSpec : mapAt(pos));
    }
    if (const Value* timeout = r.take("connection_timeout")) {
      int64_t ms = 0;
      if (timeout->type != Value::Type::String || !parseDurationMs(timeout->scalar, ms)) {
        errors_.add("connection_timeout", "invalid duration: expected e.g. \"5s\" or \"250ms\"");
      } else {
        Value conn = mapAt(*timeout);
        conn.set("connectTimeout", *timeout);
        spec.set("connectionConfig", std::move(conn));
      }
    }
  }

  void convertStatic(const Value& ts, const Value& pos, Value& spec) {
    MapReader s(ts, "spec", errors_);
    Value out = mapAt(pos);
    moveKey(s, "hosts", out, "hosts");
    bool on = false;
    if (s.readBool("enable_ipv6", on) && on) errors_.add("spec.enable_ipv6", kUnsupported);
    if (s.readBool("tls", on) && on) errors_.add("spec.tls", kUnsupported);
    spec.set("static", std::move(out));
  }

  // functions[{name, spec{path, headers, body, passthrough_body}}] → spec.static.serviceSpec.rest
  // .transformations.<name>: path → ":path" header template; body null = the original body,
  // "" = removed; passthrough_body = passthrough.
  void addRestFunctions(const Value& v, Value& spec) {
    if (!v.isList()) {
      if (!(v.isMap() && v.map.empty()))
        errors_.add("functions", std::string("expected a list, got ") + typeName(v.type));
      return;
    }
    if (v.list.empty()) return;
    Value transformations = mapAt(v);
    for (size_t i = 0; i < v.list.size(); ++i) {
      const Value& item = v.list[i];
      MapReader f(item, indexPath("functions", i), errors_);
      std::string name;
      if (!f.requireString("name", name)) continue;
      const Value* fs = f.take("spec");
      static const Value kNone;
      MapReader s(fs ? *fs : kNone, f.pathOf("spec"), errors_);
      Value tmpl = mapAt(item);
      Value headers = mapAt(item);
      auto text = [&](const Value& t) {
        Value m = mapAt(t);
        m.set("text", t.type == Value::Type::Null ? stringAt("", t) : asString(t));
        return m;
      };
      if (const Value* path = s.take("path")) headers.set(":path", text(*path));
      if (const Value* hs = s.take("headers")) {
        if (!hs->isMap())
          errors_.add(s.pathOf("headers"), std::string("expected a map, got ") + typeName(hs->type));
        else
          for (const auto& [k, hv] : hs->map) headers.set(k, text(hv));
      }
      if (!headers.map.empty()) tmpl.set("headers", std::move(headers));
      bool passthrough = false;
      s.readBool("passthrough_body", passthrough);
      const Value* body = s.take("body");
      if (passthrough) tmpl.set("passthrough", mapAt(item));
      else if (body && !body->isNull()) tmpl.set("body", text(*body));
      transformations.set(name, std::move(tmpl));
    }
    for (auto& [key, typeSpec] : spec.map) {
      if (key != "static") continue;
      Value rest = mapAt(v);
      rest.set("transformations", std::move(transformations));
      Value serviceSpec = mapAt(v);
      serviceSpec.set("rest", std::move(rest));
      typeSpec.set("serviceSpec", std::move(serviceSpec));
    }
  }

  void convertRenamed(const Value& ts, const Value& pos, const char* modernType,
                      std::initializer_list<Rename> fields, bool secretRef, Value& spec) {
    MapReader s(ts, "spec", errors_);
    Value out = mapAt(pos);
    for (const Rename& f : fields)
      moveKey(s, f.from, out, f.to);
    if (const Value* secret = secretRef ? s.take("secret_ref") : nullptr)
      addSecretRef(*secret, out);
    spec.set(modernType, std::move(out));
  }

  // 0.x secret_ref is a bare name, in the upstream's own namespace.
  void addSecretRef(const Value& secret, Value& out) {
    std::string name;
    if (!readStringValue(secret, "spec.secret_ref", errors_, name)) return;
    Value ref = mapAt(secret);
    ref.set("name", secret);
    ref.set("namespace", stringAt(ns_, secret));
    out.set("secretRef", std::move(ref));
  }

  // spec{region, secret_ref} + functions[{name, spec{function_name, qualifier}}] → spec.aws
  // {region, secretRef, lambdaFunctions[{logicalName, lambdaFunctionName, qualifier}]}. Both
  // spec fields were required by Gloo 0.x (pkg/plugins/aws/spec.go), the region from a fixed list.
  void convertAws(const Value& ts, const Value& pos, const Value* functions, Value& spec) {
    MapReader s(ts, "spec", errors_);
    Value out = mapAt(pos);
    std::string region;
    if (const Value* r = s.take("region")) {
      if (readStringValue(*r, "spec.region", errors_, region) && !isGloo0xRegion(region))
        errors_.add("spec.region", "unknown region " + jsonQuote(region) + ": Gloo 0.x accepts " +
                                       gloo0xRegionList());
      out.set("region", *r);
    } else {
      errors_.add("spec.region", "required");
    }
    if (const Value* secret = s.take("secret_ref")) addSecretRef(*secret, out);
    else errors_.add("spec.secret_ref", "required");
    if (functions) out.set("lambdaFunctions", convertLambdaFunctions(*functions));
    spec.set("aws", std::move(out));
  }

  // The 0.x function name is what routes use (function_name of a destination): the logical name.
  Value convertLambdaFunctions(const Value& v) {
    Value list = listAt(v);
    if (!v.isList()) {
      if (!(v.isMap() && v.map.empty()))
        errors_.add("functions", std::string("expected a list, got ") + typeName(v.type));
      return list;
    }
    for (size_t i = 0; i < v.list.size(); ++i) {
      const Value& item = v.list[i];
      MapReader f(item, indexPath("functions", i), errors_);
      Value fn = mapAt(item);
      std::string text;
      if (const Value* name = f.take("name")) {
        if (readStringValue(asString(*name), f.pathOf("name"), errors_, text))
          fn.set("logicalName", asString(*name));
      } else if (item.isMap()) {
        errors_.add(f.pathOf("name"), "required");
      }
      const Value* fs = f.take("spec");
      static const Value kNone;
      MapReader s(fs ? *fs : kNone, f.pathOf("spec"), errors_);
      if (const Value* name = s.take("function_name")) {
        if (readStringValue(*name, s.pathOf("function_name"), errors_, text))
          fn.set("lambdaFunctionName", *name);
      } else if (item.isMap()) {
        errors_.add(s.pathOf("function_name"), "required");
      }
      if (const Value* qualifier = s.take("qualifier")) fn.set("qualifier", asString(*qualifier));
      list.list.push_back(std::move(fn));
    }
    return list;
  }

  void convertVirtualService(MapReader& r, const Value& doc, Value& spec) {
    Value vh = mapAt(doc);
    if (const Value* domains = r.take("domains")) {
      Value d = *domains;
      for (Value& item : d.list)  // 0.x: "" is the default virtual service, today's "*"
        if (item.type == Value::Type::String && item.scalar.empty()) item.scalar = "*";
      vh.set("domains", std::move(d));
    }
    if (const Value* routes = r.take("routes")) {
      if (!routes->isList()) {
        errors_.add("routes", std::string("expected a list, got ") + typeName(routes->type));
      } else {
        Value list = listAt(*routes);
        for (size_t i = 0; i < routes->list.size(); ++i)
          list.list.push_back(convertRoute(routes->list[i], indexPath("routes", i)));
        vh.set("routes", std::move(list));
      }
    }
    if (const Value* ssl = r.take("ssl_config")) spec.set("sslConfig", convertSslConfig(*ssl));
    bool disabled = false;
    if (r.readBool("disable_for_gateways", disabled) && disabled)
      errors_.add("disable_for_gateways", "true is not supported by Portico yet: a virtual "
                                          "service is served by every gateway that selects it");
    spec.set("virtualHost", std::move(vh));
  }

  // ssl_config{secret_ref | ssl_files{tls_cert, tls_key, root_ca}, sni_domains}.
  Value convertSslConfig(const Value& v) {
    MapReader s(v, "ssl_config", errors_);
    Value out = mapAt(v);
    if (const Value* secret = s.take("secret_ref")) {
      Value ref = mapAt(*secret);
      ref.set("name", asString(*secret));
      ref.set("namespace", stringAt(ns_, *secret));
      out.set("secretRef", std::move(ref));
    }
    if (const Value* files = s.take("ssl_files")) {
      MapReader f(*files, s.pathOf("ssl_files"), errors_);
      Value modern = mapAt(*files);
      moveKey(f, "tls_cert", modern, "tlsCert");
      moveKey(f, "tls_key", modern, "tlsKey");
      moveKey(f, "root_ca", modern, "rootCa");
      out.set("sslFiles", std::move(modern));
    }
    moveKey(s, "sni_domains", out, "sniDomains");
    return out;
  }

  Value convertRoute(const Value& v, const std::string& path) {
    MapReader r(v, path, errors_);
    Value out = mapAt(v);
    if (r.has("request_matcher") && r.has("event_matcher"))
      errors_.add(path, "only one of request_matcher, event_matcher may be set");
    Value matchers = listAt(v);
    if (const Value* m = r.take("request_matcher"))
      matchers.list.push_back(convertRequestMatcher(*m, r.pathOf("request_matcher")));
    if (const Value* m = r.take("event_matcher"))
      matchers.list.push_back(convertEventMatcher(*m, r.pathOf("event_matcher")));
    if (!matchers.list.empty()) out.set("matchers", std::move(matchers));

    bool single = r.has("single_destination"), multi = r.has("multiple_destinations");
    if (single && multi)
      errors_.add(path, "only one of single_destination, multiple_destinations may be set");
    if (!single && !multi && v.isMap())
      errors_.add(path, "one of single_destination, multiple_destinations is required");
    Value action = mapAt(v);
    if (const Value* s = r.take("single_destination")) {
      MapReader d(*s, r.pathOf("single_destination"), errors_);
      action.set("single", convertDestination(d, *s));
    }
    if (const Value* m = r.take("multiple_destinations"))
      action.set("multi", convertMulti(*m, r.pathOf("multiple_destinations")));
    Value options = mapAt(v);
    moveKey(r, "prefix_rewrite", options, "prefixRewrite");
    if (const Value* ext = r.take("extensions")) {
      const Value* parameters = convertExtensions(*ext, r.pathOf("extensions"), options);
      // Gloo 0.x: extensions.parameters feed the destination function's templates.
      Value* rest = nullptr;
      for (auto& [k, single] : action.map) {
        if (k != "single") continue;
        for (auto& [sk, spec] : single.map)
          if (sk == "destinationSpec" && !spec.map.empty()) rest = &spec.map.front().second;
      }
      if (parameters && rest) rest->set("parameters", *parameters);
      else if (parameters)
        errors_.add(r.pathOf("extensions") + ".parameters",
                    "parameters only apply to a single function destination");
    }
    if (!action.map.empty()) out.set("routeAction", std::move(action));
    if (!options.map.empty()) out.set("options", std::move(options));
    return out;
  }

  Value convertRequestMatcher(const Value& v, const std::string& path) {
    MapReader m(v, path, errors_);
    Value out = mapAt(v);
    size_t given = m.has("path_prefix") + m.has("path_regex") + m.has("path_exact");
    if (given > 1) errors_.add(path, "only one of path_prefix, path_regex, path_exact may be set");
    moveKey(m, "path_prefix", out, "prefix");
    moveKey(m, "path_regex", out, "regex");
    moveKey(m, "path_exact", out, "exact");
    if (given == 0) out.set("prefix", stringAt("/", v));
    if (const Value* h = m.take("headers"))
      out.set("headers", convertNameValues(*h, m.pathOf("headers")));
    if (const Value* q = m.take("query_params"))
      out.set("queryParameters", convertNameValues(*q, m.pathOf("query_params")));
    moveKey(m, "verbs", out, "methods");
    return out;
  }

  // 0.x header / query maps: "" = present, a value containing ".*" = regex, else exact.
  Value convertNameValues(const Value& v, const std::string& path) {
    Value list = listAt(v);
    if (!v.isMap()) {
      errors_.add(path, std::string("expected a map of name: value, got ") + typeName(v.type));
      return list;
    }
    for (const auto& [name, value] : v.map) {
      Value item = mapAt(value);
      item.set("name", stringAt(name, value));
      Value text = asString(value);
      if (!text.isNull() && text.type != Value::Type::String) {
        errors_.add(joinPath(path, name),
                    std::string("expected a string, got ") + typeName(value.type));
        continue;
      }
      if (!text.scalar.empty()) {
        bool regex = text.scalar.find(".*") != std::string::npos;
        item.set("value", std::move(text));
        if (regex) item.set("regex", trueAt(value));
      }
      list.list.push_back(std::move(item));
    }
    return list;
  }

  // CloudEvents 0.1 over HTTP: POST /events with the type in X-Event-Type.
  Value convertEventMatcher(const Value& v, const std::string& path) {
    MapReader e(v, path, errors_);
    Value out = mapAt(v);
    out.set("exact", stringAt("/events", v));
    std::string type;
    const Value* t = e.take("event_type");
    if (!t) {
      errors_.add(e.pathOf("event_type"), "required");
    } else if (readStringValue(*t, e.pathOf("event_type"), errors_, type)) {
      if (type.empty()) errors_.add(e.pathOf("event_type"), "required");
      Value header = mapAt(*t);
      header.set("name", stringAt("x-event-type", *t));
      header.set("value", *t);
      Value headers = listAt(*t);
      headers.list.push_back(std::move(header));
      out.set("headers", std::move(headers));
    }
    return out;
  }

  // {upstream: {name}} | {function: {upstream_name, function_name}} → {upstream: {name}
  // [, destinationSpec: {rest: {functionName}}]}; the namespace is left to default to the
  // virtual service's own. A 0.x function's kind is the upstream's type, which one document does
  // not tell: convertToModern turns the ones on a Lambda upstream of the same file into aws.
  Value convertDestination(MapReader& d, const Value& pos) {
    Value out = mapAt(pos);
    const Value* fn = d.take("function");
    bool function = fn != nullptr;
    if (fn) {
      MapReader f(*fn, d.pathOf("function"), errors_);
      Value ref = mapAt(*fn);
      if (const Value* name = f.take("upstream_name")) ref.set("name", *name);
      else if (fn->isMap()) errors_.add(f.pathOf("upstream_name"), "required");
      out.set("upstream", std::move(ref));
      Value rest = mapAt(*fn);
      if (const Value* name = f.take("function_name")) rest.set("functionName", *name);
      else if (fn->isMap()) errors_.add(f.pathOf("function_name"), "required");
      Value spec = mapAt(*fn);
      spec.set("rest", std::move(rest));
      out.set("destinationSpec", std::move(spec));
    }
    if (const Value* up = function ? nullptr : d.take("upstream")) {
      MapReader u(*up, d.pathOf("upstream"), errors_);
      Value ref = mapAt(*up);
      if (const Value* name = u.take("name"))
        ref.set("name", *name);
      else if (up->isMap())
        errors_.add(u.pathOf("name"), "required");
      out.set("upstream", std::move(ref));
    } else if (!function && pos.isMap()) {
      errors_.add(d.path(), "one of upstream, function is required");
    }
    return out;
  }

  Value convertMulti(const Value& v, const std::string& path) {
    Value multi = mapAt(v);
    Value destinations = listAt(v);
    if (!v.isList()) {
      errors_.add(path, std::string("expected a list, got ") + typeName(v.type));
      return multi;
    }
    for (size_t i = 0; i < v.list.size(); ++i) {
      const Value& item = v.list[i];
      MapReader w(item, indexPath(path, i), errors_);
      Value wd = mapAt(item);
      if (const Value* d = w.take("destination")) {
        MapReader dr(*d, w.pathOf("destination"), errors_);
        wd.set("destination", convertDestination(dr, *d));
      } else if (w.has("upstream") || w.has("function")) {
        wd.set("destination", convertDestination(w, item));  // the embedded (gogoproto) form
      } else if (item.isMap()) {
        errors_.add(w.pathOf("destination"), "required");
      }
      if (const Value* weight = w.take("weight"))
        wd.set("weight", *weight);
      else if (item.isMap())
        errors_.add(w.pathOf("weight"), "required");
      destinations.list.push_back(std::move(wd));
    }
    multi.set("destinations", std::move(destinations));
    return multi;
  }

  // The core route extensions (0.x docs, coreplugins route_extensions); `parameters` is
  // returned for the function destination; any other extension (response_template, ...) is
  // reported by the reader.
  const Value* convertExtensions(const Value& v, const std::string& path, Value& options) {
    MapReader e(v, path, errors_);
    const Value* parameters = e.take("parameters");
    moveKey(e, "timeout", options, "timeout");
    moveKey(e, "host_rewrite", options, "hostRewrite");
    if (const Value* n = e.take("max_retries")) {
      Value retries = mapAt(*n);
      retries.set("retryOn", stringAt("5xx", *n));
      retries.set("numRetries", *n);
      options.set("retries", std::move(retries));
    }
    Value hm = mapAt(v);
    if (const Value* add = e.take("add_request_headers"))
      hm.set("requestHeadersToAdd", convertHeaderValues(*add, e.pathOf("add_request_headers")));
    if (const Value* add = e.take("add_response_headers"))
      hm.set("responseHeadersToAdd", convertHeaderValues(*add, e.pathOf("add_response_headers")));
    moveKey(e, "remove_response_headers", hm, "responseHeadersToRemove");
    if (!hm.map.empty()) options.set("headerManipulation", std::move(hm));
    if (const Value* cors = e.take("cors"))
      options.set("cors", convertCors(*cors, e.pathOf("cors")));
    return parameters;
  }

  // [{key, value, append}] → [{header: {key, value}, append}]
  Value convertHeaderValues(const Value& v, const std::string& path) {
    Value list = listAt(v);
    if (!v.isList()) {
      errors_.add(path, std::string("expected a list, got ") + typeName(v.type));
      return list;
    }
    for (size_t i = 0; i < v.list.size(); ++i) {
      MapReader h(v.list[i], indexPath(path, i), errors_);
      Value option = mapAt(v.list[i]);
      Value header = mapAt(v.list[i]);
      if (const Value* key = h.take("key"))
        header.set("key", *key);
      else if (v.list[i].isMap())
        errors_.add(h.pathOf("key"), "required");
      if (const Value* value = h.take("value")) header.set("value", asString(*value));
      option.set("header", std::move(header));
      moveKey(h, "append", option, "append");
      list.list.push_back(std::move(option));
    }
    return list;
  }

  Value convertCors(const Value& v, const std::string& path) {
    MapReader c(v, path, errors_);
    Value out = mapAt(v);
    moveKey(c, "allow_origin", out, "allowOrigin");
    for (Rename f :
         {Rename{"allow_methods", "allowMethods"}, Rename{"allow_headers", "allowHeaders"},
          Rename{"expose_headers", "exposeHeaders"}})
      if (const Value* s = c.take(f.from)) out.set(f.to, splitCommaList(*s));
    if (const Value* maxAge = c.take("max_age")) out.set("maxAge", convertMaxAge(*maxAge));
    moveKey(c, "allow_credentials", out, "allowCredentials");
    return out;
  }

  // 0.x (Envoy v2) CORS lists are one comma-separated string: "GET, POST".
  static Value splitCommaList(const Value& v) {
    if (v.type != Value::Type::String) return v;
    Value list = listAt(v);
    std::string_view rest = v.scalar;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      while (!item.empty() && item.front() == ' ')
        item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ')
        item.remove_suffix(1);
      if (!item.empty()) list.list.push_back(stringAt(std::string(item), v));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    return list;
  }

  // max_age as a duration ("86400s", "24h") → whole seconds; anything else is left to the
  // modern decoder.
  static Value convertMaxAge(const Value& v) {
    int64_t ms = 0;
    if (v.type == Value::Type::String &&
        v.scalar.find_first_not_of("0123456789") != std::string::npos &&
        parseDurationMs(v.scalar, ms))
      return stringAt(std::to_string((ms + 999) / 1000), v);
    return asString(v);
  }

  Errors& errors_;
  std::string ns_ = kDefaultNamespace;
};

}  // namespace

bool isGloo0xDocument(const Value& doc) {
  return doc.isMap() && !doc.find("apiVersion") && !doc.find("kind") && doc.find("name");
}

Value convertGloo0x(const Value& doc, Errors& errors) {
  if (!isGloo0xDocument(doc)) {
    errors.add("", "not a Gloo 0.x document: expected a map with a top-level name and no "
                   "apiVersion or kind");
    return Value();
  }
  return Converter(errors).convert(doc);
}

Result<Value> convertGloo0x(const Value& doc) {
  Errors errors;
  Value out = convertGloo0x(doc, errors);
  if (!errors.empty()) return Status::error(errors.toString());
  return out;
}

}  // namespace portico::config
