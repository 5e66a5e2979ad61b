#include "server_state.h"

#include <string>
#include <utility>

namespace sotto::secagg::internal {

void ServerRoundData::Drop(uint32_t index, DropReason reason) {
  ServerClient& c = clients[index];
  if (c.live) {
    c.live = false;
    c.drop_reason = reason;
  }
}

void ServerRoundData::DropSilent() {
  for (uint32_t i = 0; i < clients.size(); ++i) {
    if (clients[i].live && !clients[i].sent_this_phase) {
      Drop(i, DropReason::kNoResponse);
    }
  }
}

void ServerRoundData::DropPruned(const std::vector<uint32_t>& pruned, std::vector<Outgoing>& out) {
  for (uint32_t i : pruned) {
    Drop(i, DropReason::kTooFewNeighbours);
    out.push_back({clients[i].id,
                   ServerMessage(AbortRound{"fewer than t live members in the neighbourhood"})});
  }
}

void ServerRoundData::ResetPhase() {
  for (auto& c : clients) {
    c.sent_this_phase = false;
  }
}

ServerAbort MakeServerAbort(ServerAbortReason reason, Status status) {
  return ServerAbort{reason, std::move(status)};
}

Status ServerState::Handle(uint64_t from, ClientMessage message) {
  if (OwnMessageIndex() < 0 || data_ == nullptr) {
    return FailedPreconditionError(std::string(MessageName(message)) + " after the round ended");
  }
  ServerRoundData& d = *data_;
  const int64_t index = d.graph.IndexOf(from);
  if (index < 0) {
    return PermissionDeniedError("client " + std::to_string(from) + " was not selected");
  }
  ServerClient& client = d.clients[index];
  if (!client.live) {
    return PermissionDeniedError("client " + std::to_string(from) + " was dropped (" +
                                 DropReasonName(client.drop_reason) + ")");
  }
  const uint32_t i = static_cast<uint32_t>(index);
  if (static_cast<int>(message.index()) != OwnMessageIndex()) {
    d.Drop(i, DropReason::kWrongPhase);
    return FailedPreconditionError(std::string(MessageName(message)) + " from " +
                                   std::to_string(from) + " in phase " + ServerPhaseName(phase()));
  }
  if (client.sent_this_phase) {
    d.Drop(i, DropReason::kDuplicateMessage);
    return FailedPreconditionError(std::string("second ") + MessageName(message) + " from " +
                                   std::to_string(from));
  }
  client.sent_this_phase = true;
  DropReason reason = DropReason::kMalformedMessage;
  Status status = Accept(i, std::move(message), &reason);
  if (!status.ok()) {
    d.Drop(i, reason);
    return status.WithContext("client " + std::to_string(from));
  }
  return OkStatus();
}

bool ServerState::ReadyToAdvance() const {
  if (data_ == nullptr || OwnMessageIndex() < 0) {
    return false;
  }
  for (const auto& c : data_->clients) {
    if (c.live && !c.sent_this_phase) {
      return false;
    }
  }
  return true;
}

}  // namespace sotto::secagg::internal
