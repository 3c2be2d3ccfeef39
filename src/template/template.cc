// Template: the public face — compile() runs the parser once, render() runs an Evaluator over
// the shared immutable Program. No exception escapes either.
#include "template/template.h"

#include <exception>

#include "template/evaluator.h"
#include "template/parser.h"

namespace portico::tmpl {

namespace {
const std::shared_ptr<const Program>& emptyProgram() {
  static const std::shared_ptr<const Program> empty = std::make_shared<const Program>();
  return empty;
}
}  // namespace

Template::Template() : program_(emptyProgram()) {}

Result<Template> Template::compile(std::string_view source, const CompileOptions& options) {
  try {
    auto program = parseProgram(source, options);
    if (!program.ok()) return program.status();
    return Template(std::shared_ptr<const Program>(std::move(*program)));
  } catch (const std::exception& e) {  // std::bad_alloc, or a library surprise
    return Status::error(std::string("line 1, column 1: template compile failed: ") + e.what());
  }
}

Status Template::render(const RenderContext& ctx, std::string& out) const {
  try {
    return Evaluator(*program_, ctx, out).run();
  } catch (const std::exception& e) {
    return Status::error(std::string("render error: ") + e.what());
  }
}

bool Template::readsBody() const { return program_->readsBody; }
bool Template::readsData() const { return program_->readsData; }
bool Template::readsRawBody() const { return program_->readsRawBody; }
std::optional<std::vector<std::string>> Template::dataRoots() const {
  if (!program_->dataRootsKnown) return std::nullopt;
  return program_->dataRoots;
}
const std::string& Template::source() const { return program_->source; }

}  // namespace portico::tmpl
