// Parser: turns the lexer's tokens into a Program — statements, expressions, function arity
// checks, loop-variable binding and the nesting limit. All compile errors come from here.
#pragma once

#include <memory>
#include <string_view>

#include "common/status.h"
#include "template/program.h"
#include "template/template.h"

namespace portico::tmpl {

/// Compiles `source`; errors read "line L, column C: message".
Result<std::shared_ptr<Program>> parseProgram(std::string_view source, const CompileOptions& options);

}  // namespace portico::tmpl
