// ObjectStatus: what Portico thinks of one config object (Gloo's status.state / reason).
#pragma once

#include <string>

namespace portico::config {

struct ObjectStatus {
  enum class State { Pending, Accepted, Rejected, Warning };
  State state = State::Pending;
  /// Empty when Accepted; otherwise "<kind> <name>.<ns>: <field path>: <problem>; ...".
  std::string reason;
};

const char* toString(ObjectStatus::State s);

}  // namespace portico::config
