// toRawObject and object identity: apiVersion/kind/metadata checks shared by every kind, plus
// ObjectKey::display and ObjectStatus state names.
#include <cctype>

#include "config/decode.h"
#include "config/field_reader.h"
#include "config/object_status.h"

namespace portico::config {

namespace {

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool isDnsLabel(std::string_view s, size_t maxLen) {
  if (s.empty() || s.size() > maxLen) return false;
  if (!isLowerAlnum(s.front()) || !isLowerAlnum(s.back())) return false;
  for (char c : s)
    if (!isLowerAlnum(c) && c != '-') return false;
  return true;
}

// Kubernetes metadata fields that carry no meaning for Portico: accepted so that objects
// exported with `kubectl get -o yaml` load unchanged.
constexpr std::string_view kIgnoredMetadata[] = {
    "annotations",   "uid",        "generation", "creationTimestamp", "ownerReferences",
    "managedFields", "finalizers", "selfLink",   "deletionTimestamp", "deletionGracePeriodSeconds",
};

/// Marks a document converted from Gloo 0.x, for what only such objects get: the route
/// translator reads a 0.x function destination on an aws upstream as its Lambda (a 0.x
/// destination does not say its function's kind). An annotation, so that it survives the
/// store and the admin API; the controller's kGloo0xAnnotation (route_translator.h) is the
/// same text. `portico convert` output (convertGloo0x alone) does not carry it.
void markConvertedFromGloo0x(Value& doc) {
  for (auto& [key, meta] : doc.map) {
    if (key != "metadata" || !meta.isMap()) continue;
    const Value* existing = meta.find("annotations");
    Value annotations = existing && existing->isMap() ? *existing : Value::makeMap();
    annotations.set("portico.io/converted-from", Value::makeString("gloo-0.x"));
    meta.set("annotations", std::move(annotations));
  }
}

}  // namespace

bool isValidObjectName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    std::string_view label =
        name.substr(start, dot == std::string_view::npos ? name.npos : dot - start);
    if (!isDnsLabel(label, 253)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool isValidNamespace(std::string_view ns) { return isDnsLabel(ns, 63); }

Result<RawObject> toRawObject(Document doc) {
  if (isGloo0xDocument(doc.root)) {
    // Converted here, below every reader, so that the store, the decoders, the statuses and the
    // controller see only modern objects. What could not be converted travels with the object,
    // which its decoder then rejects by name, instead of failing the whole file.
    Errors errors;
    Value modern = convertGloo0x(doc.root, errors);
    if (!modern.find("kind")) return Status::error(errors.toString());  // no identity
    Result<RawObject> obj = toRawObject(Document{std::move(modern), std::move(doc.source)});
    if (!obj.ok()) {
      if (errors.empty()) return obj;
      return Status::error(obj.error() + "; " + errors.toString());
    }
    obj->conversionErrors = errors.items();
    markConvertedFromGloo0x(obj->doc);
    return obj;
  }
  const Value& root = doc.root;
  if (!root.isMap())
    return Status::error(std::string("expected a map with apiVersion, kind and metadata, got ") +
                         typeName(root.type));
  Errors errors;
  RawObject obj;
  auto requiredString = [&](const char* key, std::string& out) {
    const Value* v = root.find(key);
    if (!v || v->isNull()) {
      errors.add(key, "required");
      return;
    }
    if (readStringValue(*v, key, errors, out) && out.empty()) errors.add(key, "required");
  };
  requiredString("apiVersion", obj.apiVersion);
  requiredString("kind", obj.kind);

  const Value* metadata = root.find("metadata");
  if (!metadata || metadata->isNull()) {
    errors.add("metadata", "required");
  } else if (!metadata->isMap()) {
    errors.add("metadata", std::string("expected a map, got ") + typeName(metadata->type));
  } else {
    MapReader meta(*metadata, "metadata", errors);
    if (meta.requireString("name", obj.meta.name) && !isValidObjectName(obj.meta.name)) {
      errors.add("metadata.name",
                 "invalid name " + jsonQuote(obj.meta.name) +
                     ": use lowercase letters, digits, '-' and '.', starting and ending with a "
                     "letter or digit, at most 253 characters");
    }
    obj.meta.ns = kDefaultNamespace;
    std::string ns;
    if (meta.readString("namespace", ns)) {
      if (isValidNamespace(ns)) {
        obj.meta.ns = ns;
      } else {
        errors.add("metadata.namespace",
                   "invalid namespace " + jsonQuote(ns) +
                       ": use lowercase letters, digits and '-', starting and ending with a "
                       "letter or digit, at most 63 characters");
      }
    }
    meta.readStringMap("labels", obj.meta.labels);
    meta.readString("resourceVersion", obj.meta.resourceVersion);
    for (std::string_view key : kIgnoredMetadata)
      meta.ignore(key);
  }
  if (!errors.empty()) return Status::error(errors.toString());
  obj.doc = std::move(doc.root);  // `root` (a reference to it) is not read after this
  obj.source = std::move(doc.source);
  return obj;
}

bool isKnownKind(std::string_view apiVersion, std::string_view kind) {
  if (apiVersion == "gloo.solo.io/v1")
    return kind == "Upstream" || kind == "UpstreamGroup" || kind == "Secret" || kind == "Settings";
  if (apiVersion == "v1") return kind == "Secret";  // Kubernetes Secrets load as they are
  if (apiVersion == "gateway.solo.io/v1")
    return kind == "VirtualService" || kind == "Gateway" || kind == "RouteTable";
  return false;
}

std::string ObjectKey::display() const {
  std::string out;
  out.reserve(kind.size() + name.size() + ns.size() + 2);
  for (char c : kind)
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  out.push_back(' ');
  out.append(name);
  out.push_back('.');
  out.append(ns);
  return out;
}

const char* toString(ObjectStatus::State s) {
  switch (s) {
  case ObjectStatus::State::Pending: return "Pending";
  case ObjectStatus::State::Accepted: return "Accepted";
  case ObjectStatus::State::Rejected: return "Rejected";
  case ObjectStatus::State::Warning: return "Warning";
  }
  return "Unknown";
}

}  // namespace portico::config
