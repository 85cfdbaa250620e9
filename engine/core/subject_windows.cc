#include "engine/core/subject_windows.h"

#include <utility>

namespace vigil {

WindowLayout::WindowLayout(std::vector<WindowSpec> specs, uint64_t id)
    : specs_(std::move(specs)), id_(id) {
  for (size_t i = 0; i < specs_.size(); ++i) {
    by_subject_[static_cast<int>(specs_[i].subject)].push_back(static_cast<int>(i));
  }
}

void SubjectWindows::Conform(const WindowLayout& layout, Subject subject) {
  if (layout_id_ == layout.id()) return;
  std::vector<Entry> entries;
  entries.reserve(layout.of(subject).size());
  for (int index : layout.of(subject)) {
    const WindowSpec& spec = layout.specs()[index];
    bool kept = false;
    for (Entry& old : entries_) {
      if (old.spec == spec) {
        entries.push_back(std::move(old));
        kept = true;
        break;
      }
    }
    if (kept) continue;
    Entry entry{spec, nullptr, nullptr};
    if (spec.metric == WindowMetric::kDistinctMerchants) {
      entry.recent = std::make_unique<RecentKeys>();
    } else {
      entry.window = std::make_unique<VelocityWindow>(spec.shape);
    }
    entries.push_back(std::move(entry));
  }
  entries_ = std::move(entries);
  layout_id_ = layout.id();
}

void SubjectWindows::Read(const WindowLayout& layout, Subject subject, int64_t now_ms,
                          absl::Span<WindowReading> readings) const {
  const absl::Span<const int> indices = layout.of(subject);
  for (size_t i = 0; i < indices.size() && i < entries_.size(); ++i) {
    const Entry& entry = entries_[i];
    readings[indices[i]] =
        entry.spec.metric == WindowMetric::kDistinctMerchants
            ? WindowReading{entry.recent->DistinctSince(now_ms, entry.spec.shape.span_ms), 0}
            : entry.window->Read(now_ms);
  }
}

void SubjectWindows::Record(int64_t time_ms, int64_t amount_minor, uint64_t merchant_hash,
                            bool approved) {
  for (Entry& entry : entries_) {
    switch (entry.spec.metric) {
      case WindowMetric::kApprovals:
        if (approved) entry.window->Add(time_ms, amount_minor);
        break;
      case WindowMetric::kAttempts:
        entry.window->Add(time_ms, amount_minor);
        break;
      case WindowMetric::kDistinctMerchants:
        entry.recent->Add(time_ms, merchant_hash);
        break;
    }
  }
}

void SubjectWindows::Release(int64_t time_ms, int64_t amount_minor) {
  for (Entry& entry : entries_) {
    if (entry.spec.metric == WindowMetric::kApprovals) entry.window->Remove(time_ms, amount_minor);
  }
}

std::vector<SubjectWindows::SavedWindow> SubjectWindows::Save() const {
  std::vector<SavedWindow> saved;
  saved.reserve(entries_.size());
  for (const Entry& entry : entries_) {
    saved.push_back(SavedWindow{
        entry.spec, entry.recent != nullptr ? entry.recent->Save() : entry.window->Save()});
  }
  return saved;
}

void SubjectWindows::Restore(const std::vector<SavedWindow>& saved) {
  entries_.clear();
  for (const SavedWindow& window : saved) {
    Entry entry{window.spec, nullptr, nullptr};
    bool ok = false;
    if (window.spec.metric == WindowMetric::kDistinctMerchants) {
      entry.recent = std::make_unique<RecentKeys>();
      ok = entry.recent->Restore(window.data);
    } else if (window.spec.shape.buckets > 0 && window.spec.shape.span_ms > 0) {
      entry.window = std::make_unique<VelocityWindow>(window.spec.shape);
      ok = entry.window->Restore(window.data);
    }
    if (ok) entries_.push_back(std::move(entry));
  }
  layout_id_ = 0;
}

}  // namespace vigil
