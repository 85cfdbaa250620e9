#pragma once

// Every Journal implementation, made for tests the same way: a journal that can be restarted
// (what a new process would restore) and made to fail as a full disk does. The conformance
// suite runs over all of them; tests of the engine's durability use them too.

#include <filesystem>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "engine/core/decision_log.h"
#include "engine/core/journal.h"
#include "engine/store/memory_journal.h"
#include "engine/store/rocksdb_store.h"
#include "full_disk.h"
#include "gtest/gtest.h"

namespace vigil::store {

class JournalUnderTest {
 public:
  virtual ~JournalUnderTest() = default;
  virtual Journal& journal() = 0;
  virtual DecisionLog& log() = 0;
  virtual NoticeOutbox& outbox() = 0;
  // Restarts as a process would, on what was made durable, and returns what it restores.
  virtual absl::StatusOr<RestoredState> Restart() = 0;
  // While `failing`, writes fail as on a full disk.
  virtual void SetFailing(bool failing) = 0;
};

// A journal that keeps what it would restore in memory (MemoryJournal, or one like it with
// Load() and SetFailure()): its restart is its Load(), a full disk a failure it is told of.
template <typename InMemoryJournal>
class InMemoryUnderTest : public JournalUnderTest {
 public:
  template <typename... Args>
  explicit InMemoryUnderTest(Args&&... args) : journal_(std::forward<Args>(args)...) {}
  Journal& journal() override { return journal_; }
  DecisionLog& log() override { return journal_; }
  NoticeOutbox& outbox() override { return journal_; }
  absl::StatusOr<RestoredState> Restart() override { return journal_.Load(); }
  void SetFailing(bool failing) override {
    journal_.SetFailure(failing ? absl::UnavailableError("no space left on device")
                                : absl::OkStatus());
  }

 private:
  InMemoryJournal journal_;
};

class MemoryUnderTest final : public InMemoryUnderTest<MemoryJournal> {
 public:
  static constexpr const char* kName = "memory";
};

class RocksDbUnderTest final : public JournalUnderTest {
 public:
  static constexpr const char* kName = "rocksdb";
  RocksDbUnderTest()
      : dir_(std::filesystem::temp_directory_path() /
             absl::StrCat("vigil-journal-", getpid(), "-", Serial())) {
    std::filesystem::remove_all(dir_);
    Open();
  }
  ~RocksDbUnderTest() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  Journal& journal() override { return *store_; }
  DecisionLog& log() override { return *store_; }
  NoticeOutbox& outbox() override { return *store_; }
  absl::StatusOr<RestoredState> Restart() override {
    store_.reset();  // closes the database, as a process exit would
    Open();
    return store_->Load();
  }
  void SetFailing(bool failing) override { disk_.SetFull(failing); }

 private:
  static int Serial() {
    static int next = 0;
    return next++;
  }
  void Open() {
    absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
        RocksDbStore::Open(StoreOptions{.path = dir_.string(),
                                        .sync = false,
                                        .env = disk_.env(),
                                        .retry_interval = absl::Milliseconds(10)});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  FullDisk disk_;
  std::filesystem::path dir_;
  std::unique_ptr<RocksDbStore> store_;
};

inline std::unique_ptr<JournalUnderTest> MakeJournalUnderTest(const std::string& name) {
  if (name == MemoryUnderTest::kName) return std::make_unique<MemoryUnderTest>();
  return std::make_unique<RocksDbUnderTest>();
}

}  // namespace vigil::store
