#pragma once

// vigild's operational log, on spdlog: one line per event to standard error, as text for a
// terminal or, with --log-format json, as one JSON object a line for a log pipeline:
//
//   {"time":"2026-12-02T18:00:00.123Z","level":"info","event":"rules_reloaded",
//    "message":"rules reloaded","dir":"rules/","version":"rs-1f2e"}
//
//   log::Info("rules_reloaded", "rules reloaded").Field("dir", dir).Field("version", version);
//
// The line is written when the Event goes out of scope. Events are for start, reloads, store
// faults, shedding episodes and shutdown; never one per decision (the decision log is separate),
// and never a key, a certificate or a request's content.
//
// Thread-safe.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace vigil::log {

enum class Format { kText, kJson };
// Chooses the format of every later line. Before it is called, lines are text.
void SetFormat(Format format);
// "text" or "json"; INVALID_ARGUMENT for anything else.
absl::Status ParseFormat(absl::string_view text, Format* format);

class Event {
 public:
  enum class Level { kInfo, kWarn, kError };
  Event(Level level, absl::string_view event, absl::string_view message);
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  Event& Field(absl::string_view key, absl::string_view value);
  Event& Field(absl::string_view key, const char* value) {
    return Field(key, absl::string_view(value));
  }
  Event& Field(absl::string_view key, const std::string& value) {
    return Field(key, absl::string_view(value));
  }
  Event& Field(absl::string_view key, int64_t value);
  Event& Field(absl::string_view key, int value) { return Field(key, int64_t{value}); }
  Event& Field(absl::string_view key, uint64_t value);
  Event& Field(absl::string_view key, double value);
  Event& Field(absl::string_view key, bool value);

 private:
  struct Value {
    std::string key;
    std::string text;  // as shown in a text line
    enum class Kind { kString, kNumber, kBool } kind;
    double number = 0;
    bool boolean = false;
  };
  Level level_;
  std::string event_;
  std::string message_;
  std::vector<Value> fields_;
};

inline Event Info(absl::string_view event, absl::string_view message) {
  return Event(Event::Level::kInfo, event, message);
}
inline Event Warn(absl::string_view event, absl::string_view message) {
  return Event(Event::Level::kWarn, event, message);
}
inline Event Error(absl::string_view event, absl::string_view message) {
  return Event(Event::Level::kError, event, message);
}

}  // namespace vigil::log
