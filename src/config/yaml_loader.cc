// parseYaml / parseJson: yaml-cpp's event parser feeding a Value builder. Events rather than
// YAML::Node because nodes silently keep duplicate keys and lose whether a scalar was quoted;
// yaml-cpp throws, so every exception stops at this file's boundary.
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include "config/decode.h"
#include "config/field_reader.h"

namespace portico::config {

namespace {

// Alias expansion copies subtrees, so "billion laughs" input could explode memory: cap the
// number of nodes one document may copy through aliases (real configs barely use aliases).
constexpr size_t kMaxAliasNodesPerDocument = 1 << 17;
constexpr const char* kStrTag = "tag:yaml.org,2002:str";

size_t countNodes(const Value& v) {
  size_t n = 1;
  for (const auto& item : v.list)
    n += countNodes(item);
  for (const auto& entry : v.map)
    n += countNodes(entry.second);
  return n;
}

class ValueBuilder : public YAML::EventHandler {
public:
  explicit ValueBuilder(bool keepNullDocuments) : keepNullDocuments_(keepNullDocuments) {}

  std::vector<Value> documents;
  std::vector<int> documentLines;

  void OnDocumentStart(const YAML::Mark& mark) override {
    // yaml-cpp 0.7 bug (jbeder/yaml-cpp#1040): a token no node can start with (a stray ",")
    // is never consumed, and every HandleNextDocument() returns another empty document at the
    // same position, forever. A document starting where the previous one did is that bug.
    if (documentCount_++ > 0 && mark.pos == lastDocumentPos_)
      throw YAML::ParserException(mark, "unexpected character");
    lastDocumentPos_ = mark.pos;
    stack_.clear();
    anchors_.clear();
    root_ = Value();
    aliasNodes_ = 0;
    documentLine_ = mark.line + 1;
  }

  void OnDocumentEnd() override {
    if (root_.isNull() && !keepNullDocuments_) return;
    // The first line of content (where apiVersion is) rather than a preceding "---" line.
    documentLines.push_back(root_.line > 0 ? root_.line : documentLine_);
    documents.push_back(std::move(root_));
  }

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    complete(at(Value(), mark), anchor, mark, "");
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) throw YAML::ParserException(mark, "unknown alias");
    aliasNodes_ += it->second.second;
    if (aliasNodes_ > kMaxAliasNodesPerDocument)
      throw YAML::ParserException(mark, "document too large (more than " +
                                            std::to_string(kMaxAliasNodesPerDocument) +
                                            " nodes copied by aliases)");
    Value copy = it->second.first;
    complete(at(std::move(copy), mark), 0, mark, it->second.first.scalar);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& text) override {
    Value v;
    // "!" is yaml-cpp's tag for a quoted scalar: always a string, whatever it looks like.
    if (tag == "!" || tag == kStrTag)
      v.type = Value::Type::String;
    else
      v.type = resolvePlainScalar(text);
    if (v.type != Value::Type::Null) v.scalar = text;
    complete(at(std::move(v), mark), anchor, mark, text);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(at(Value::makeList(), mark), anchor, mark);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(at(Value::makeMap(), mark), anchor, mark);
  }
  void OnMapEnd() override { close(); }

private:
  struct Frame {
    Value value;
    YAML::anchor_t anchor = 0;
    YAML::Mark mark;
    bool haveKey = false;
    std::string key;
    std::unordered_set<std::string> keys;
  };

  static Value at(Value v, const YAML::Mark& mark) {
    v.line = mark.line + 1;
    v.column = mark.column + 1;
    return v;
  }

  void open(Value v, YAML::anchor_t anchor, const YAML::Mark& mark) {
    if (!stack_.empty() && stack_.back().value.isMap() && !stack_.back().haveKey)
      throw YAML::ParserException(mark, "map keys must be scalars");
    Frame f;
    f.value = std::move(v);
    f.anchor = anchor;
    f.mark = mark;
    stack_.push_back(std::move(f));
  }

  void close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    complete(std::move(f.value), f.anchor, f.mark, "");
  }

  // A node is finished: remember it for aliases, then hang it on its parent.
  void complete(Value v, YAML::anchor_t anchor, const YAML::Mark& mark, const std::string& raw) {
    if (anchor != 0) anchors_[anchor] = {v, countNodes(v)};
    if (stack_.empty()) {
      root_ = std::move(v);
      return;
    }
    Frame& parent = stack_.back();
    if (parent.value.isList()) {
      parent.value.list.push_back(std::move(v));
      return;
    }
    if (!parent.haveKey) {
      if (v.isMap() || v.isList()) throw YAML::ParserException(mark, "map keys must be scalars");
      if (!parent.keys.insert(raw).second)
        throw YAML::ParserException(mark, "duplicate key " + jsonQuote(raw));
      parent.key = raw;
      parent.haveKey = true;
      return;
    }
    parent.value.map.emplace_back(std::move(parent.key), std::move(v));
    parent.haveKey = false;
  }

  bool keepNullDocuments_;
  size_t documentCount_ = 0;
  int lastDocumentPos_ = -1;
  std::vector<Frame> stack_;
  std::unordered_map<YAML::anchor_t, std::pair<Value, size_t>> anchors_;
  Value root_;
  size_t aliasNodes_ = 0;
  int documentLine_ = 0;
};

Status parseAll(std::string_view text, std::string_view sourceName, ValueBuilder& builder) {
  std::string prefix(sourceName);
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(builder)) {
    }
    return Status();
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) return Status::error(prefix + ": " + e.msg);
    return Status::error(prefix + ":" + std::to_string(e.mark.line + 1) + ":" +
                         std::to_string(e.mark.column + 1) + ": " + e.msg);
  } catch (const std::exception& e) {
    return Status::error(prefix + ": " + e.what());
  } catch (...) {
    return Status::error(prefix + ": unknown error while parsing YAML");
  }
}

}  // namespace

Result<std::vector<Document>> parseYaml(std::string_view text, std::string_view sourceName) {
  // yaml-cpp guesses UTF-16/32 from NUL bytes or a byte-order mark; config is UTF-8 text and
  // anything else would be read differently by different tools.
  if (text.find('\0') != std::string_view::npos)
    return Status::error(std::string(sourceName) + ": not UTF-8 text (contains NUL bytes)");
  if (text.starts_with("\xfe\xff") || text.starts_with("\xff\xfe"))
    return Status::error(std::string(sourceName) + ": not UTF-8 text (UTF-16 byte order mark)");
  ValueBuilder builder(/*keepNullDocuments=*/false);
  Status st = parseAll(text, sourceName, builder);
  if (!st.ok()) return st;
  std::vector<Document> docs;
  docs.reserve(builder.documents.size());
  for (size_t i = 0; i < builder.documents.size(); ++i) {
    Document d;
    d.root = std::move(builder.documents[i]);
    d.source = std::string(sourceName) + ":" + std::to_string(builder.documentLines[i]);
    docs.push_back(std::move(d));
  }
  return docs;
}

Result<Value> parseJson(std::string_view text) {
  ValueBuilder builder(/*keepNullDocuments=*/true);
  Status st = parseAll(text, "json", builder);
  if (!st.ok()) return st;
  if (builder.documents.empty()) return Status::error("json: empty input");
  if (builder.documents.size() > 1) return Status::error("json: expected exactly one value");
  return std::move(builder.documents.front());
}

}  // namespace portico::config

namespace portico::config {

std::vector<TextSpan> splitYamlDocuments(std::string_view text) {
  std::vector<TextSpan> spans;
  size_t chunkStart = 0;
  size_t lineStart = 0;
  while (lineStart < text.size()) {
    size_t eol = text.find('\n', lineStart);
    size_t lineEnd = eol == text.npos ? text.size() : eol + 1;
    std::string_view line = text.substr(lineStart, lineEnd - lineStart);
    // A marker is "---" alone or followed by whitespace; "----" or "---x" is content.
    bool marker =
        line.substr(0, 3) == "---" && (line.size() == 3 || line[3] == ' ' || line[3] == '\t' ||
                                       line[3] == '\n' || line[3] == '\r');
    if (marker && lineStart > chunkStart) {
      spans.push_back({chunkStart, lineStart});
      chunkStart = lineStart;
    }
    lineStart = lineEnd;
  }
  if (text.size() > chunkStart || spans.empty()) spans.push_back({chunkStart, text.size()});
  return spans;
}

}  // namespace portico::config
