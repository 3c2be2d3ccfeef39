#include "observability/access_log.h"

namespace portico::observability {

namespace {

Result<AccessLogFormat> compile(const config::AccessLogSpec& spec, std::vector<std::string>& resp) {
  if (spec.json) {
    auto f = AccessLogFormat::compileJson(spec.jsonFormat, resp);
    if (!f.ok()) return Status::error(spec.fieldPath + ".jsonFormat." + f.error());
    return f;
  }
  auto f = AccessLogFormat::compileText(spec.stringFormat, resp);
  if (!f.ok()) return Status::error(spec.fieldPath + ".stringFormat: " + f.error());
  return f;
}

}  // namespace

void checkAccessLogs(const std::vector<config::AccessLogSpec>& specs, config::Errors& errors) {
  std::vector<std::string> resp;
  for (const config::AccessLogSpec& spec : specs) {
    auto f = compile(spec, resp);
    if (!f.ok()) errors.add("", f.error());
  }
}

Result<std::shared_ptr<const ListenerAccessLogs>> buildAccessLogs(
    const std::vector<config::AccessLogSpec>& specs, const std::string& defaultPath,
    AccessLogWriter& writer) {
  std::vector<config::AccessLogSpec> effective = specs;
  if (effective.empty() && !defaultPath.empty()) {
    config::AccessLogSpec flag;
    flag.path = defaultPath;
    flag.fieldPath = "--access-log";
    effective.push_back(flag);
  }
  if (effective.empty()) return std::shared_ptr<const ListenerAccessLogs>();
  auto logs = std::make_shared<ListenerAccessLogs>();
  for (const config::AccessLogSpec& spec : effective) {
    auto f = compile(spec, logs->responseHeaders);
    if (!f.ok()) return f.status();
    auto sink = writer.sink(spec.path);
    if (!sink.ok()) return Status::error(spec.fieldPath + ".path: " + sink.error());
    logs->logs.push_back({std::move(*f), *sink});
  }
  return std::shared_ptr<const ListenerAccessLogs>(std::move(logs));
}

}  // namespace portico::observability
