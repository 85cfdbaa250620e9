// The notice suite's backends in store_test: an engine on each journal, and engines on the
// in-memory shared state.

#include <memory>
#include <string>
#include <vector>

#include "engine/core/shared_engine.h"
#include "engine/rules/rule_set.h"
#include "fake_shared_state.h"
#include "gtest/gtest.h"
#include "journals_under_test.h"
#include "notice_backends.h"

namespace vigil::store {
namespace {

class JournalBackend final : public NoticeBackend {
 public:
  explicit JournalBackend(const std::string& name) : journal_(MakeJournalUnderTest(name)) {}
  std::unique_ptr<Engine> MakeEngine(std::shared_ptr<const Policy> policy,
                                     const Clock* clock) override {
    EngineOptions options;
    options.journal = &journal_->journal();
    return Engine::Create(std::move(policy), clock, options);
  }
  NoticeOutbox& outbox() override { return journal_->outbox(); }
  void SetFailing(bool failing) override { journal_->SetFailing(failing); }

 private:
  std::unique_ptr<JournalUnderTest> journal_;
};

class FakeSharedBackend final : public NoticeBackend {
 public:
  std::unique_ptr<Engine> MakeEngine(std::shared_ptr<const Policy> policy,
                                     const Clock* clock) override {
    return SharedEngine::Create(std::move(policy), clock, EngineOptions{}, &state_);
  }
  NoticeOutbox& outbox() override { return state_.outbox(); }
  void SetFailing(bool failing) override { state_.SetDown(failing); }

 private:
  FakeSharedState state_;
};

TEST(NoticesWithoutAJournalTest, ScansAreRefused) {
  absl::StatusOr<std::unique_ptr<const Policy>> policy = rules::LoadRuleSet(VIGIL_RULES_DIR);
  ASSERT_TRUE(policy.ok()) << policy.status();
  FakeClock clock(1'793'584'800'000);
  std::unique_ptr<Engine> engine = Engine::Create(*std::move(policy), &clock, EngineOptions{});
  EXPECT_EQ(engine->ScanMandates(0, clock.NowMs(), {"d", 1}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace

std::vector<std::string> NoticeBackendNames() { return {"memory", "rocksdb", "shared-fake"}; }

std::unique_ptr<NoticeBackend> MakeNoticeBackend(const std::string& name) {
  if (name == "shared-fake") return std::make_unique<FakeSharedBackend>();
  return std::make_unique<JournalBackend>(name);
}

}  // namespace vigil::store
