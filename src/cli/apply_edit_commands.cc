// apply -f FILE|DIR|- (declarative, all objects validated together) and edit KIND NAME ($EDITOR).
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/objects.h"
#include "config/model.h"

namespace portico::cli {

namespace fs = std::filesystem;

namespace {

bool readText(const std::string& file, std::string& out) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

bool isConfigFile(const fs::path& p) {
  std::string ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

/// Appends one file's documents to the YAML stream sent to the server (JSON files as YAML).
Status appendFile(const std::string& name, const std::string& text, std::string& stream) {
  std::string_view t = text;
  size_t first = t.find_first_not_of(" \t\r\n");
  std::string yaml = text;
  if (first != std::string_view::npos && (t[first] == '{' || t[first] == '[')) {
    Json j = parseJson(text);
    if (j.is_discarded()) return Status::error("--filename: " + name + " is not valid JSON");
    if (j.is_array()) {
      yaml.clear();
      for (const Json& item : j) yaml += "---\n" + toYamlText(item);
    } else {
      yaml = toYamlText(j);
    }
  }
  if (!stream.empty()) stream += "\n---\n";
  stream += yaml;
  return Status();
}

Result<std::string> collectInput(const std::vector<std::string>& inputs) {
  std::string stream;
  for (const std::string& in : inputs) {
    std::string text;
    if (in == "-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
      Status s = appendFile("<stdin>", text, stream);
      if (!s.ok()) return s;
      continue;
    }
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      std::vector<fs::path> files;
      for (auto it = fs::recursive_directory_iterator(in, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file() && isConfigFile(it->path()) && it->path().filename().string()[0] != '.')
          files.push_back(it->path());
      if (ec) return Status::error("--filename: cannot read directory " + in + ": " + ec.message());
      std::sort(files.begin(), files.end());
      for (const fs::path& f : files) {
        if (!readText(f.string(), text)) return Status::error("--filename: cannot read " + f.string());
        Status s = appendFile(f.string(), text, stream);
        if (!s.ok()) return s;
      }
      continue;
    }
    if (!readText(in, text)) return Status::error("--filename: cannot read " + in + ": " + strerror(errno));
    Status s = appendFile(in, text, stream);
    if (!s.ok()) return s;
  }
  return stream;
}

/// Runs $VISUAL / $EDITOR (default vi) on `file` through the shell, so "code --wait" works.
Status runEditor(const std::string& file) {
  const char* editor = getenv("VISUAL");
  if (!editor || !*editor) editor = getenv("EDITOR");
  if (!editor || !*editor) editor = "vi";
  pid_t pid = fork();
  if (pid < 0) return Status::error(std::string("cannot start the editor: ") + strerror(errno));
  if (pid == 0) {
    std::string cmd = std::string(editor) + " \"$1\"";
    execl("/bin/sh", "sh", "-c", cmd.c_str(), "sh", file.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return Status::error(std::string("the editor (") + editor + ") failed; nothing was saved");
  return Status();
}

/// The text without lines that start with '#' (our notes and the user's comments).
std::string withoutComments(const std::string& text) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size() - 1;
    std::string line = text.substr(start, nl - start + 1);
    if (line.find_first_not_of(" \t") == std::string::npos || line[line.find_first_not_of(" \t")] != '#') out += line;
    start = nl + 1;
  }
  return out;
}

}  // namespace

int runApply(const Context& ctx) {
  std::vector<std::string> inputs = ctx.cmd.values("filename", false);
  if (inputs.empty()) return failWith(kExitUsage, "--filename/-f: required (FILE, DIR or - for stdin)");
  auto stream = collectInput(inputs);
  if (!stream.ok()) return failWith(kExitUsage, stream.error());
  std::string target = "/api/apply";
  std::string sep = "?";
  if (ctx.cmd.has("force")) target += sep + "force=true", sep = "&";
  if (ctx.cmd.has("dry-run")) target += sep + "dryRun=true";
  auto res = ctx.client.request("POST", target, *stream, "application/yaml");
  if (!res.ok()) return failWith(kExitFailed, res.error());
  if (res->status != 200) return failWith(kExitFailed, "apply: " + describeError(*res));
  Json answer = parseJson(res->body);
  const Json* results = member(answer, "results");
  int code = kExitOk;
  if (results && results->is_array()) {
    for (const Json& r : *results) {
      std::string display = config::ObjectKey{getString(r, "kind"), getString(r, "namespace"), getString(r, "name")}.display();
      std::string state = getString(r, "state");
      printf("%s %s%s (%s)\n", display.c_str(), getString(r, "result").c_str(),
             ctx.cmd.has("dry-run") ? " (dry run)" : "", state.c_str());
      if (state == "Rejected") {
        fprintf(stderr, "porticoctl: %s\n", getString(r, "reason").c_str());
        code = kExitFailed;
      }
    }
  }
  return code;
}

int runEdit(const Context& ctx) {
  std::string kind = normalizeKind(ctx.cmd.args[0]);
  if (kind.empty()) return failWith(kExitUsage, "edit: unknown kind \"" + ctx.cmd.args[0] + "\"");
  if (kind == "secret")
    return failWith(kExitUsage, "edit: secrets are never shown with their key material; edit the file in the config directory");
  const std::string& name = ctx.cmd.args[1];
  bool found = false;
  auto obj = fetchObject(ctx, kind, ctx.ns, name, found);
  if (!obj.ok()) return failWith(kExitFailed, obj.error());
  std::string display = config::ObjectKey{kindName(kind), ctx.ns, name}.display();
  if (!found) return failWith(kExitFailed, display + " not found");
  const Json* status = member(*obj, "status");
  std::string header = "# Edit " + display + " and save; it is validated before it is written.\n"
                       "# Lines starting with '#' are ignored; an unchanged file cancels the edit.\n";
  if (status) header += "# status: " + getString(*status, "state") + (getString(*status, "reason").empty() ? "" : " - " + getString(*status, "reason")) + "\n";
  obj->erase("status");
  std::string original = toYamlText(*obj);

  char tmpl[] = "/tmp/porticoctl-edit-XXXXXX.yaml";
  int fd = mkstemps(tmpl, 5);
  if (fd < 0) return failWith(kExitFailed, std::string("cannot create a temporary file: ") + strerror(errno));
  close(fd);
  std::string file = tmpl;
  std::string content = header + original;
  std::string lastTried;
  for (;;) {
    {
      std::ofstream out(file, std::ios::binary | std::ios::trunc);
      out << content;
    }
    Status s = runEditor(file);
    std::string edited;
    if (!s.ok() || !readText(file, edited)) {
      unlink(file.c_str());
      return failWith(kExitFailed, s.ok() ? "cannot read back " + file : s.message());
    }
    std::string body = withoutComments(edited);
    if (body == withoutComments(original)) {
      unlink(file.c_str());
      printf("Edit cancelled, no changes made.\n");
      return kExitOk;
    }
    if (body == lastTried) {
      fprintf(stderr, "porticoctl: edit abandoned; your last version is in %s\n", file.c_str());
      return kExitFailed;
    }
    lastTried = body;
    std::string target = "/api/objects/" + kindName(kind) + "/" + urlEncode(ctx.ns) + "/" + urlEncode(name);
    if (ctx.cmd.has("force")) target += "?force=true";
    auto res = ctx.client.request("PUT", target, body, "application/yaml");
    if (!res.ok()) {
      fprintf(stderr, "porticoctl: %s\nyour version is in %s\n", res.error().c_str(), file.c_str());
      return kExitFailed;
    }
    if (res->status == 200) {
      unlink(file.c_str());
      Json answer = parseJson(res->body);
      printf("%s edited (%s)\n", display.c_str(), getString(answer, "state").c_str());
      return kExitOk;
    }
    // Refused: reopen with the reasons on top, as kubectl edit does.
    std::string reasons = describeError(*res);
    fprintf(stderr, "porticoctl: %s\n", reasons.c_str());
    std::string notes = "# porticoctl: the edit was refused and NOT saved:\n";
    size_t start = 0;
    while (start < reasons.size()) {
      size_t nl = reasons.find('\n', start);
      if (nl == std::string::npos) nl = reasons.size();
      notes += "#   " + reasons.substr(start, nl - start) + "\n";
      start = nl + 1;
    }
    content = notes + header + body;
  }
}

}  // namespace portico::cli
