// ListenerAccessLogs: the compiled access logs of one gateway (format + sink each), built from
// the Gateway's options.accessLoggingService when a snapshot is built; immutable after that.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/errors.h"
#include "config/model.h"
#include "observability/access_log_format.h"
#include "observability/access_log_writer.h"

namespace portico::observability {

struct ListenerAccessLogs {
  struct Log {
    AccessLogFormat format;
    AccessLogSink* sink = nullptr;
  };
  std::vector<Log> logs;
  /// Response headers any format reads (%RESP(X)%), lowercase; a request captures their values.
  std::vector<std::string> responseHeaders;
};

/// Reports format errors of `specs` into `errors`, each naming its field
/// ("spec.options.accessLoggingService.accessLog[0].fileSink.stringFormat: unknown command
/// operator %FOO%"). Opens nothing.
void checkAccessLogs(const std::vector<config::AccessLogSpec>& specs, config::Errors& errors);

/// Compiles `specs` and opens their sinks in `writer`; when `specs` is empty and
/// `defaultPath` is not, one log in Envoy's default format to `defaultPath` (--access-log).
/// Null when there is nothing to log. Errors name the field or the path.
Result<std::shared_ptr<const ListenerAccessLogs>> buildAccessLogs(
    const std::vector<config::AccessLogSpec>& specs, const std::string& defaultPath,
    AccessLogWriter& writer);

}  // namespace portico::observability
