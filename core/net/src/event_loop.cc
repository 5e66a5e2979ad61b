#include "sotto/net/event_loop.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <utility>

namespace sotto::net {

struct EventLoop::Impl {
  boost::asio::io_context context{1};  // concurrency hint: one thread runs it
  // Keeps Run() from returning when there is momentarily nothing to do.
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work =
      boost::asio::make_work_guard(context);
};

EventLoop::EventLoop() : impl_(std::make_unique<Impl>()) {}

EventLoop::~EventLoop() {
  impl_->work.reset();
  impl_->context.stop();
}

void EventLoop::Run() { impl_->context.run(); }

size_t EventLoop::RunFor(std::chrono::nanoseconds duration) {
  return impl_->context.run_for(duration);
}

size_t EventLoop::Poll() { return impl_->context.poll(); }

void EventLoop::Stop() { impl_->context.stop(); }

void EventLoop::Restart() { impl_->context.restart(); }

bool EventLoop::stopped() const { return impl_->context.stopped(); }

void EventLoop::Post(std::function<void()> fn) { boost::asio::post(impl_->context, std::move(fn)); }

boost::asio::io_context& EventLoop::context() { return impl_->context; }

}  // namespace sotto::net
