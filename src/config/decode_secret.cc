// decodeSecret: gloo.solo.io/v1 Secret (tls, aws, header, extensions) and the Kubernetes v1
// Secret shapes (kubernetes.io/tls, Opaque with AWS keys, Gloo 0.x's included), plus the
// redaction of their documents.
// No message written here may contain a value: errors name fields and keys only.
#include <cstdint>

#include "config/decode.h"
#include "config/decode_internal.h"
#include "config/field_reader.h"

namespace portico::config {

namespace {

constexpr const char* kRedacted = "<redacted>";

int base64Digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/// Standard base64 (RFC 4648 §4) with padding; whitespace (line breaks) is skipped.
bool decodeBase64(std::string_view in, std::string& out) {
  out.clear();
  uint32_t acc = 0;
  int bits = 0;
  size_t digits = 0, padding = 0;
  for (char c : in) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    int d = base64Digit(c);
    if (d < 0 || padding > 0) return false;  // a foreign character, or data after padding
    acc = (acc << 6) | static_cast<uint32_t>(d);
    bits += 6;
    ++digits;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (digits % 4 == 1 || padding > 2) return false;
  if (padding > 0 && (digits + padding) % 4 != 0) return false;
  return true;
}

// ---- gloo.solo.io/v1 --------------------------------------------------------------------------

void decodeGlooTls(const Value& v, const std::string& path, Secret& out, Errors& errors) {
  MapReader r(v, path, errors);
  r.readString("certChain", out.certChain);
  r.readString("privateKey", out.privateKey);
  r.readString("rootCa", out.rootCa);
  if (out.certChain.empty() != out.privateKey.empty())
    errors.add(path, "certChain and privateKey go together: set both, or neither (rootCa only)");
  else if (out.certChain.empty() && out.rootCa.empty() && v.isMap())
    errors.add(path, "one of certChain with privateKey, or rootCa, is required");
}

void decodeGlooAws(const Value& v, const std::string& path, Secret& out, Errors& errors) {
  MapReader r(v, path, errors);
  for (const char* wrong : {"accessKeyId", "secretAccessKey", "access_key", "secret_key"}) {
    if (r.has(wrong)) {
      r.ignore(wrong);
      errors.add(r.pathOf(wrong), std::string("unknown field: Gloo's AwsSecret fields are accessKey, "
                                              "secretKey and sessionToken"));
    }
  }
  r.requireString("accessKey", out.accessKey);
  r.requireString("secretKey", out.secretKey);
  r.readString("sessionToken", out.sessionToken);
}

void decodeGlooSecret(const Value& spec, const std::string& path, Secret& out, Errors& errors) {
  MapReader s(spec, path, errors);
  constexpr const char* kKinds[] = {"tls", "aws", "header", "extensions", "azure", "oauth", "apiKey"};
  size_t kinds = 0;
  for (const char* k : kKinds) kinds += s.has(k);
  if (kinds != 1 && spec.isMap()) {
    errors.add(path, std::string(kinds == 0 ? "one" : "only one") +
                         " of tls, aws, header, extensions is required");
  }
  if (const Value* tls = s.take("tls")) {
    out.type = Secret::Type::Tls;
    decodeGlooTls(*tls, s.pathOf("tls"), out, errors);
  } else if (const Value* aws = s.take("aws")) {
    out.type = Secret::Type::Aws;
    decodeGlooAws(*aws, s.pathOf("aws"), out, errors);
  } else if (const Value* header = s.take("header")) {
    out.type = Secret::Type::Header;
    MapReader h(*header, s.pathOf("header"), errors);
    h.readStringMap("headers", out.values);
  } else if (const Value* ext = s.take("extensions")) {
    out.type = Secret::Type::Extensions;
    MapReader e(*ext, s.pathOf("extensions"), errors);
    if (const Value* configs = e.take("configs")) {
      if (detail::expectMap(*configs, e.pathOf("configs"), errors))
        for (const auto& [name, value] : configs->map) out.values.emplace_back(name, toJson(value));
    }
  }
  // Extra kinds were reported above; azure, oauth, apiKey are left unread: not supported.
  for (const char* k : {"tls", "aws", "header", "extensions"}) s.ignore(k);
}

// ---- Kubernetes v1 ----------------------------------------------------------------------------

/// data (base64) merged with stringData (plain, wins on a clash, as in Kubernetes).
void readKubeData(MapReader& root, std::vector<std::pair<std::string, std::string>>& out,
                  Errors& errors) {
  if (const Value* data = root.take("data")) {
    std::string path = root.pathOf("data");
    if (detail::expectMap(*data, path, errors)) {
      for (const auto& [key, v] : data->map) {
        std::string itemPath = joinPath(path, key);
        std::string text, bytes;
        if (!readStringValue(v, itemPath, errors, text)) continue;
        if (!decodeBase64(text, bytes)) {
          errors.add(itemPath, "invalid base64 (Kubernetes data values are base64; use stringData "
                               "for plain text)");
          continue;
        }
        out.emplace_back(key, std::move(bytes));
      }
    }
  }
  std::vector<std::pair<std::string, std::string>> plain;
  if (root.readStringMap("stringData", plain)) {
    for (auto& [key, value] : plain) {
      bool replaced = false;
      for (auto& item : out)
        if (item.first == key) {
          item.second = value;
          replaced = true;
        }
      if (!replaced) out.emplace_back(key, std::move(value));
    }
  }
}

const std::string* findKey(const std::vector<std::pair<std::string, std::string>>& items,
                           std::string_view key) {
  for (const auto& item : items)
    if (item.first == key) return &item.second;
  return nullptr;
}

void decodeKubeSecret(MapReader& root, Secret& out, Errors& errors) {
  std::string type = "Opaque";
  root.readString("type", type);
  root.ignore("immutable");
  std::vector<std::pair<std::string, std::string>> data;
  readKubeData(root, data, errors);
  auto get = [&](std::string_view key, std::string& field) {
    if (const std::string* v = findKey(data, key)) field = *v;
  };
  bool hasTls = findKey(data, "tls.crt") || findKey(data, "tls.key");
  if (type == "kubernetes.io/tls" || (type == "Opaque" && hasTls)) {
    out.type = Secret::Type::Tls;
    get("tls.crt", out.certChain);
    get("tls.key", out.privateKey);
    get("ca.crt", out.rootCa);
    if (out.certChain.empty()) errors.add(joinPath("data", "tls.crt"), "required");
    if (out.privateKey.empty()) errors.add(joinPath("data", "tls.key"), "required");
  } else if (type == "Opaque") {
    // glooctl (Gloo Edge) writes the aws_* keys; Gloo 0.x's aws plugin read access_key and
    // secret_key (gloo-api.md §1.5), with no session token.
    bool edge = findKey(data, "aws_access_key_id") || findKey(data, "aws_secret_access_key");
    bool gloo0x = !edge && (findKey(data, "access_key") || findKey(data, "secret_key"));
    if (edge || gloo0x) {
      const char* accessKey = edge ? "aws_access_key_id" : "access_key";
      const char* secretKey = edge ? "aws_secret_access_key" : "secret_key";
      out.type = Secret::Type::Aws;
      get(accessKey, out.accessKey);
      get(secretKey, out.secretKey);
      if (edge) get("aws_session_token", out.sessionToken);
      if (out.accessKey.empty()) errors.add(joinPath("data", accessKey), "required");
      if (out.secretKey.empty()) errors.add(joinPath("data", secretKey), "required");
    } else {
      out.type = Secret::Type::Extensions;  // opaque key/values: kept for plugins to look up
      out.values = std::move(data);
    }
  } else {
    errors.add("type", "Secret type " + jsonQuote(type) +
                           " is not supported by Portico: use kubernetes.io/tls or Opaque");
  }
}

}  // namespace

const char* toString(Secret::Type t) {
  switch (t) {
  case Secret::Type::Tls: return "tls";
  case Secret::Type::Aws: return "aws";
  case Secret::Type::Header: return "header";
  case Secret::Type::Extensions: return "extensions";
  }
  return "?";
}

Secret decodeSecret(const RawObject& obj, Errors& errors) {
  Secret secret;
  secret.meta = obj.meta;
  MapReader root(obj.doc, "", errors);
  for (const char* key : {"apiVersion", "kind", "metadata", "status"}) root.ignore(key);
  if (obj.apiVersion == "v1") {
    decodeKubeSecret(root, secret, errors);
    return secret;
  }
  // gloo.solo.io/v1: under spec like every Portico object, or at the root as Gloo's own file
  // and Vault secret stores write them.
  if (const Value* spec = root.take("spec")) {
    decodeGlooSecret(*spec, "spec", secret, errors);
    return secret;
  }
  Value rest = Value::makeMap();
  for (const auto& [key, value] : obj.doc.map) {
    if (key == "apiVersion" || key == "kind" || key == "metadata" || key == "status") continue;
    root.ignore(key);
    rest.set(key, value);
  }
  decodeGlooSecret(rest, "", secret, errors);
  return secret;
}

Value redactSecretDocument(const Value& doc) {
  struct Redactor {
    static void scrub(Value& v) {
      if (v.isScalar()) {
        v.type = Value::Type::String;
        v.scalar = kRedacted;
      }
      for (Value& item : v.list) scrub(item);
      for (auto& item : v.map) scrub(item.second);
    }
  };
  Value out = doc;
  for (auto& [key, value] : out.map) {
    if (key == "apiVersion" || key == "kind" || key == "metadata" || key == "type") continue;
    Redactor::scrub(value);
  }
  return out;
}

}  // namespace portico::config
