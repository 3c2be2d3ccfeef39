// Prometheus exposition: renders a MetricsRegistry (workers summed) in the Prometheus text
// format 0.0.4 or OpenMetrics 1.0.0, and picks the format from an Accept header.
#pragma once

#include <string>
#include <string_view>

#include "observability/access_log_writer.h"
#include "observability/metrics_registry.h"

namespace portico::observability {

enum class ExpositionFormat { PrometheusText, OpenMetrics };

/// OpenMetrics when `accept` lists application/openmetrics-text with a q-value above 0 and not
/// below that of text/plain (or */*); the Prometheus text format otherwise (also when absent).
ExpositionFormat negotiateFormat(std::string_view accept);
/// "text/plain; version=0.0.4; charset=utf-8" or
/// "application/openmetrics-text; version=1.0.0; charset=utf-8".
const char* contentType(ExpositionFormat format);

/// Every portico_* family of `registry` (and of `accessLogs` when given). Admin thread; reads
/// workers' cells without locks.
std::string renderMetrics(const MetricsRegistry& registry, ExpositionFormat format,
                          AccessLogWriter* accessLogs = nullptr);

/// `value` escaped for a label value (backslash, double quote, newline).
std::string escapeLabelValue(std::string_view value);

}  // namespace portico::observability
