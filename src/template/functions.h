// Function table: the names, arities and ids of inja 3.4's built-ins and Gloo's custom
// functions, looked up by the parser. Their runtime behaviour is in functions.cc.
#pragma once

#include <cstdint>
#include <string_view>

#include "template/program.h"

namespace portico::tmpl {

struct FunctionSpec {
  std::string_view name;
  Fn fn;
  uint8_t minArgs;
  uint8_t maxArgs;
};

/// nullptr for an unknown name.
const FunctionSpec* findFunction(std::string_view name);
std::string_view functionName(Fn fn);

}  // namespace portico::tmpl
