#include "engine/server/log.h"

#include <atomic>
#include <memory>

#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace vigil::log {
namespace {

std::atomic<Format> format{Format::kText};

spdlog::logger& Logger() {
  static spdlog::logger* const logger = [] {
    auto* created = new spdlog::logger("vigild", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    created->set_level(spdlog::level::info);
    created->flush_on(spdlog::level::info);  // an operator tails it; a crash must not eat lines
    created->set_formatter(std::make_unique<spdlog::pattern_formatter>(
        "%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc, "\n"));
    return created;
  }();
  return *logger;
}

// `value` as a JSON value, escaped by protobuf's JSON printer.
std::string Json(const google::protobuf::Value& value) {
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(value, &out);
  return out;
}

std::string JsonString(absl::string_view text) {
  google::protobuf::Value value;
  value.set_string_value(std::string(text));
  return Json(value);
}

}  // namespace

void SetFormat(Format chosen) {
  format.store(chosen);
  Logger().set_formatter(std::make_unique<spdlog::pattern_formatter>(
      chosen == Format::kJson ? R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})"
                              : "%Y-%m-%dT%H:%M:%S.%eZ %l %v",
      spdlog::pattern_time_type::utc, "\n"));
}

absl::Status ParseFormat(absl::string_view text, Format* out) {
  if (text == "text") {
    *out = Format::kText;
  } else if (text == "json") {
    *out = Format::kJson;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--log-format \"", text, "\": choose text or json"));
  }
  return absl::OkStatus();
}

Event::Event(Level level, absl::string_view event, absl::string_view message)
    : level_(level), event_(event), message_(message) {}

Event& Event::Field(absl::string_view key, absl::string_view value) {
  fields_.push_back({std::string(key), std::string(value), Value::Kind::kString});
  return *this;
}
Event& Event::Field(absl::string_view key, int64_t value) {
  fields_.push_back(
      {std::string(key), absl::StrCat(value), Value::Kind::kNumber, static_cast<double>(value)});
  return *this;
}
Event& Event::Field(absl::string_view key, uint64_t value) {
  fields_.push_back(
      {std::string(key), absl::StrCat(value), Value::Kind::kNumber, static_cast<double>(value)});
  return *this;
}
Event& Event::Field(absl::string_view key, double value) {
  fields_.push_back({std::string(key), absl::StrCat(value), Value::Kind::kNumber, value});
  return *this;
}
Event& Event::Field(absl::string_view key, bool value) {
  fields_.push_back({std::string(key), value ? "true" : "false", Value::Kind::kBool, 0, value});
  return *this;
}

Event::~Event() {
  std::string line;
  if (format.load() == Format::kJson) {
    absl::StrAppend(&line, "\"event\":", JsonString(event_), ",\"message\":", JsonString(message_));
    for (const Value& field : fields_) {
      google::protobuf::Value value;
      switch (field.kind) {
        case Value::Kind::kString:
          value.set_string_value(field.text);
          break;
        case Value::Kind::kNumber:
          value.set_number_value(field.number);
          break;
        case Value::Kind::kBool:
          value.set_bool_value(field.boolean);
          break;
      }
      absl::StrAppend(&line, ",", JsonString(field.key), ":", Json(value));
    }
  } else {
    absl::StrAppend(&line, event_, ": ", message_);
    for (const Value& field : fields_) {
      const bool quote =
          field.kind == Value::Kind::kString &&
          (field.text.empty() || field.text.find_first_of(" \"=\n") != std::string::npos);
      absl::StrAppend(&line, " ", field.key, "=", quote ? JsonString(field.text) : field.text);
    }
  }
  const spdlog::level::level_enum level = level_ == Level::kInfo   ? spdlog::level::info
                                          : level_ == Level::kWarn ? spdlog::level::warn
                                                                   : spdlog::level::err;
  Logger().log(level, "{}", line);
}

}  // namespace vigil::log
