#pragma once

// The server's terminal states. They keep the public bookkeeping (who was dropped and why) for
// metrics; every share and the running sum died with the previous state. Messages are refused
// with FailedPrecondition and Advance is not allowed (SecAggServer answers it).

#include <memory>

#include "server_state.h"

namespace sotto::secagg::internal {

class ServerCompletedState final : public ServerState {
 public:
  ServerCompletedState(std::unique_ptr<ServerRoundData> data, AggregateResult result)
      : ServerState(std::move(data)), result_(std::move(result)) {}

  ServerPhase phase() const override { return ServerPhase::kCompleted; }
  ServerOutcome Advance() override;
  const AggregateResult* result() const override { return &result_; }

 protected:
  int OwnMessageIndex() const override { return -1; }
  Status Accept(uint32_t index, ClientMessage message, DropReason* reason) override;

 private:
  AggregateResult result_;
};

class ServerAbortedState final : public ServerState {
 public:
  explicit ServerAbortedState(std::unique_ptr<ServerRoundData> data)
      : ServerState(std::move(data)) {}

  ServerPhase phase() const override { return ServerPhase::kAborted; }
  ServerOutcome Advance() override;

 protected:
  int OwnMessageIndex() const override { return -1; }
  Status Accept(uint32_t index, ClientMessage message, DropReason* reason) override;
};

}  // namespace sotto::secagg::internal
