#include "engine/server/event_loop.h"

#include "boost/asio/post.hpp"

namespace vigil::server {

EventLoop::EventLoop() : thread_([this] { io_.run(); }) {}

EventLoop::~EventLoop() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

void EventLoop::Every(absl::Duration interval, std::function<void()> task) {
  boost::asio::post(io_, [this, interval, task = std::move(task)]() mutable {
    timers_.push_back(std::make_unique<boost::asio::steady_timer>(io_));
    Schedule(*timers_.back(), absl::ToChronoNanoseconds(interval), std::move(task));
  });
}

void EventLoop::Schedule(boost::asio::steady_timer& timer, std::chrono::nanoseconds interval,
                         std::function<void()> task) {
  timer.expires_after(interval);
  timer.async_wait([this, &timer, interval,
                    task = std::move(task)](const boost::system::error_code& error) mutable {
    if (error) return;
    task();
    Schedule(timer, interval, std::move(task));
  });
}

}  // namespace vigil::server
