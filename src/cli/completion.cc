// completion bash|zsh: scripts generated from the command table (zsh through bashcompinit).
#include <cstdio>
#include <map>
#include <set>

#include "cli/commands.h"

namespace portico::cli {

namespace {

std::string words(const std::set<std::string>& s) {
  std::string out;
  for (const std::string& w : s) out += (out.empty() ? "" : " ") + w;
  return out;
}

std::string bashScript() {
  // For each command path: its flags; for each first word: the second words.
  std::set<std::string> first;
  std::map<std::string, std::set<std::string>> second;
  std::string cases;
  for (const CommandSpec& c : commandTable()) {
    size_t space = c.path.find(' ');
    std::string head = c.path.substr(0, space);
    first.insert(head);
    if (space != std::string::npos) second[head].insert(c.path.substr(space + 1, c.path.find(' ', space + 1) - space - 1));
    std::set<std::string> flags;
    for (const FlagSpec& f : globalFlags()) flags.insert("--" + f.name);
    for (const FlagSpec& f : c.flags) flags.insert("--" + f.name);
    std::set<std::string> args(c.argWords.begin(), c.argWords.end());
    cases += "    \"" + c.path + "\") flags=\"" + words(flags) + "\"; args=\"" + words(args) + "\" ;;\n";
  }
  std::string subcases;
  for (const auto& [head, subs] : second) subcases += "    " + head + ") subs=\"" + words(subs) + "\" ;;\n";
  return "# porticoctl bash completion: source <(porticoctl completion bash)\n"
         "_porticoctl() {\n"
         "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" words=() w i\n"
         "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
         "    w=\"${COMP_WORDS[i]}\"\n"
         "    [[ \"$w\" == -* ]] && continue\n"
         "    [[ \"${COMP_WORDS[i-1]}\" == -* && \"${COMP_WORDS[i-1]}\" != --dry-run && \"${COMP_WORDS[i-1]}\" != --force ]] && continue\n"
         "    words+=(\"$w\")\n"
         "  done\n"
         "  if [[ ${#words[@]} -eq 0 ]]; then\n"
         "    COMPREPLY=($(compgen -W \"" + words(first) + " help\" -- \"$cur\")); return\n"
         "  fi\n"
         "  local subs=\"\"\n"
         "  case \"${words[0]}\" in\n" + subcases +
         "  esac\n"
         "  if [[ -n \"$subs\" && ${#words[@]} -eq 1 ]]; then\n"
         "    COMPREPLY=($(compgen -W \"$subs\" -- \"$cur\")); return\n"
         "  fi\n"
         "  local path=\"${words[0]}\" flags=\"\" args=\"\"\n"
         "  [[ -n \"$subs\" ]] && path=\"${words[0]} ${words[1]}\"\n"
         "  [[ \"$path\" == \"create upstream\" ]] && { [[ ${#words[@]} -eq 2 ]] && { COMPREPLY=($(compgen -W \"static\" -- \"$cur\")); return; }; path=\"create upstream static\"; }\n"
         "  case \"$path\" in\n" + cases +
         "  esac\n"
         "  if [[ \"$cur\" == -* ]]; then\n"
         "    COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n"
         "  elif [[ \"${COMP_WORDS[COMP_CWORD-1]}\" == -f || \"${COMP_WORDS[COMP_CWORD-1]}\" == --filename ]]; then\n"
         "    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
         "  elif [[ -n \"$args\" && ${#words[@]} -eq $(wc -w <<<\"$path\") ]]; then\n"
         "    COMPREPLY=($(compgen -W \"$args\" -- \"$cur\"))\n"
         "  fi\n"
         "}\n"
         "complete -F _porticoctl porticoctl\n";
}

}  // namespace

int runCompletion(const Context& ctx) {
  const std::string& shell = ctx.cmd.args[0];
  if (shell == "bash") {
    fputs(bashScript().c_str(), stdout);
  } else if (shell == "zsh") {
    fputs(("#compdef porticoctl\n# porticoctl zsh completion: source <(porticoctl completion zsh)\n"
           "autoload -U +X bashcompinit && bashcompinit\n" + bashScript()).c_str(), stdout);
  } else {
    return failWith(kExitUsage, "completion: \"" + shell + "\" is not one of bash, zsh");
  }
  return kExitOk;
}

}  // namespace portico::cli
