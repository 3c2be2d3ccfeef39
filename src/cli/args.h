// Command-line parsing for porticoctl: glooctl-style verbs ("create upstream static NAME",
// "add route --path-exact /x"), long and short flags anywhere on the line, errors naming the flag.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace portico::cli {

struct FlagSpec {
  std::string name;  ///< long name without "--"
  char shortName = 0;
  bool takesValue = true;
  std::string valueName;  ///< for help: "PATH", "k=v"
  std::string help;
};

struct CommandSpec {
  std::string path;  ///< "add route", "get"
  std::string args;  ///< positional usage: "KIND [NAME]"
  size_t minArgs = 0;
  size_t maxArgs = 0;
  std::vector<FlagSpec> flags;  ///< besides the global flags
  std::string help;
  /// Completion words for the first positional (kinds, shells); empty = none.
  std::vector<std::string> argWords;
};

/// Flags every command takes: --admin-address, --admin-token-file, -n/--namespace, -h/--help.
const std::vector<FlagSpec>& globalFlags();

struct ParsedCommand {
  const CommandSpec* spec = nullptr;  ///< null: no command (print the general help)
  std::vector<std::string> args;
  std::map<std::string, std::vector<std::string>> flags;  ///< long name → values ("true" for switches)
  bool help = false;

  bool has(const std::string& name) const { return flags.count(name) > 0; }
  /// The last value given, or `fallback`.
  std::string value(const std::string& name, const std::string& fallback = "") const;
  /// Every value given; comma-separated values are split when `splitCommas`.
  std::vector<std::string> values(const std::string& name, bool splitCommas) const;
};

/// Parses argv (without the program name). Errors name the flag or word and say what is
/// expected; the caller prints them and exits 2.
Result<ParsedCommand> parseCommandLine(const std::vector<std::string>& argv,
                                       const std::vector<CommandSpec>& commands);

/// Canonical lowercase kind for user spellings ("vs", "Upstreams", "rt"); empty when unknown.
std::string normalizeKind(const std::string& word);
/// The kinds porticoctl knows, for messages and completion.
const std::vector<std::string>& kindWords();

/// "Usage: porticoctl add route [flags]" with the flags and their help.
std::string commandHelp(const CommandSpec& spec);
/// The overview: every command with its one-line help.
std::string generalHelp(const std::vector<CommandSpec>& commands);

}  // namespace portico::cli
