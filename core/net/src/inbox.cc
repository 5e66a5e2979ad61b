#include "sotto/net/inbox.h"

#include <utility>

namespace sotto::net {

std::shared_ptr<Inbox> Inbox::Create() {
  // The constructor is private so that every Inbox is shared (the callbacks keep it alive).
  struct Shared : Inbox {};
  return std::make_shared<Shared>();
}

ConnectionCallbacks Inbox::Callbacks() {
  ConnectionCallbacks callbacks;
  callbacks.on_message = [self = shared_from_this()](proto::Envelope envelope) {
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      self->queue_.push_back(std::move(envelope));
    }
    self->changed_.notify_all();
  };
  callbacks.on_closed = [self = shared_from_this()](const Status& status) {
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      self->closed_ = status;
    }
    self->changed_.notify_all();
  };
  return callbacks;
}

StatusOr<proto::Envelope> Inbox::Receive(std::chrono::nanoseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  const bool ready =
      changed_.wait_for(lock, timeout, [this] { return !queue_.empty() || closed_.has_value(); });
  if (!queue_.empty()) {
    proto::Envelope envelope = std::move(queue_.front());
    queue_.pop_front();
    return envelope;
  }
  if (!ready) {
    return DeadlineExceededError("no message within the timeout");
  }
  if (closed_->ok()) {
    return UnavailableError("connection closed");
  }
  return *closed_;
}

std::optional<Status> Inbox::WaitClosed(std::chrono::nanoseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait_for(lock, timeout, [this] { return closed_.has_value(); });
  return closed_;
}

size_t Inbox::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

bool Inbox::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_.has_value();
}

}  // namespace sotto::net
