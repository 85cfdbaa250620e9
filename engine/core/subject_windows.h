#pragma once

// SubjectWindows is the velocity state of one subject — a user, a device, a merchant or a
// mandate — for the windows that the current policy reads about that kind of subject.
//
// A policy lists its windows (WindowSpec); a WindowLayout indexes them by subject. When a new
// policy is loaded, Conform() reshapes the state on its next use: a window whose spec is
// unchanged keeps its counts, a new window starts empty, a dropped one is freed.
//
// Thread-compatible: the owner (holding the subject's shard lock) serialises access.

#include <cstdint>
#include <memory>
#include <vector>

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
  // Reshapes to `layout` if it is not the one in use.
  void Conform(const WindowLayout& layout, Subject subject);
  // Writes this subject's readings at their spec indices in `readings` (sized to all specs).
  // REQUIRES: Conform(layout, subject) was called.
  void Read(const WindowLayout& layout, Subject subject, int64_t now_ms,
            absl::Span<WindowReading> readings) const;
  // Records one Authorize: an attempt, and an approval when `approved`.
  void Record(int64_t time_ms, int64_t amount_minor, uint64_t merchant_hash, bool approved);
  // Takes back an approval recorded at `time_ms`.
  void Release(int64_t time_ms, int64_t amount_minor);

  // Every window with its spec, as plain numbers, for the durable store.
  struct SavedWindow {
    WindowSpec spec;
    std::vector<int64_t> data;
  };
  std::vector<SavedWindow> Save() const;
  // Replaces the windows with saved ones (windows that do not restore are dropped); the next
  // Conform() matches them to the current layout by spec.
  void Restore(const std::vector<SavedWindow>& saved);

 private:
  // One window: a bucket ring for counts and sums, or the recent keys for distinct counts.
  struct Entry {
    WindowSpec spec;
    std::unique_ptr<VelocityWindow> window;  // kApprovals, kAttempts
    std::unique_ptr<RecentKeys> recent;      // kDistinctMerchants
  };
  uint64_t layout_id_ = 0;
  std::vector<Entry> entries_;  // in the order of layout.of(subject)
};

}  // namespace vigil
