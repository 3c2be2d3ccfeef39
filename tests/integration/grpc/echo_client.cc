// The gRPC test client for portico.test.Echo: runs one kind of call, checks every reply and
// prints one JSON line; exit 0 only when the call behaved as the mode expects.
//
//   echo_client --target HOST:PORT --call unary|server-stream|bidi|fail|deadline
//               [--count N] [--size BYTES] [--authority A] [--deadline-ms N]
//               [--fail-code N] [--delay-ms N]
//
// unary: N concurrent calls on one channel. server-stream: one call, N replies. bidi: N
// requests, each reply read before the next request is written. fail: expects status
// --fail-code (default 7) with "asked to fail". deadline: the server delays --delay-ms
// (default 2000) against a --deadline-ms deadline (default 200): expects DEADLINE_EXCEEDED.
// Checked on every reply: message, index order, authority, the x-test-meta echo, and the
// server's initial ("x-header-test") and trailing ("x-trailer-test") metadata.

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "echo.grpc.pb.h"

namespace {

using portico::test::Echo;
using portico::test::EchoReply;
using portico::test::EchoRequest;
using Clock = std::chrono::steady_clock;

constexpr const char* kMetaValue = "meta-from-echo-client";

struct Options {
  std::string target;
  std::string call;
  std::string authority;  // empty: the channel's default (the target)
  int count = 1;
  int size = 16;
  int deadline_ms = -1;  // -1: 200 for deadline, 30000 otherwise
  int fail_code = 7;
  int delay_ms = 2000;
};

// What one run saw; merged across the calls of a mode.
struct Outcome {
  int code = 0;
  std::string status_message;
  long messages = 0;
  long bytes = 0;
  bool initial_metadata = true;   // every call saw x-header-test
  bool trailing_metadata = true;  // every call saw x-trailer-test
  std::string error;              // first failed check, empty when all passed

  void fail(const std::string& what) {
    if (error.empty()) {
      error = what;
    }
  }
};

// A request body that differs per index, so a reply for the wrong request cannot pass.
std::string payload(int index, int size) {
  std::string s = std::to_string(index) + ":";
  for (int k = static_cast<int>(s.size()); k < size; ++k) {
    s.push_back(static_cast<char>('a' + k % 26));
  }
  return s;
}

bool hasMeta(const std::multimap<grpc::string_ref, grpc::string_ref>& meta, const char* key) {
  const auto it = meta.find(key);
  return it != meta.end() && it->second == "yes";
}

class Runner {
public:
  Runner(const Options& opt, std::shared_ptr<grpc::Channel> channel)
      : opt_(opt), stub_(Echo::NewStub(channel)),
        expected_authority_(opt.authority.empty() ? opt.target : opt.authority) {}

  Outcome run() {
    if (opt_.call == "unary") {
      return unaryConcurrent();
    }
    if (opt_.call == "server-stream") {
      return serverStream();
    }
    if (opt_.call == "bidi") {
      return bidi();
    }
    if (opt_.call == "fail") {
      return expectStatus(opt_.fail_code, 0, "asked to fail");
    }
    return expectStatus(grpc::StatusCode::DEADLINE_EXCEEDED, opt_.delay_ms, "");
  }

private:
  void prepare(grpc::ClientContext& ctx) const {
    const int default_ms = opt_.call == "deadline" ? 200 : 30000;
    const int ms = opt_.deadline_ms >= 0 ? opt_.deadline_ms : default_ms;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(ms));
    if (!opt_.authority.empty()) {
      ctx.set_authority(opt_.authority);
    }
    ctx.AddMetadata("x-test-meta", kMetaValue);
  }

  void checkReply(const EchoReply& reply, const std::string& sent, int index, Outcome& out) const {
    out.messages += 1;
    out.bytes += static_cast<long>(reply.message().size());
    if (reply.message() != sent) {
      out.fail("reply " + std::to_string(index) + ": message differs (" +
               std::to_string(reply.message().size()) + " bytes, sent " +
               std::to_string(sent.size()) + ")");
    }
    if (reply.index() != index) {
      out.fail("reply " + std::to_string(index) + ": index " + std::to_string(reply.index()));
    }
    if (reply.authority() != expected_authority_) {
      out.fail("server saw authority '" + reply.authority() + "', expected '" +
               expected_authority_ + "'");
    }
    if (reply.metadata() != kMetaValue) {
      out.fail("server saw x-test-meta '" + reply.metadata() + "'");
    }
  }

  void finish(const grpc::ClientContext& ctx, const grpc::Status& status, Outcome& out) const {
    out.code = status.error_code();
    out.status_message = status.error_message();
    out.initial_metadata =
        out.initial_metadata && hasMeta(ctx.GetServerInitialMetadata(), "x-header-test");
    out.trailing_metadata =
        out.trailing_metadata && hasMeta(ctx.GetServerTrailingMetadata(), "x-trailer-test");
  }

  static void requireOkWithMetadata(Outcome& out) {
    if (out.code != grpc::StatusCode::OK) {
      out.fail("status " + std::to_string(out.code) + ": " + out.status_message);
    }
    if (!out.initial_metadata) {
      out.fail("initial metadata x-header-test missing");
    }
    if (!out.trailing_metadata) {
      out.fail("trailing metadata x-trailer-test missing");
    }
  }

  // All calls share one channel (one HTTP/2 connection), so they run as concurrent streams.
  Outcome unaryConcurrent() {
    Outcome merged;
    std::mutex mu;
    std::vector<std::thread> threads;
    for (int i = 0; i < opt_.count; ++i) {
      threads.emplace_back([this, i, &merged, &mu] {
        Outcome out;
        EchoRequest req;
        req.set_message(payload(i, opt_.size));
        EchoReply reply;
        grpc::ClientContext ctx;
        prepare(ctx);
        const grpc::Status status = stub_->Unary(&ctx, req, &reply);
        finish(ctx, status, out);
        if (status.ok()) {
          checkReply(reply, req.message(), 0, out);
        }
        requireOkWithMetadata(out);
        const std::lock_guard<std::mutex> lock(mu);
        merged.messages += out.messages;
        merged.bytes += out.bytes;
        merged.initial_metadata = merged.initial_metadata && out.initial_metadata;
        merged.trailing_metadata = merged.trailing_metadata && out.trailing_metadata;
        if (merged.error.empty() && !out.error.empty()) {
          merged.code = out.code;
          merged.status_message = out.status_message;
          merged.error = "call " + std::to_string(i) + ": " + out.error;
        }
      });
    }
    for (std::thread& t : threads) {
      t.join();
    }
    return merged;
  }

  Outcome serverStream() {
    Outcome out;
    EchoRequest req;
    req.set_message(payload(0, opt_.size));
    req.set_repeat(opt_.count);
    grpc::ClientContext ctx;
    prepare(ctx);
    auto reader = stub_->ServerStream(&ctx, req);
    EchoReply reply;
    int index = 0;
    while (reader->Read(&reply)) {
      checkReply(reply, req.message(), index++, out);
    }
    finish(ctx, reader->Finish(), out);
    requireOkWithMetadata(out);
    if (out.messages != opt_.count) {
      out.fail("got " + std::to_string(out.messages) + " replies, expected " +
               std::to_string(opt_.count));
    }
    return out;
  }

  // Writes request i only after reply i-1 arrived: a server that answered at the end of the
  // stream (or a proxy that buffered it) would stall here until the deadline.
  Outcome bidi() {
    Outcome out;
    grpc::ClientContext ctx;
    prepare(ctx);
    auto stream = stub_->Bidi(&ctx);
    EchoRequest req;
    EchoReply reply;
    for (int i = 0; i < opt_.count; ++i) {
      req.set_message(payload(i, opt_.size));
      if (!stream->Write(req)) {
        out.fail("write " + std::to_string(i) + " failed");
        break;
      }
      if (!stream->Read(&reply)) {
        out.fail("no reply to request " + std::to_string(i));
        break;
      }
      checkReply(reply, req.message(), i, out);
    }
    stream->WritesDone();
    while (stream->Read(&reply)) {
      out.fail("reply after the last request");
    }
    finish(ctx, stream->Finish(), out);
    requireOkWithMetadata(out);
    return out;
  }

  // One unary call expected to end with `code` (and `message`, when not empty).
  Outcome expectStatus(int code, int delay_ms, const std::string& message) {
    Outcome out;
    EchoRequest req;
    req.set_message(payload(0, opt_.size));
    req.set_delay_ms(delay_ms);
    if (opt_.call == "fail") {
      req.set_fail_code(code);
    }
    EchoReply reply;
    grpc::ClientContext ctx;
    prepare(ctx);
    finish(ctx, stub_->Unary(&ctx, req, &reply), out);
    if (out.code != code) {
      out.fail("status " + std::to_string(out.code) + " (" + out.status_message + "), expected " +
               std::to_string(code));
    } else if (!message.empty() && out.status_message != message) {
      out.fail("status message '" + out.status_message + "', expected '" + message + "'");
    }
    // A deadline ends at the client: nothing from the server is expected. A failure from the
    // server must still carry its trailers (a trailers-only response carries them all).
    if (opt_.call == "fail" && !out.trailing_metadata) {
      out.fail("trailing metadata x-trailer-test missing");
    }
    return out;
  }

  const Options& opt_;
  std::unique_ptr<Echo::Stub> stub_;
  std::string expected_authority_;
};

std::string jsonString(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

int usage(const std::string& why) {
  std::fprintf(stderr,
               "echo_client: %s\nusage: echo_client --target HOST:PORT --call "
               "unary|server-stream|bidi|fail|deadline [--count N] [--size BYTES] "
               "[--authority A] [--deadline-ms N] [--fail-code N] [--delay-ms N]\n",
               why.c_str());
  return 2;
}

bool parseInt(const char* text, int min, int* out) {
  const char* end = text + std::strlen(text);
  auto [p, ec] = std::from_chars(text, end, *out);
  return ec == std::errc() && p == end && *out >= min;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  const std::map<std::string, std::pair<int*, int>> numbers = {
      {"--count", {&opt.count, 0}},         {"--size", {&opt.size, 0}},
      {"--deadline-ms", {&opt.deadline_ms, 0}}, {"--fail-code", {&opt.fail_code, 1}},
      {"--delay-ms", {&opt.delay_ms, 0}}};
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      return usage("missing value after " + flag);
    }
    const char* value = argv[++i];
    if (const auto it = numbers.find(flag); it != numbers.end()) {
      if (!parseInt(value, it->second.second, it->second.first)) {
        return usage(flag + " wants a number >= " + std::to_string(it->second.second));
      }
    } else if (flag == "--target") {
      opt.target = value;
    } else if (flag == "--call") {
      opt.call = value;
    } else if (flag == "--authority") {
      opt.authority = value;
    } else {
      return usage("unknown flag " + flag);
    }
  }
  if (opt.target.empty()) {
    return usage("--target is required");
  }
  if (opt.call != "unary" && opt.call != "server-stream" && opt.call != "bidi" &&
      opt.call != "fail" && opt.call != "deadline") {
    return usage("--call must be unary, server-stream, bidi, fail or deadline");
  }
  if (opt.fail_code > grpc::StatusCode::UNAUTHENTICATED) {
    return usage("--fail-code must be 1..16");
  }

  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  auto channel = grpc::CreateCustomChannel(opt.target, grpc::InsecureChannelCredentials(), args);
  Runner runner(opt, channel);
  const auto start = Clock::now();
  const Outcome out = runner.run();
  const double elapsed_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - start).count();

  std::printf("{\"call\": %s, \"ok\": %s, \"status_code\": %d, \"status_message\": %s, "
              "\"messages\": %ld, \"bytes\": %ld, \"initial_metadata\": %s, "
              "\"trailing_metadata\": %s, \"elapsed_ms\": %.1f, \"error\": %s}\n",
              jsonString(opt.call).c_str(), out.error.empty() ? "true" : "false", out.code,
              jsonString(out.status_message).c_str(), out.messages, out.bytes,
              out.initial_metadata ? "true" : "false", out.trailing_metadata ? "true" : "false",
              elapsed_ms, jsonString(out.error).c_str());
  std::fflush(stdout);
  return out.error.empty() ? 0 : 1;
}
