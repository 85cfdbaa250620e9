#include "engine/core/subject_windows.h"

#include <algorithm>
#include <utility>

namespace vigil {
namespace {

int64_t LongestSpan(const WindowLayout& layout, Subject subject) {
  int64_t longest = 0;
  for (int index : layout.of(subject)) {
    longest = std::max(longest, layout.specs()[index].shape.span_ms);
  }
  return longest;
}

bool InSpan(int64_t time_ms, int64_t now_ms, int64_t span_ms) {
  return time_ms > now_ms - span_ms && time_ms <= now_ms;
}

}  // namespace

WindowLayout::WindowLayout(std::vector<WindowSpec> specs, uint64_t id)
    : specs_(std::move(specs)), id_(id) {
  for (size_t i = 0; i < specs_.size(); ++i) {
    by_subject_[static_cast<int>(specs_[i].subject)].push_back(static_cast<int>(i));
  }
}

SubjectWindows::Ring SubjectWindows::MakeRing(const WindowSpec& spec) {
  if (spec.metric == WindowMetric::kDistinctMerchants) return Ring{spec, RecentKeys()};
  return Ring{spec, VelocityWindow(spec.shape)};
}

void SubjectWindows::SetRings(std::vector<Ring> rings) {
  rings_ = std::make_unique<Ring[]>(rings.size());
  ring_count_ = static_cast<uint32_t>(rings.size());
  std::move(rings.begin(), rings.end(), rings_.get());
}

void SubjectWindows::AddToRing(Ring& ring, const Event& event, bool approved) {
  switch (ring.spec.metric) {
    case WindowMetric::kApprovals:
      if (approved) std::get<VelocityWindow>(ring.counter).Add(event.time_ms, event.amount_minor);
      break;
    case WindowMetric::kAttempts:
      std::get<VelocityWindow>(ring.counter).Add(event.time_ms, event.amount_minor);
      break;
    case WindowMetric::kDistinctMerchants:
      std::get<RecentKeys>(ring.counter).Add(event.time_ms, event.merchant_hash);
      break;
  }
}

void SubjectWindows::Conform(const WindowLayout& layout, Subject subject) {
  if (layout_id_ == layout.id()) return;
  layout_id_ = layout.id();
  // Events fit any layout; rings are per window.
  if (rings_ == nullptr) return;
  std::vector<Ring> rings;
  rings.reserve(layout.of(subject).size());
  const absl::Span<Ring> old_rings = this->rings();
  for (int index : layout.of(subject)) {
    const WindowSpec& spec = layout.specs()[index];
    auto old = std::find_if(old_rings.begin(), old_rings.end(),
                            [&](const Ring& ring) { return ring.spec == spec; });
    rings.push_back(old != old_rings.end() ? std::move(*old) : MakeRing(spec));
  }
  SetRings(std::move(rings));
}

void SubjectWindows::ReadEvents(const WindowLayout& layout, Subject subject, int64_t now_ms,
                                absl::Span<WindowReading> readings) const {
  for (int index : layout.of(subject)) {
    const WindowSpec& spec = layout.specs()[index];
    WindowReading reading;
    if (spec.metric == WindowMetric::kDistinctMerchants) {
      for (int i = 0; i < event_count_; ++i) {
        const Event& event = events_[i];
        if (!InSpan(event.time_ms, now_ms, spec.shape.span_ms)) continue;
        bool repeat = false;
        for (int j = 0; j < i && !repeat; ++j) {
          repeat = events_[j].merchant_hash == event.merchant_hash &&
                   InSpan(events_[j].time_ms, now_ms, spec.shape.span_ms);
        }
        reading.count += repeat ? 0 : 1;
      }
    } else {
      const bool approvals_only = spec.metric == WindowMetric::kApprovals;
      for (int i = 0; i < event_count_; ++i) {
        const Event& event = events_[i];
        if ((approvals_only && !approved(i)) ||
            !InSpan(event.time_ms, now_ms, spec.shape.span_ms)) {
          continue;
        }
        reading.count += 1;
        reading.sum_minor += event.amount_minor;
      }
    }
    readings[index] = reading;
  }
}

void SubjectWindows::Read(const WindowLayout& layout, Subject subject, int64_t now_ms,
                          absl::Span<WindowReading> readings) const {
  if (rings_ == nullptr) return ReadEvents(layout, subject, now_ms, readings);
  const absl::Span<const int> indices = layout.of(subject);
  for (size_t i = 0; i < indices.size() && i < ring_count_; ++i) {
    const Ring& ring = rings_[i];
    if (const auto* window = std::get_if<VelocityWindow>(&ring.counter)) {
      readings[indices[i]] = window->Read(now_ms);
    } else {
      readings[indices[i]] = WindowReading{
          std::get<RecentKeys>(ring.counter).DistinctSince(now_ms, ring.spec.shape.span_ms), 0};
    }
  }
}

void SubjectWindows::Prune(const WindowLayout& layout, Subject subject, int64_t now_ms) {
  const int64_t longest = LongestSpan(layout, subject);
  int kept = 0;
  uint8_t mask = 0;
  for (int i = 0; i < event_count_; ++i) {
    // An event dated in the future (a client clock ahead) is kept until it can be counted.
    if (events_[i].time_ms <= now_ms - longest) continue;
    events_[kept] = events_[i];
    mask |= static_cast<uint8_t>(approved(i) << kept);
    ++kept;
  }
  event_count_ = static_cast<uint8_t>(kept);
  approved_mask_ = mask;
  if (event_count_ == 0) {
    events_.reset();
    event_capacity_ = 0;
  }
}

void SubjectWindows::AppendEvent(const Event& event, bool approved) {
  if (event_count_ == event_capacity_) {
    const int capacity = std::min<int>(kMaxEvents, std::max(1, 2 * event_capacity_));
    auto grown = std::make_unique<Event[]>(static_cast<size_t>(capacity));
    std::copy_n(events_.get(), event_count_, grown.get());
    events_ = std::move(grown);
    event_capacity_ = static_cast<uint8_t>(capacity);
  }
  events_[event_count_] = event;
  approved_mask_ |= static_cast<uint8_t>(approved << event_count_);
  ++event_count_;
}

void SubjectWindows::ToRings(const WindowLayout& layout, Subject subject) {
  std::vector<Ring> rings;
  rings.reserve(layout.of(subject).size());
  for (int index : layout.of(subject)) rings.push_back(MakeRing(layout.specs()[index]));
  SetRings(std::move(rings));
  for (int i = 0; i < event_count_; ++i) {
    for (Ring& ring : this->rings()) AddToRing(ring, events_[i], approved(i));
  }
  events_.reset();
  event_count_ = event_capacity_ = approved_mask_ = 0;
}

void SubjectWindows::Record(const WindowLayout& layout, Subject subject, int64_t time_ms,
                            int64_t amount_minor, uint64_t merchant_hash, bool approved) {
  const Event event{time_ms, amount_minor, merchant_hash};
  if (rings_ != nullptr) {
    for (Ring& ring : rings()) AddToRing(ring, event, approved);
    return;
  }
  Prune(layout, subject, time_ms);
  if (layout.of(subject).empty()) return;
  if (event_count_ < kMaxEvents) return AppendEvent(event, approved);
  ToRings(layout, subject);
  for (Ring& ring : rings()) AddToRing(ring, event, approved);
}

void SubjectWindows::Release(int64_t time_ms, int64_t amount_minor) {
  if (rings_ != nullptr) {
    for (Ring& ring : rings()) {
      if (ring.spec.metric == WindowMetric::kApprovals) {
        std::get<VelocityWindow>(ring.counter).Remove(time_ms, amount_minor);
      }
    }
    return;
  }
  for (int i = 0; i < event_count_; ++i) {
    if (approved(i) && events_[i].time_ms == time_ms && events_[i].amount_minor == amount_minor) {
      approved_mask_ &= static_cast<uint8_t>(~(1u << i));
      return;
    }
  }
}

SubjectWindows::Saved SubjectWindows::Save() const {
  Saved saved;
  if (rings_ != nullptr) {
    saved.windows.reserve(ring_count_);
    for (const Ring& ring : rings()) {
      saved.windows.push_back(SavedWindow{
          ring.spec, std::visit([](const auto& counter) { return counter.Save(); }, ring.counter)});
    }
    return saved;
  }
  saved.events.reserve(static_cast<size_t>(event_count_) * kSavedEventWords);
  for (int i = 0; i < event_count_; ++i) {
    saved.events.insert(saved.events.end(),
                        {events_[i].time_ms, events_[i].amount_minor,
                         static_cast<int64_t>(events_[i].merchant_hash), approved(i) ? 1 : 0});
  }
  return saved;
}

void SubjectWindows::Restore(const Saved& saved) {
  events_.reset();
  event_count_ = event_capacity_ = approved_mask_ = 0;
  rings_.reset();
  ring_count_ = 0;
  layout_id_ = 0;
  if (!saved.windows.empty()) {
    std::vector<Ring> rings;
    for (const SavedWindow& window : saved.windows) {
      if (window.spec.metric != WindowMetric::kDistinctMerchants &&
          (window.spec.shape.buckets <= 0 || window.spec.shape.span_ms <= 0)) {
        continue;
      }
      Ring ring = MakeRing(window.spec);
      if (std::visit([&](auto& counter) { return counter.Restore(window.data); }, ring.counter)) {
        rings.push_back(std::move(ring));
      }
    }
    SetRings(std::move(rings));
    return;
  }
  const size_t events = std::min<size_t>(saved.events.size() / kSavedEventWords, kMaxEvents);
  for (size_t i = 0; i < events; ++i) {
    const int64_t* word = &saved.events[i * kSavedEventWords];
    AppendEvent(Event{word[0], word[1], static_cast<uint64_t>(word[2])}, word[3] != 0);
  }
}

}  // namespace vigil
