// The gRPC test peer: portico.test.Echo over plaintext HTTP/2 (h2c), started by
// tests/integration/test_grpc.py. Prints "listening on PORT" once it accepts calls.
//
//   echo_server [--port N] [--address A]      (--port 0, the default, picks a free port)
//
// Every call gets initial metadata "x-header-test: yes" and trailing metadata
// "x-trailer-test: yes"; requests can ask for a delay and for a failure status (echo.proto).

#include <csignal>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "echo.grpc.pb.h"

namespace {

using portico::test::EchoReply;
using portico::test::EchoRequest;

constexpr int kMaxMessageBytes = 64 * 1024 * 1024;

class EchoService final : public portico::test::Echo::Service {
public:
  grpc::Status Unary(grpc::ServerContext* ctx, const EchoRequest* req, EchoReply* reply) override {
    addMetadata(ctx);
    if (grpc::Status s = delayAndMaybeFail(ctx, *req); !s.ok()) {
      return s;
    }
    fill(ctx, *req, 0, reply);
    return grpc::Status::OK;
  }

  grpc::Status ServerStream(grpc::ServerContext* ctx, const EchoRequest* req,
                            grpc::ServerWriter<EchoReply>* writer) override {
    addMetadata(ctx);
    if (grpc::Status s = delayAndMaybeFail(ctx, *req); !s.ok()) {
      return s;
    }
    EchoReply reply;
    for (int i = 0; i < req->repeat(); ++i) {
      fill(ctx, *req, i, &reply);
      if (!writer->Write(reply)) {
        return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
      }
    }
    return grpc::Status::OK;
  }

  // Answers each request before reading the next one, so a client can interleave.
  grpc::Status Bidi(grpc::ServerContext* ctx,
                    grpc::ServerReaderWriter<EchoReply, EchoRequest>* stream) override {
    addMetadata(ctx);
    stream->SendInitialMetadata();  // headers go out before any reply: a proxy sees them at once
    EchoRequest req;
    EchoReply reply;
    for (int index = 0; stream->Read(&req); ++index) {
      if (grpc::Status s = delayAndMaybeFail(ctx, req); !s.ok()) {
        return s;
      }
      fill(ctx, req, index, &reply);
      if (!stream->Write(reply)) {
        return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
      }
    }
    return grpc::Status::OK;
  }

private:
  static void addMetadata(grpc::ServerContext* ctx) {
    ctx->AddInitialMetadata("x-header-test", "yes");
    ctx->AddTrailingMetadata("x-trailer-test", "yes");
  }

  // Sleeps in short steps so that a cancelled call (deadline passed, client gone) frees the
  // thread at once instead of after the whole delay.
  static grpc::Status delayAndMaybeFail(grpc::ServerContext* ctx, const EchoRequest& req) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(req.delay_ms());
    while (std::chrono::steady_clock::now() < until) {
      if (ctx->IsCancelled()) {
        return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled while delaying");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (req.fail_code() == 0) {
      return grpc::Status::OK;
    }
    if (req.fail_code() < 0 || req.fail_code() > grpc::StatusCode::UNAUTHENTICATED) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "fail_code must be 1..16");
    }
    return grpc::Status(static_cast<grpc::StatusCode>(req.fail_code()), "asked to fail");
  }

  static void fill(grpc::ServerContext* ctx, const EchoRequest& req, int index, EchoReply* reply) {
    reply->set_message(req.message());
    reply->set_index(index);
    const grpc::string_ref authority = ctx->ExperimentalGetAuthority();
    reply->set_authority(std::string(authority.data(), authority.size()));
    const auto& meta = ctx->client_metadata();
    const auto it = meta.find("x-test-meta");
    if (it != meta.end()) {
      reply->set_metadata(std::string(it->second.data(), it->second.size()));
    } else {
      reply->clear_metadata();
    }
  }
};

int usage(const char* why) {
  std::fprintf(stderr, "echo_server: %s\nusage: echo_server [--port N] [--address A]\n", why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string address = "127.0.0.1";
  int port = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      return usage(("missing value after " + flag).c_str());
    }
    const char* value = argv[++i];
    if (flag == "--port") {
      const char* end = value + std::strlen(value);
      auto [p, ec] = std::from_chars(value, end, port);
      if (ec != std::errc() || p != end || port < 0 || port > 65535) {
        return usage("--port wants a number 0..65535");
      }
    } else if (flag == "--address") {
      address = value;
    } else {
      return usage(("unknown flag " + flag).c_str());
    }
  }

  // Block the stop signals before gRPC starts its threads, so only sigwait() below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  EchoService service;
  int bound_port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address + ":" + std::to_string(port), grpc::InsecureServerCredentials(),
                           &bound_port);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound_port == 0) {
    std::fprintf(stderr, "echo_server: cannot listen on %s:%d\n", address.c_str(), port);
    return 1;
  }
  std::printf("listening on %d\n", bound_port);
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  return 0;
}
