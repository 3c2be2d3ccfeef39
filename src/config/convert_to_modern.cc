// convertToModern: a YAML stream with Gloo 0.x documents rewritten as modern ones (what
// `portico convert FILE` prints). Modern documents keep their text, comments included.
#include "config/decode.h"

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

}  // namespace

Result<std::string> convertToModern(std::string_view text, std::string_view sourceName) {
  auto docs = parseYaml(text, sourceName);
  if (!docs.ok()) return docs.status();

  // Every document as toYaml would write it (0.x ones converted): the fallback output.
  std::vector<std::string> emitted;
  std::vector<bool> converted;
  std::string problems;
  for (const Document& doc : *docs) {
    bool old = isGloo0xDocument(doc.root);
    converted.push_back(old);
    if (!old) {
      emitted.push_back(toYaml(doc.root));
      continue;
    }
    Errors errors;
    Value modern = convertGloo0x(doc.root, errors);
    if (!errors.empty()) {
      if (!problems.empty()) problems.push_back('\n');
      problems += doc.source + ": " + errors.toString();
    }
    emitted.push_back(toYaml(modern));
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
