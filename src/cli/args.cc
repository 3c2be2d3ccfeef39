#include "cli/args.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace portico::cli {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> splitWords(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < path.size()) {
    size_t space = path.find(' ', start);
    if (space == std::string::npos) space = path.size();
    out.push_back(path.substr(start, space - start));
    start = space + 1;
  }
  return out;
}

struct Occurrence {
  std::string spelled;  ///< as written: "--path-exact", "-e"
  std::string longName;  ///< set for long flags
  char shortName = 0;    ///< set for short flags
  std::string value;
  bool hasValue = false;
};

}  // namespace

const std::vector<FlagSpec>& globalFlags() {
  static const std::vector<FlagSpec> flags = {
      {"admin-address", 0, true, "HOST:PORT", "Portico's admin API (default $PORTICO_ADMIN or 127.0.0.1:19000)"},
      {"admin-token-file", 0, true, "FILE", "bearer token for the admin API (default $PORTICO_ADMIN_TOKEN)"},
      {"namespace", 'n', true, "NS", "namespace of the objects (default gloo-system)"},
      {"help", 'h', false, "", "help for this command"},
  };
  return flags;
}

const std::vector<std::string>& kindWords() {
  static const std::vector<std::string> kinds = {"upstream", "virtualservice", "routetable",
                                                 "gateway", "secret", "upstreamgroup"};
  return kinds;
}

std::string normalizeKind(const std::string& word) {
  std::string w = lower(word);
  static const std::map<std::string, std::string> aliases = {
      {"us", "upstream"},       {"u", "upstream"},         {"vs", "virtualservice"},
      {"rt", "routetable"},     {"gw", "gateway"},         {"ug", "upstreamgroup"},
      {"secrets", "secret"},    {"upstreams", "upstream"}, {"virtualservices", "virtualservice"},
      {"routetables", "routetable"}, {"gateways", "gateway"}, {"upstreamgroups", "upstreamgroup"},
  };
  if (auto it = aliases.find(w); it != aliases.end()) return it->second;
  for (const std::string& k : kindWords())
    if (w == k) return k;
  return "";
}

std::string ParsedCommand::value(const std::string& name, const std::string& fallback) const {
  auto it = flags.find(name);
  return it == flags.end() || it->second.empty() ? fallback : it->second.back();
}

std::vector<std::string> ParsedCommand::values(const std::string& name, bool splitCommas) const {
  std::vector<std::string> out;
  auto it = flags.find(name);
  if (it == flags.end()) return out;
  for (const std::string& v : it->second) {
    if (!splitCommas) {
      out.push_back(v);
      continue;
    }
    size_t start = 0;
    while (start <= v.size()) {
      size_t comma = v.find(',', start);
      if (comma == std::string::npos) comma = v.size();
      std::string piece = v.substr(start, comma - start);
      if (!piece.empty()) out.push_back(piece);
      start = comma + 1;
    }
  }
  return out;
}

Result<ParsedCommand> parseCommandLine(const std::vector<std::string>& argv,
                                       const std::vector<CommandSpec>& commands) {
  // Whether a flag takes a value is the same for a name everywhere, so flags can be told from
  // words before the command is known.
  std::map<std::string, bool> longTakes;
  std::set<char> shortSwitches;
  for (const FlagSpec& f : globalFlags()) {
    longTakes[f.name] = f.takesValue;
    if (f.shortName && !f.takesValue) shortSwitches.insert(f.shortName);
  }
  for (const CommandSpec& c : commands)
    for (const FlagSpec& f : c.flags) {
      longTakes[f.name] = f.takesValue;
      if (f.shortName && !f.takesValue) shortSwitches.insert(f.shortName);
    }

  std::vector<Occurrence> occurrences;
  std::vector<std::string> words;
  bool onlyWords = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (onlyWords || a.size() < 2 || a[0] != '-') {
      words.push_back(a);
      continue;
    }
    if (a == "--") {
      onlyWords = true;
      continue;
    }
    Occurrence o;
    bool takes = false;
    if (a.rfind("--", 0) == 0) {
      size_t eq = a.find('=');
      o.longName = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      o.spelled = "--" + o.longName;
      auto it = longTakes.find(o.longName);
      if (it == longTakes.end()) return Status::error("unknown flag " + o.spelled);
      takes = it->second;
      if (eq != std::string::npos) {
        if (!takes) return Status::error(o.spelled + " takes no value");
        o.value = a.substr(eq + 1);
        o.hasValue = true;
      }
    } else {
      o.shortName = a[1];
      o.spelled = std::string("-") + a[1];
      takes = !shortSwitches.count(o.shortName);
      if (a.size() > 2) {
        if (!takes) return Status::error(o.spelled + " takes no value");
        o.value = a.substr(a[2] == '=' ? 3 : 2);
        o.hasValue = true;
      }
    }
    if (takes && !o.hasValue) {
      if (i + 1 >= argv.size()) return Status::error(o.spelled + " needs a value");
      o.value = argv[++i];
      o.hasValue = true;
    }
    occurrences.push_back(std::move(o));
  }

  ParsedCommand out;
  if (!words.empty() && words[0] == "help") {
    out.help = true;
    words.erase(words.begin());
  }
  // "create vs NAME" is "create virtualservice NAME".
  if (words.size() >= 2 && words[0] == "create") {
    std::string kind = normalizeKind(words[1]);
    if (!kind.empty()) words[1] = kind;
  }
  size_t bestLen = 0;
  for (const CommandSpec& c : commands) {
    std::vector<std::string> path = splitWords(c.path);
    if (path.size() <= words.size() && path.size() > bestLen &&
        std::equal(path.begin(), path.end(), words.begin())) {
      out.spec = &c;
      bestLen = path.size();
    }
  }
  for (const Occurrence& o : occurrences)
    if (o.longName == "help" || o.shortName == 'h') out.help = true;
  if (!out.spec) {
    if (words.empty() || out.help) return out;
    std::set<std::string> starts;
    std::string options;
    for (const CommandSpec& c : commands) {
      std::vector<std::string> path = splitWords(c.path);
      if (path[0] == words[0] && path.size() > 1) options += (options.empty() ? "" : " | ") + path[1] + (path.size() > 2 ? " " + path[2] : "");
    }
    if (!options.empty()) return Status::error(words[0] + ": say what: " + options);
    return Status::error("unknown command \"" + words[0] + "\" (see porticoctl --help)");
  }
  if (out.help) return out;
  out.args.assign(words.begin() + static_cast<long>(bestLen), words.end());

  std::vector<const FlagSpec*> allowed;
  for (const FlagSpec& f : globalFlags()) allowed.push_back(&f);
  for (const FlagSpec& f : out.spec->flags) allowed.push_back(&f);
  for (const Occurrence& o : occurrences) {
    const FlagSpec* match = nullptr;
    for (const FlagSpec* f : allowed)
      if ((!o.longName.empty() && f->name == o.longName) || (o.shortName && f->shortName == o.shortName)) match = f;
    if (!match) return Status::error("unknown flag " + o.spelled + " for \"" + out.spec->path + "\" (see porticoctl " + out.spec->path + " --help)");
    if (match->takesValue && o.value.empty())
      return Status::error("--" + match->name + " needs a non-empty value");
    out.flags[match->name].push_back(match->takesValue ? o.value : "true");
  }
  if (out.args.size() < out.spec->minArgs)
    return Status::error(out.spec->path + ": missing " + out.spec->args + " (usage: porticoctl " +
                         out.spec->path + " " + out.spec->args + ")");
  if (out.args.size() > out.spec->maxArgs)
    return Status::error(out.spec->path + ": unexpected argument \"" + out.args[out.spec->maxArgs] +
                         "\" (usage: porticoctl " + out.spec->path +
                         (out.spec->args.empty() ? "" : " " + out.spec->args) + " [flags])");
  return out;
}

namespace {
std::string flagLines(const std::vector<FlagSpec>& flags) {
  std::string out;
  for (const FlagSpec& f : flags) {
    std::string left = "  ";
    left += f.shortName ? std::string("-") + f.shortName + ", " : "    ";
    left += "--" + f.name + (f.takesValue ? " " + f.valueName : "");
    if (left.size() < 34) left.resize(34, ' ');
    else left += "  ";
    out += left + f.help + "\n";
  }
  return out;
}
}  // namespace

std::string commandHelp(const CommandSpec& spec) {
  std::string out = spec.help + "\n\nUsage:\n  porticoctl " + spec.path +
                    (spec.args.empty() ? "" : " " + spec.args) + " [flags]\n";
  if (!spec.flags.empty()) out += "\nFlags:\n" + flagLines(spec.flags);
  out += "\nGlobal flags:\n" + flagLines(globalFlags());
  return out;
}

std::string generalHelp(const std::vector<CommandSpec>& commands) {
  std::string out =
      "porticoctl: the command line for Portico (glooctl's verbs, against a running portico's\n"
      "admin API).\n\nUsage:\n  porticoctl COMMAND [args] [flags]\n\nCommands:\n";
  for (const CommandSpec& c : commands) {
    std::string left = "  " + c.path + (c.args.empty() ? "" : " " + c.args);
    if (left.size() < 40) left.resize(40, ' ');
    else left += "  ";
    out += left + c.help.substr(0, c.help.find('\n')) + "\n";
  }
  out += "\nGlobal flags:\n" + flagLines(globalFlags()) +
         "\nExit codes: 0 done, 1 a check or an operation failed, 2 usage error.\n";
  return out;
}

}  // namespace portico::cli
