#pragma once

// EventLoop is vigild's one Boost.Asio io_context, run by one thread of its own: the admin HTTP
// server and the server's periodic tasks (shedding episodes, the authorization policy's reload)
// run on it, one handler at a time, so that they need no locks among themselves.
//
//   EventLoop loop;
//   loop.Every(absl::Seconds(1), [] { ... });
//   AdminHttp::Start(loop, "127.0.0.1:9464", routes);
//
// Thread-safe. The destructor stops the loop and joins its thread; whatever runs on the loop
// must be destroyed after it (or stop using it first).

#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/steady_timer.hpp"

namespace vigil::server {

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs `task` on the loop every `interval`, from one interval after now until the loop stops.
  void Every(absl::Duration interval, std::function<void()> task);

  boost::asio::io_context& io() { return io_; }

 private:
  void Schedule(boost::asio::steady_timer& timer, std::chrono::nanoseconds interval,
                std::function<void()> task);

  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  std::vector<std::unique_ptr<boost::asio::steady_timer>> timers_;  // touched on the loop only
  std::thread thread_;
};

}  // namespace vigil::server
