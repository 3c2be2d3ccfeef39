// Decoding: YAML text → Value documents → RawObject → typed objects, with every problem
// reported as a field path and a message. Unknown or unimplemented fields are errors.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/errors.h"
#include "config/model.h"
#include "config/value.h"

namespace portico::config {

/// One parsed YAML document from a file (or a stream of several, separated by ---).
struct Document {
  Value root;
  std::string source;  ///< "path/file.yaml:LINE", LINE = the document's first content line
};

/// Parses every document in `text`. A syntax error fails the whole text with
/// "<sourceName>:<line>:<col>: <yaml-cpp message>". Empty documents are skipped.
Result<std::vector<Document>> parseYaml(std::string_view text, std::string_view sourceName);

/// A byte range [begin, end) of a YAML stream holding one chunk between "---" marker lines
/// (a chunk that starts with a marker includes it; the first chunk may hold only comments).
struct TextSpan {
  size_t begin = 0;
  size_t end = 0;
};
/// Splits YAML text at document markers ("---" at the start of a line) without parsing it, so
/// that one document of a multi-document file can be replaced or removed while the other
/// documents keep their text and comments. Every byte of `text` is in exactly one span.
std::vector<TextSpan> splitYamlDocuments(std::string_view text);

/// Parses JSON text into one Value (JSON is YAML; used for admin API bodies and etcd values).
Result<Value> parseJson(std::string_view text);

/// Reads apiVersion, kind and metadata. Fails when they are missing or malformed
/// (e.g. "metadata.name: required"). metadata.namespace defaults to kDefaultNamespace.
/// A Gloo 0.x document (isGloo0xDocument) is first converted with convertGloo0x. It fails only
/// when the object's kind or identity cannot be told; other conversion problems are kept in
/// RawObject::conversionErrors, which the typed decoders report. Takes `doc` by value: a
/// caller done with it moves it in, and its tree becomes RawObject::doc without a copy.
Result<RawObject> toRawObject(Document doc);

/// metadata.name rule (Kubernetes DNS-1123 subdomain): lowercase letters, digits, '-' and
/// '.', starting and ending with a letter or digit, at most 253 characters.
bool isValidObjectName(std::string_view name);
/// metadata.namespace rule (DNS-1123 label): lowercase letters, digits and '-', starting and
/// ending with a letter or digit, at most 63 characters. Namespaces become directory names.
bool isValidNamespace(std::string_view ns);

/// Kinds Portico knows and their apiVersions: gloo.solo.io/v1 Upstream, UpstreamGroup and
/// Secret, gateway.solo.io/v1 VirtualService, RouteTable and Gateway, v1 (Kubernetes) Secret.
bool isKnownKind(std::string_view apiVersion, std::string_view kind);

/// Typed decoders. On failure they append to `errors` (path from the document root) and the
/// returned value must not be used. They never look at other objects (references are checked
/// by the controller). An object with conversionErrors gets exactly those errors (the rest of
/// it is not decoded: it would only report what the conversion had to leave out).
VirtualService decodeVirtualService(const RawObject& obj, Errors& errors);
Gateway decodeGateway(const RawObject& obj, Errors& errors);
/// Decodes the upstream's common fields and picks out the type oneof (spec.static, ...);
/// the type's own fields are decoded by its plugin.
Upstream decodeUpstream(const RawObject& obj, Errors& errors);
/// gateway.solo.io/v1 RouteTable: spec.routes (paths "spec.routes[i]..."), spec.weight.
RouteTable decodeRouteTable(const RawObject& obj, Errors& errors);
/// gloo.solo.io/v1 UpstreamGroup: spec.destinations[{destination: {upstream}, weight}].
UpstreamGroup decodeUpstreamGroup(const RawObject& obj, Errors& errors);
/// gloo.solo.io/v1 Secret (spec, or the document root as Gloo's file store writes it: exactly
/// one of tls{certChain, privateKey, rootCa}, aws{accessKey, secretKey, sessionToken},
/// header{headers}, extensions{configs}) or Kubernetes v1 Secret (type kubernetes.io/tls with
/// data/stringData tls.crt, tls.key, ca.crt; Opaque with aws_access_key_id,
/// aws_secret_access_key, aws_session_token; data is base64). Errors never quote a value.
/// PEM contents are checked by the controller (OpenSSL), not here.
Secret decodeSecret(const RawObject& obj, Errors& errors);
/// A Secret's document with every value below its identity (apiVersion, kind, metadata, type)
/// replaced by "<redacted>": what /config_dump shows.
Value redactSecretDocument(const Value& doc);

/// A Gloo 0.x (2018) document: a map with a top-level `name` and no apiVersion or kind.
bool isGloo0xDocument(const Value& doc);
/// Converts a Gloo 0.x Upstream (`type`) or VirtualService (`routes`/`domains`) into the
/// modern document (apiVersion, kind, metadata, spec) the regular decoders read. Nodes keep
/// the source positions of the 0.x nodes they come from. What has no modern equivalent in
/// Portico is reported with its 0.x path ("functions: field not supported by Portico yet",
/// "routes[1].single_destination.function: ..."). With errors, the result still holds the
/// identity (apiVersion, kind, metadata) when it could be told, but its spec is incomplete.
Value convertGloo0x(const Value& doc, Errors& errors);
/// The same, with every problem joined into one error ("path: problem; path: problem").
Result<Value> convertGloo0x(const Value& doc);
/// Parses every document of `text` and returns the modern YAML: Gloo 0.x documents converted
/// (and re-emitted by toYaml), others passed through as written; documents joined by "---\n".
/// Fails on a YAML syntax error or when a 0.x document cannot be converted
/// ("<sourceName>:<line>: <problems>", one line per document).
Result<std::string> convertToModern(std::string_view text, std::string_view sourceName);

/// Parses a protobuf-JSON / Go duration ("15s", "0.5s", "250ms", "1m", "1h30m") into ms.
bool parseDurationMs(std::string_view text, int64_t& out);

/// Serializes a Value as YAML (block style) / compact JSON (for the admin API and the store).
std::string toYaml(const Value& v);
std::string toJson(const Value& v);
/// JSON string literal with escapes, quotes included.
std::string jsonQuote(std::string_view s);

}  // namespace portico::config
