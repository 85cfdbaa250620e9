#pragma once

// SubjectWindows is the velocity state of one subject — a user, a device, a merchant or a
// mandate — for the windows that the current policy reads about that kind of subject.
//
// A policy lists its windows (WindowSpec); a WindowLayout indexes them by subject. When a new
// policy is loaded, Conform() reshapes the state on its next use: a window whose spec is
// unchanged keeps its counts, a new window starts empty (or, for a subject that still keeps
// its recent events, counts those), a dropped one is freed.
//
// A subject with at most kMaxEvents events inside its longest window keeps the events and
// counts them exactly: an event is inside a window of span S for exactly S. Beyond that it
// moves to bucket rings (see VelocityWindow), which count an event for at least S and at most
// one bucket longer; limits err on the safe side either way.
//
// Thread-compatible: the owner (holding the subject's shard lock) serialises access.

#include <cstdint>
#include <memory>
#include <variant>
#include <vector>

#include "absl/base/optimization.h"
#include "absl/types/span.h"
#include "engine/core/recent_keys.h"
#include "engine/core/velocity_window.h"

namespace vigil {

enum class Subject : uint8_t { kUser, kDevice, kMerchant, kMandate };
inline constexpr int kSubjectCount = 4;

// What a velocity window counts.
enum class WindowMetric : uint8_t {
  kApprovals,          // approved charges (count and amount); FAILED/REVERSED take one back
  kAttempts,           // every Authorize, whatever its decision
  kDistinctMerchants,  // distinct merchant ids among the subject's recent attempts
};

struct WindowSpec {
  Subject subject = Subject::kUser;
  WindowMetric metric = WindowMetric::kApprovals;
  WindowShape shape;

  friend bool operator==(const WindowSpec&, const WindowSpec&) = default;
};

// A policy's windows, grouped by subject. Immutable.
class WindowLayout {
 public:
  // `id` must differ between layouts that differ; a process-wide counter is enough.
  WindowLayout(std::vector<WindowSpec> specs, uint64_t id);

  uint64_t id() const { return id_; }
  absl::Span<const WindowSpec> specs() const { return specs_; }
  // Indices into specs() of one subject's windows, in order.
  absl::Span<const int> of(Subject subject) const { return by_subject_[static_cast<int>(subject)]; }

 private:
  std::vector<WindowSpec> specs_;
  std::vector<int> by_subject_[kSubjectCount];
  uint64_t id_;
};

class SubjectWindows {
 public:
  // Up to this many recent events are kept as events; beyond, the subject moves to rings.
  static constexpr int kMaxEvents = 8;

  // Reshapes to `layout` if it is not the one in use.
  void Conform(const WindowLayout& layout, Subject subject);
  // Writes this subject's readings at their spec indices in `readings` (sized to all specs).
  // REQUIRES: Conform(layout, subject) was called.
  void Read(const WindowLayout& layout, Subject subject, int64_t now_ms,
            absl::Span<WindowReading> readings) const;
  // Records one Authorize: an attempt, and an approval when `approved`.
  // REQUIRES: Conform(layout, subject) was called.
  void Record(const WindowLayout& layout, Subject subject, int64_t time_ms, int64_t amount_minor,
              uint64_t merchant_hash, bool approved);
  // Takes back an approval recorded at `time_ms`.
  void Release(int64_t time_ms, int64_t amount_minor);
  // Starts loading the recent events, or every ring, into the cache for a Read() soon after.
  void Prefetch() const {
    if (events_ != nullptr) __builtin_prefetch(events_.get());
    const char* const rings = reinterpret_cast<const char*>(rings_.get());
    for (size_t offset = 0; offset < ring_count_ * sizeof(Ring); offset += ABSL_CACHELINE_SIZE) {
      __builtin_prefetch(rings + offset);
    }
  }

  // As plain numbers, for the durable store: either the recent events (each as time, amount,
  // merchant hash, approved) or every ring window with its spec.
  struct SavedWindow {
    WindowSpec spec;
    std::vector<int64_t> data;
  };
  struct Saved {
    std::vector<SavedWindow> windows;
    std::vector<int64_t> events;
  };
  static constexpr int kSavedEventWords = 4;
  Saved Save() const;
  // Replaces the state with a saved one (ring windows that do not restore are dropped; events
  // that do not parse are too); the next Conform() matches ring windows to the current layout.
  void Restore(const Saved& saved);

 private:
  // Two representations. A subject with few recent events (nearly every user, device and
  // mandate) keeps the events themselves: exact, and a few dozen bytes. One with more (a busy
  // merchant, an account under attack) keeps a ring of time buckets per window (VelocityWindow)
  // and the recent merchants (RecentKeys): fixed memory whatever the rate.
  struct Event {
    int64_t time_ms;
    int64_t amount_minor;
    uint64_t merchant_hash;
  };
  // A window's counter, held in the ring itself: VelocityWindow for kApprovals and kAttempts,
  // RecentKeys for kDistinctMerchants. The two are about the same size.
  struct Ring {
    WindowSpec spec;
    std::variant<RecentKeys, VelocityWindow> counter;
  };

  void ReadEvents(const WindowLayout& layout, Subject subject, int64_t now_ms,
                  absl::Span<WindowReading> readings) const;
  // Drops events that no window of the subject reaches back to at `now_ms`.
  void Prune(const WindowLayout& layout, Subject subject, int64_t now_ms);
  void AppendEvent(const Event& event, bool approved);
  // Moves from events to rings shaped by `layout`, replaying the events into them.
  void ToRings(const WindowLayout& layout, Subject subject);
  static Ring MakeRing(const WindowSpec& spec);
  void SetRings(std::vector<Ring> rings);
  absl::Span<Ring> rings() { return absl::MakeSpan(rings_.get(), ring_count_); }
  absl::Span<const Ring> rings() const { return absl::MakeConstSpan(rings_.get(), ring_count_); }
  static void AddToRing(Ring& ring, const Event& event, bool approved);
  bool approved(int i) const { return (approved_mask_ >> i) & 1; }

  uint64_t layout_id_ = 0;
  std::unique_ptr<Event[]> events_;  // oldest first; nullptr in ring mode or when none
  uint8_t event_count_ = 0;
  uint8_t event_capacity_ = 0;
  uint8_t approved_mask_ = 0;  // bit i: events_[i] was approved
  uint32_t ring_count_ = 0;
  // Ring mode when not null: one ring per window of the subject, in layout.of(subject) order,
  // in one block that a read walks in order (and Prefetch() starts loading).
  std::unique_ptr<Ring[]> rings_;
};

}  // namespace vigil
