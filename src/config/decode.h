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
Result<RawObject> toRawObject(const Document& doc);

/// metadata.name rule (Kubernetes DNS-1123 subdomain): lowercase letters, digits, '-' and
/// '.', starting and ending with a letter or digit, at most 253 characters.
bool isValidObjectName(std::string_view name);
/// metadata.namespace rule (DNS-1123 label): lowercase letters, digits and '-', starting and
/// ending with a letter or digit, at most 63 characters. Namespaces become directory names.
bool isValidNamespace(std::string_view ns);

/// Kinds Portico knows ("Upstream", "VirtualService", "Gateway") and their apiVersions.
bool isKnownKind(std::string_view apiVersion, std::string_view kind);

/// Typed decoders. On failure they append to `errors` (path from the document root) and the
/// returned value must not be used. They never look at other objects (references are checked
/// by the controller).
VirtualService decodeVirtualService(const RawObject& obj, Errors& errors);
Gateway decodeGateway(const RawObject& obj, Errors& errors);
/// Decodes the upstream's common fields and picks out the type oneof (spec.static, ...);
/// the type's own fields are decoded by its plugin.
Upstream decodeUpstream(const RawObject& obj, Errors& errors);

/// Parses a protobuf-JSON / Go duration ("15s", "0.5s", "250ms", "1m", "1h30m") into ms.
bool parseDurationMs(std::string_view text, int64_t& out);

/// Serializes a Value as YAML (block style) / compact JSON (for the admin API and the store).
std::string toYaml(const Value& v);
std::string toJson(const Value& v);
/// JSON string literal with escapes, quotes included.
std::string jsonQuote(std::string_view s);

}  // namespace portico::config
