// Responses the gateway writes itself (errors, admin pages): status line, short text body.
#pragma once

#include <string_view>

#include "common/buffer.h"

namespace portico::http {

/// Reason phrase for a status code ("Not Found"); "Unknown" for codes without one.
std::string_view reasonPhrase(int status);

/// Appends a complete HTTP/1.1 response with a text/plain body (a newline is added).
/// `close` adds "connection: close". `extraHeaders` is raw "name: value\r\n" lines (may be empty).
void writeLocalReply(Buffer& out, int status, std::string_view body, bool close,
                     std::string_view extraHeaders = {}, bool headOnly = false);

/// Appends a complete response with a caller-chosen content type (admin API: JSON, text).
/// `extraHeaders` is raw "name: value\r\n" lines (may be empty).
void writeResponse(Buffer& out, int status, std::string_view contentType, std::string_view body,
                   bool close, bool headOnly = false, std::string_view extraHeaders = {});

}  // namespace portico::http
