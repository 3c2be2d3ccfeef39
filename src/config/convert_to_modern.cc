// convertToModern: a YAML stream with Gloo 0.x documents rewritten as modern ones (what
// `portico convert FILE` prints). Modern documents keep their text, comments included; a 0.x
// route to a function of a 0.x aws upstream of the same file becomes a Lambda destination.
#include <set>

#include "config/decode.h"
#include "config/field_reader.h"

namespace portico::config {

namespace {

bool isBlank(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  return true;
}

// The chunk without its leading "---" line; false when that line also holds content
// ("--- {a: 1}"), which cannot be dropped.
/// A "---" document marker line: "---" alone or followed by whitespace ("---#" is content).
bool startsWithMarker(std::string_view chunk) {
  return chunk.substr(0, 3) == "---" &&
         (chunk.size() == 3 || chunk[3] == ' ' || chunk[3] == '\t' || chunk[3] == '\r' ||
          chunk[3] == '\n');
}

bool stripMarker(std::string_view chunk, std::string& out) {
  if (startsWithMarker(chunk)) {
    size_t eol = chunk.find('\n');
    std::string_view rest = chunk.substr(3, eol == chunk.npos ? chunk.npos : eol - 3);
    size_t first = rest.find_first_not_of(" \t\r");
    if (first != rest.npos && rest[first] != '#') return false;
    chunk = eol == chunk.npos ? std::string_view() : chunk.substr(eol + 1);
  }
  // Kept byte for byte: yaml-cpp can read a document differently with a newline added at its
  // end (a tag at the end of the text), so the separator adds one only between documents.
  out.assign(chunk);
  return true;
}

// The comment (and blank) lines a chunk starts with, after its "---" line: kept above a
// converted document, whose own text is re-emitted without comments.
std::string leadingComments(std::string_view chunk) {
  std::string out;
  size_t pos = 0;
  if (startsWithMarker(chunk)) {
    size_t eol = chunk.find('\n');
    pos = eol == chunk.npos ? chunk.size() : eol + 1;
  }
  while (pos < chunk.size()) {
    size_t eol = chunk.find('\n', pos);
    size_t end = eol == chunk.npos ? chunk.size() : eol + 1;
    std::string_view line = chunk.substr(pos, end - pos);
    size_t first = line.find_first_not_of(" \t\r\n");
    if (first != line.npos && line[first] != '#') break;
    out.append(line);
    pos = end;
  }
  if (!out.empty() && out.back() != '\n') out.push_back('\n');
  return out;
}

Value* child(Value& v, std::string_view key) {
  for (auto& [k, item] : v.map)
    if (k == key) return &item;
  return nullptr;
}

std::string textAt(const Value& v, std::string_view key) {
  const Value* item = v.find(key);
  return item && item->type == Value::Type::String ? item->scalar : std::string();
}

/// namespace + "/" + name of a converted object.
std::string objectId(const Value& doc) {
  const Value* meta = doc.find("metadata");
  return meta ? textAt(*meta, "namespace") + "/" + textAt(*meta, "name") : std::string();
}

// A 0.x route names a function without its kind, which is the target upstream's type, and
// convertGloo0x sees one document at a time: it writes destinationSpec.rest. Here the file's
// upstreams are known, so a function on one of its aws upstreams becomes destinationSpec.aws
// {logicalName} (the 0.x function name is the logical name the upstream conversion writes).
class LambdaRetargeter {
public:
  LambdaRetargeter(const std::set<std::string>& lambdaUpstreams, Errors& errors)
      : lambdaUpstreams_(lambdaUpstreams), errors_(errors) {}

  void run(Value& vs) {
    const Value* meta = vs.find("metadata");
    if (!meta) return;
    ns_ = textAt(*meta, "namespace");
    Value* spec = child(vs, "spec");
    Value* vh = spec ? child(*spec, "virtualHost") : nullptr;
    Value* routes = vh ? child(*vh, "routes") : nullptr;
    if (!routes) return;
    for (size_t i = 0; i < routes->list.size(); ++i) {
      Value* action = child(routes->list[i], "routeAction");
      if (!action) continue;
      std::string path = indexPath("routes", i);
      if (Value* single = child(*action, "single")) retarget(*single, path + ".single_destination");
      Value* multi = child(*action, "multi");
      Value* list = multi ? child(*multi, "destinations") : nullptr;
      for (size_t j = 0; list && j < list->list.size(); ++j)
        if (Value* d = child(list->list[j], "destination"))
          retarget(*d, indexPath(path + ".multiple_destinations", j));
    }
  }

private:
  void retarget(Value& destination, const std::string& path) {
    const Value* upstream = destination.find("upstream");
    Value* spec = child(destination, "destinationSpec");
    Value* rest = spec ? child(*spec, "rest") : nullptr;
    if (!upstream || !rest || !lambdaUpstreams_.count(ns_ + "/" + textAt(*upstream, "name")))
      return;
    if (rest->find("parameters"))
      errors_.add(path, "extensions.parameters apply to REST functions, not to the Lambda "
                        "function of upstream " + jsonQuote(textAt(*upstream, "name")));
    Value aws = *rest;
    aws.map.clear();
    if (const Value* name = rest->find("functionName")) aws.set("logicalName", *name);
    Value modern = *spec;
    modern.map.clear();
    modern.set("aws", std::move(aws));
    *spec = std::move(modern);
  }

  const std::set<std::string>& lambdaUpstreams_;
  Errors& errors_;
  std::string ns_;
};

}  // namespace

Result<std::string> convertToModern(std::string_view text, std::string_view sourceName) {
  auto docs = parseYaml(text, sourceName);
  if (!docs.ok()) return docs.status();

  // Every document as toYaml would write it (0.x ones converted): the fallback output.
  std::vector<std::string> emitted;
  std::vector<bool> converted;
  std::vector<Value> modern;  // the converted 0.x documents, in order
  std::vector<Errors> errors;
  std::set<std::string> lambdaUpstreams;
  for (const Document& doc : *docs) {
    bool old = isGloo0xDocument(doc.root);
    converted.push_back(old);
    if (!old) continue;
    errors.emplace_back();
    modern.push_back(convertGloo0x(doc.root, errors.back()));
    const Value* spec = modern.back().find("spec");
    if (textAt(modern.back(), "kind") == "Upstream" && spec && spec->find("aws"))
      lambdaUpstreams.insert(objectId(modern.back()));
  }
  std::string problems;
  for (size_t i = 0, m = 0; i < docs->size(); ++i) {
    const Document& doc = (*docs)[i];
    if (!converted[i]) {
      emitted.push_back(toYaml(doc.root));
      continue;
    }
    if (textAt(modern[m], "kind") == "VirtualService")
      LambdaRetargeter(lambdaUpstreams, errors[m]).run(modern[m]);
    if (!errors[m].empty()) {
      if (!problems.empty()) problems.push_back('\n');
      problems += doc.source + ": " + errors[m].toString();
    }
    emitted.push_back(toYaml(modern[m]));
    ++m;
  }
  if (!problems.empty()) return Status::error(problems);

  // Walk the text chunk by chunk so that modern documents (and comments between documents)
  // are passed through as written. Any surprise falls back to the emitted documents.
  std::vector<std::string> pieces;
  size_t next = 0;
  bool aligned = true;
  for (const TextSpan& span : splitYamlDocuments(text)) {
    std::string_view chunk = text.substr(span.begin, span.end - span.begin);
    auto chunkDocs = parseYaml(chunk, sourceName);
    if (!chunkDocs.ok() || next + chunkDocs->size() > docs->size()) {
      aligned = false;
      break;
    }
    std::string verbatim;
    if (chunkDocs->empty()) {
      if (stripMarker(chunk, verbatim) && !isBlank(verbatim)) pieces.push_back(verbatim);
    } else if (chunkDocs->size() == 1 && !converted[next] && stripMarker(chunk, verbatim)) {
      pieces.push_back(verbatim);
    } else if (chunkDocs->size() == 1 && converted[next]) {
      pieces.push_back(leadingComments(chunk) + emitted[next]);
    } else {
      for (size_t i = 0; i < chunkDocs->size(); ++i)
        pieces.push_back(emitted[next + i]);
    }
    next += chunkDocs->size();
  }
  if (!aligned || next != docs->size()) pieces = emitted;

  std::string out;
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (i) {
      if (!out.empty() && out.back() != '\n') out.push_back('\n');
      out.append("---\n");
    }
    out.append(pieces[i]);
  }
  return out;
}

}  // namespace portico::config
