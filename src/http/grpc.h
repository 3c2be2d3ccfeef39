// gRPC over HTTP/2 as a proxy sees it (grpc/grpc doc/PROTOCOL-HTTP2.md and
// doc/http-grpc-status-mapping.md): spotting a gRPC request, its grpc-timeout, and answering one
// with a status of the gateway's own.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/buffer.h"

namespace portico::http {

/// content-type application/grpc, application/grpc+proto, application/grpc;... (not grpc-web).
bool isGrpcContentType(std::string_view contentType);

/// grpc-timeout = 1*8DIGIT unit (H M S m u n) in milliseconds, rounded up; nullopt when
/// malformed (the header is then ignored, as gRPC servers do).
std::optional<int64_t> parseGrpcTimeout(std::string_view value);

/// The gRPC status for an HTTP status the gateway answers with (the spec's mapping: 400 ->
/// INTERNAL, 401 -> UNAUTHENTICATED, 403 -> PERMISSION_DENIED, 404 -> UNIMPLEMENTED,
/// 429/502/503/504 -> UNAVAILABLE, else UNKNOWN).
int grpcStatusForHttp(int httpStatus);

constexpr int kGrpcDeadlineExceeded = 4;

/// grpc-message's value: percent-encodes bytes outside 0x20-0x7E and '%'.
void appendGrpcMessage(Buffer& out, std::string_view message);

}  // namespace portico::http
