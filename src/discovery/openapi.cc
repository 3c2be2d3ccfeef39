#include "discovery/openapi.h"

#include <algorithm>
#include <set>

#include "config/decode.h"

namespace portico::discovery {

namespace {

using config::Value;

constexpr int kMaxSchemaDepth = 8;           // nested objects in a body template
constexpr int kMaxRefHops = 32;              // $ref → $ref → ... chains
constexpr size_t kMaxBodyTemplate = 64 << 10;  // bytes of one body template
constexpr size_t kMaxBodyFields = 2000;        // fields of one body template, nested included
constexpr const char* kMethods[] = {"get",  "put",  "post",  "delete",
                                    "options", "head", "patch", "trace"};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

const std::string* stringAt(const Value* v, std::string_view key) {
  if (!v) return nullptr;
  const Value* f = v->find(key);
  return f && f->isScalar() ? &f->scalar : nullptr;
}

bool isHeaderToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

/// A template string literal: "..." with quotes and backslashes escaped.
std::string templateLiteral(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

/// Text that must reach the output as it is: '{' (which could open a tag) and "##" (a line
/// statement) are written as expressions printing them.
std::string literalText(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '{' || (s[i] == '#' && i + 1 < s.size() && s[i + 1] == '#'))
      out += std::string("{{ \"") + s[i] + "\" }}";
    else
      out.push_back(s[i]);
  }
  return out;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Local $ref resolution (JSON pointers into the document itself) with a hop limit, so that
/// a ref pointing at itself or a loop of refs ends instead of spinning.
class Resolver {
public:
  explicit Resolver(const Value& root) : root_(root) {}

  /// Follows $ref until a node without one. nullptr (and `why`) when a ref is not local,
  /// does not resolve or loops.
  const Value* deref(const Value* v, std::string& why) const {
    for (int hop = 0; v && v->isMap(); ++hop) {
      const std::string* ref = stringAt(v, "$ref");
      if (!ref) return v;
      if (hop >= kMaxRefHops) {
        why = "$ref loop at " + *ref;
        return nullptr;
      }
      v = pointer(*ref, why);
    }
    return v;
  }

private:
  const Value* pointer(const std::string& ref, std::string& why) const {
    if (ref.rfind("#", 0) != 0) {
      why = "$ref " + ref + " is not local (only #/... references are resolved)";
      return nullptr;
    }
    const Value* at = &root_;
    size_t i = 1;
    while (i < ref.size()) {
      if (ref[i] != '/') break;
      size_t end = ref.find('/', i + 1);
      if (end == std::string::npos) end = ref.size();
      std::string token;
      for (size_t k = i + 1; k < end; ++k) {
        char c = ref[k];
        if (c == '~' && k + 1 < end && (ref[k + 1] == '0' || ref[k + 1] == '1')) {
          token.push_back(ref[++k] == '0' ? '~' : '/');
        } else if (c == '%' && k + 2 < end && hexValue(ref[k + 1]) >= 0 && hexValue(ref[k + 2]) >= 0) {
          token.push_back(static_cast<char>(hexValue(ref[k + 1]) * 16 + hexValue(ref[k + 2])));
          k += 2;
        } else {
          token.push_back(c);
        }
      }
      const Value* next = nullptr;
      if (at->isMap()) {
        next = at->find(token);
      } else if (at->isList()) {
        size_t index = 0;
        bool numeric = !token.empty() && token.size() < 10;
        for (char c : token) {
          numeric = numeric && c >= '0' && c <= '9';
          if (numeric) index = index * 10 + static_cast<size_t>(c - '0');
        }
        if (numeric && index < at->list.size()) next = &at->list[index];
      }
      if (!next) {
        why = "$ref " + ref + " does not resolve";
        return nullptr;
      }
      at = next;
      i = end;
    }
    return at;
  }

  const Value& root_;
};

bool schemaIsString(const Value* schema) {
  const Value* type = schema ? schema->find("type") : nullptr;
  if (!type) return false;
  if (type->isScalar()) return type->scalar == "string";
  if (type->isList())  // OpenAPI 3.1: type: [string, "null"]
    for (const Value& t : type->list)
      if (t.isScalar() && t.scalar == "string") return true;
  return false;
}

/// The properties of an object schema in document order, allOf members merged (the
/// OpenAPI 3 petstore's Pet is allOf[NewPet, {id}]). `seen` holds the schemas being expanded.
void collectProperties(const Value* schema, const Resolver& resolver, std::set<const Value*>& seen,
                       std::vector<std::pair<std::string, const Value*>>& out, int depth) {
  if (!schema || depth > kMaxRefHops || !seen.insert(schema).second) return;
  if (const Value* props = schema->find("properties"); props && props->isMap()) {
    for (const auto& entry : props->map) {  // no structured binding: clang 14 lambdas
      const std::string& name = entry.first;
      bool dup = std::any_of(out.begin(), out.end(), [&](const auto& p) { return p.first == name; });
      if (!dup) out.emplace_back(name, &entry.second);
    }
  }
  if (const Value* all = schema->find("allOf"); all && all->isList()) {
    for (const Value& member : all->list) {
      std::string why;
      collectProperties(resolver.deref(&member, why), resolver, seen, out, depth + 1);
    }
  }
  seen.erase(schema);
}

/// Gloo's JSON body template for an object schema: one field per property, sorted by name;
/// strings quoted (`"name": "{{ default(name, "")}}"`), other values bare
/// (`"id": {{ default(id, "") }}`), nested objects expanded with dotted variables
/// (`category.name`). A schema already being expanded (a cycle) is not expanded again.
std::string bodyTemplate(const Value* schema, const std::string& prefix, const Resolver& resolver,
                         std::set<const Value*>& stack, int depth, size_t& budget) {
  std::vector<std::pair<std::string, const Value*>> props;
  std::set<const Value*> seen;
  collectProperties(schema, resolver, seen, props, 0);
  std::vector<std::string> fields;
  stack.insert(schema);
  for (const auto& [name, raw] : props) {
    if (budget == 0) break;  // wide and deep schemas: the caller sees the exhausted budget
    --budget;
    std::string why;
    const Value* prop = resolver.deref(raw, why);
    std::string var = prefix.empty() ? templateVariable(name) : prefix + "." + templateVariable(name);
    std::string def = "\"\"";
    if (const std::string* d = stringAt(prop, "default")) def = templateLiteral(*d);
    std::string key = literalText(config::jsonQuote(name));
    std::vector<std::pair<std::string, const Value*>> nested;
    std::set<const Value*> nestedSeen;
    if (prop && depth < kMaxSchemaDepth && !stack.count(prop))
      collectProperties(prop, resolver, nestedSeen, nested, 0);
    if (!nested.empty()) {
      fields.push_back(key + ": " + bodyTemplate(prop, var, resolver, stack, depth + 1, budget));
    } else if (schemaIsString(prop)) {
      fields.push_back(key + ": \"{{ default(" + var + ", " + def + ")}}\"");
    } else {
      fields.push_back(key + ": {{ default(" + var + ", " + def + ") }}");
    }
  }
  stack.erase(schema);
  std::sort(fields.begin(), fields.end());
  std::string out = "{";
  for (size_t i = 0; i < fields.size(); ++i) out += (i ? "," : "") + fields[i];
  return out + "}";
}

Value textNode(std::string text) {
  Value v = Value::makeMap();
  v.set("text", Value::makeString(std::move(text)));
  return v;
}

bool isJsonMediaType(std::string_view type) {
  std::string t = lower(type.substr(0, type.find(';')));
  return t == "application/json" || t == "*/*" ||
         (t.size() > 5 && t.compare(t.size() - 5, 5, "+json") == 0);
}

struct Parameter {
  std::string name;
  std::string in;
  const Value* schema = nullptr;  ///< body (2.0) schema
};

/// Path-item parameters overridden by the operation's (same name and location).
std::vector<Parameter> parametersOf(const Value* pathItem, const Value* op, const Resolver& resolver,
                                    const std::string& where, std::vector<std::string>& warnings) {
  std::vector<Parameter> out;
  for (const Value* owner : {pathItem, op}) {
    const Value* list = owner ? owner->find("parameters") : nullptr;
    if (!list || !list->isList()) continue;
    for (const Value& raw : list->list) {
      std::string why;
      const Value* p = resolver.deref(&raw, why);
      if (!p) {
        warnings.push_back(where + ": parameter skipped: " + why);
        continue;
      }
      const std::string* name = stringAt(p, "name");
      const std::string* in = stringAt(p, "in");
      if (!name || !in) continue;
      Parameter param{*name, *in, nullptr};
      if (const Value* s = p->find("schema")) param.schema = resolver.deref(s, why);
      std::erase_if(out, [&](const Parameter& e) { return e.name == param.name && e.in == param.in; });
      out.push_back(std::move(param));
    }
  }
  return out;
}

std::string basePathOf(const Value& root, bool swagger2, std::vector<std::string>& warnings) {
  std::string base;
  if (swagger2) {
    if (const std::string* b = stringAt(&root, "basePath")) base = *b;
  } else if (const Value* servers = root.find("servers"); servers && servers->isList() &&
                                                          !servers->list.empty()) {
    const std::string* url = stringAt(&servers->list[0], "url");
    if (url) {
      std::string u = *url;
      size_t scheme = u.find("://");
      if (scheme != std::string::npos) {
        size_t slash = u.find('/', scheme + 3);
        u = slash == std::string::npos ? "" : u.substr(slash);
      }
      if (u.find('{') != std::string::npos) {
        warnings.push_back("servers[0].url has variables: its path is not used as a base path");
      } else if (u.empty() || u[0] == '/') {
        base = u;
      }
    }
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

}  // namespace

std::string templateVariable(std::string_view parameterName) {
  std::string out;
  for (char c : parameterName) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    out.push_back(ok ? c : '_');
  }
  if (out.empty() || !((out[0] >= 'a' && out[0] <= 'z') || (out[0] >= 'A' && out[0] <= 'Z') ||
                       out[0] == '_'))
    out.insert(out.begin(), '_');
  static const std::set<std::string> kReserved = {"and", "or", "not", "in", "true", "false",
                                                  "null", "loop"};
  if (kReserved.count(out)) out.push_back('_');
  return out;
}

Result<OpenApiFunctions> functionsFromOpenApi(std::string_view text) {
  if (text.size() > kMaxOpenApiBytes)
    return Status::error("document larger than " + std::to_string(kMaxOpenApiBytes) + " bytes");
  auto docs = config::parseYaml(text, "document");
  if (!docs.ok()) return Status::error("not JSON or YAML: " + docs.error());
  if (docs->empty()) return Status::error("empty document");
  const Value& root = docs->front().root;
  if (!root.isMap()) return Status::error("not an OpenAPI document: expected a map at the top");

  OpenApiFunctions result;
  bool swagger2 = false;
  if (const std::string* v = stringAt(&root, "swagger"); v && v->rfind("2.", 0) == 0) {
    swagger2 = true;
    result.version = *v;
  } else if (const std::string* v3 = stringAt(&root, "openapi"); v3 && v3->rfind("3.", 0) == 0) {
    result.version = *v3;
  } else {
    return Status::error("not a Swagger 2.0 or OpenAPI 3.x document (no \"swagger: 2.0\" or "
                         "\"openapi: 3.x\" field)");
  }
  const Value* paths = root.find("paths");
  if (paths && !paths->isMap() && !paths->isNull())
    return Status::error("paths: expected a map");
  Resolver resolver(root);
  std::string base = basePathOf(root, swagger2, result.warnings);
  std::vector<std::string> topConsumes;
  if (const Value* c = root.find("consumes"); c && c->isList())
    for (const Value& t : c->list) topConsumes.push_back(t.scalar);

  std::set<std::string> names;
  for (const auto& [path, rawItem] : paths ? paths->map : std::vector<std::pair<std::string, Value>>{}) {
    std::string why;
    const Value* item = resolver.deref(&rawItem, why);
    if (!item || !item->isMap()) {
      result.warnings.push_back(path + ": skipped: " + (why.empty() ? "not a map" : why));
      continue;
    }
    for (const char* method : kMethods) {
      const Value* op = item->find(method);
      if (!op || !op->isMap()) continue;
      std::string where = upper(method) + " " + path;
      std::vector<Parameter> params = parametersOf(item, op, resolver, where, result.warnings);

      // :path — path parameters become `{{ default(p, "") }}`, query parameters are appended.
      std::string pathTemplate, literal;
      std::string full = base + path;
      for (size_t i = 0; i < full.size(); ++i) {
        size_t close = full[i] == '{' ? full.find('}', i) : std::string::npos;
        if (close == std::string::npos) {
          literal.push_back(full[i]);
          continue;
        }
        pathTemplate += literalText(literal) + "{{ default(" +
                        templateVariable(full.substr(i + 1, close - i - 1)) + ", \"\") }}";
        literal.clear();
        i = close;
      }
      pathTemplate += literalText(literal);
      std::string query;
      Value headers = Value::makeMap();
      headers.set(":method", textNode(upper(method)));
      std::vector<std::pair<std::string, std::string>> headerParams;
      const Value* bodySchema = nullptr;
      bool hasBody = false, jsonBody = true;
      for (const Parameter& p : params) {
        std::string var = templateVariable(p.name);
        if (p.in == "query") {
          query += (query.empty() ? "?" : "&") + literalText(p.name) + "={{default(" + var + ", \"\")}}";
        } else if (p.in == "header") {
          std::string h = lower(p.name);
          if (!isHeaderToken(h) || h == "content-length" || h == "transfer-encoding" ||
              h == "connection" || h == "host") {
            result.warnings.push_back(where + ": header parameter " + p.name + " skipped");
            continue;
          }
          headerParams.emplace_back(h, "{{default(" + var + ", \"\")}}");
        } else if (p.in == "body") {
          hasBody = true;
          bodySchema = p.schema;
        } else if (p.in == "formData") {
          result.warnings.push_back(where + ": formData parameter " + p.name +
                                    " not supported (the body passes through)");
          hasBody = true;
          jsonBody = false;
        }
        // "path" is in the path template; "cookie" is left to the client's Cookie header.
      }
      if (swagger2 && hasBody) {
        const Value* consumes = op->find("consumes");
        std::vector<std::string> types = topConsumes;
        if (consumes && consumes->isList()) {
          types.clear();
          for (const Value& t : consumes->list) types.push_back(t.scalar);
        }
        if (!types.empty() &&
            std::none_of(types.begin(), types.end(), [](const auto& t) { return isJsonMediaType(t); }))
          jsonBody = false;
      }
      if (const Value* rb = op->find("requestBody")) {  // OpenAPI 3
        const Value* body = resolver.deref(rb, why);
        const Value* content = body ? body->find("content") : nullptr;
        hasBody = true;
        jsonBody = false;
        if (content && content->isMap()) {
          for (const auto& [type, media] : content->map) {
            if (!isJsonMediaType(type)) continue;
            jsonBody = true;
            if (const Value* s = media.find("schema")) bodySchema = resolver.deref(s, why);
            break;
          }
        }
      }

      Value tmpl = Value::makeMap();
      std::string bodyText;
      bool bodyTemplated = false;
      if (hasBody && jsonBody && bodySchema) {
        std::set<const Value*> stack;
        size_t budget = kMaxBodyFields;
        bodyText = bodyTemplate(bodySchema, "", resolver, stack, 0, budget);
        bodyTemplated = bodyText != "{}";
        if (budget == 0 || bodyText.size() > kMaxBodyTemplate) {
          result.warnings.push_back(where + ": body template too large; the body passes through");
          bodyTemplated = false;
        }
      }
      headers.set(":path", textNode(pathTemplate + query));
      if (bodyTemplated) {
        headers.set("content-type", textNode("application/json"));
      } else if (!hasBody) {
        headers.set("content-type", textNode(""));  // renders empty: removed, as Gloo does
      }
      for (auto& [h, t] : headerParams) headers.set(h, textNode(t));
      tmpl.set("headers", std::move(headers));
      if (bodyTemplated) {
        tmpl.set("body", textNode(bodyText));
      } else if (hasBody) {
        tmpl.set("passthrough", Value::makeMap());
      } else {
        tmpl.set("body", textNode(""));  // an operation without a body sends none
      }

      std::string name;
      if (const std::string* id = stringAt(op, "operationId"); id && !id->empty()) {
        name = *id;
      } else {
        name = lower(method) + path;
        std::replace(name.begin(), name.end(), '/', '.');
      }
      if (!names.insert(name).second) {
        result.warnings.push_back(where + ": function name " + name + " already used; skipped");
        continue;
      }
      result.functions.push_back({std::move(name), std::move(tmpl)});
    }
  }
  std::sort(result.functions.begin(), result.functions.end(),
            [](const DiscoveredFunction& a, const DiscoveredFunction& b) { return a.name < b.name; });
  return result;
}

}  // namespace portico::discovery
