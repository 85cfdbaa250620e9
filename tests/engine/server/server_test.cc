// vigild as a payment gateway and an app backend see it: a real server in-process, the shipped
// rules, real gRPC calls over loopback. These tests cover the transport, the mapping of errors
// to status codes and the wiring of the services to the engine (mandate lifecycles, outcomes,
// idempotency, concurrency). What the shipped policy decides for a given user and charge is
// tested by its rule tests, rules/tests/*.yaml. Time is a FakeClock (or, with
// --trust-client-time, each call's event_time_ms), never a sleep.

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "engine/core/clock.h"
#include "engine/server/vigil_server.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "vigil/v1/vigil.grpc.pb.h"

namespace vigil::server {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Property;
using ::testing::ResultOf;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAreArray;

constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

// Local (+08:00) wall time as epoch milliseconds.
int64_t LocalMs(int y, int mo, int d, int h, int mi) {
  return absl::ToUnixMillis(
      absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0), absl::FixedTimeZone(8 * 3600)));
}

// 2026-11-27 10:00 in China: the decision date of these tests.
const int64_t kStart = LocalMs(2026, 11, 27, 10, 0);

struct Call {
  grpc::Status status;
  v1::AuthorizeResponse response;
};

std::vector<std::string> Codes(const v1::AuthorizeResponse& response) {
  std::vector<std::string> codes;
  for (const v1::Reason& reason : response.reasons()) codes.push_back(reason.code());
  return codes;
}

// An answer with this decision and exactly these reason codes, in any order: a decision is
// always checked with its reasons, so that the right decision for the wrong reason fails.
::testing::Matcher<const v1::AuthorizeResponse&> Answer(v1::Decision decision,
                                                        std::vector<std::string> codes = {}) {
  return AllOf(Property("decision", &v1::AuthorizeResponse::decision, decision),
               ResultOf("the reason codes", Codes, UnorderedElementsAreArray(codes)));
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(Options()); }

  ServerOptions Options() {
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.rules_dir = VIGIL_RULES_DIR;
    options.clock = &clock_;
    return options;
  }

  void Start(const ServerOptions& options) {
    server_.reset();
    absl::StatusOr<std::unique_ptr<VigilServer>> server = VigilServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
    risk_ = v1::RiskEngine::NewStub(channel_);
    mandates_ = v1::Mandates::NewStub(channel_);
    users_ = v1::Users::NewStub(channel_);
  }

  static v1::GrantMandateRequest GrantRequest(const std::string& user,
                                              const std::string& merchant) {
    v1::GrantMandateRequest request;
    request.set_user_id(user);
    request.set_merchant_id(merchant);
    request.mutable_consent()->set_explicit_opt_in(true);
    request.mutable_consent()->set_terms_version("2026-01");
    request.mutable_consent()->set_consented_at_ms(kStart - kDay);
    return request;
  }

  grpc::Status TryGrant(const v1::GrantMandateRequest& request, v1::Mandate* mandate) {
    grpc::ClientContext context;
    return mandates_->GrantMandate(&context, request, mandate);
  }

  v1::Mandate Grant(const std::string& user, const std::string& merchant) {
    v1::Mandate mandate;
    const grpc::Status status = TryGrant(GrantRequest(user, merchant), &mandate);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return mandate;
  }

  grpc::Status PutProfile(const v1::UserProfile& profile) {
    grpc::ClientContext context;
    v1::UserProfile out;
    return users_->PutUserProfile(&context, profile, &out);
  }

  void PutElderly(const std::string& user, const std::string& birth_date, bool assessed) {
    v1::UserProfile profile;
    profile.set_user_id(user);
    profile.set_birth_date(birth_date);
    profile.set_risk_assessment_completed(assessed);
    ASSERT_TRUE(PutProfile(profile).ok());
  }

  static v1::AuthorizeRequest Charge(const std::string& txn, const std::string& user,
                                     const std::string& merchant, int64_t amount_minor) {
    v1::AuthorizeRequest request;
    request.set_transaction_id(txn);
    request.set_user_id(user);
    request.set_merchant_id(merchant);
    request.set_amount_minor(amount_minor);
    request.set_currency("CNY");
    request.set_channel(v1::QR_CODE);
    return request;
  }

  Call Authorize(const v1::AuthorizeRequest& request) {
    grpc::ClientContext context;
    Call call;
    call.status = risk_->Authorize(&context, request, &call.response);
    return call;
  }

  // Authorize that must succeed at the gRPC level.
  v1::AuthorizeResponse Decide(const v1::AuthorizeRequest& request) {
    Call call = Authorize(request);
    EXPECT_TRUE(call.status.ok()) << call.status.error_message();
    return call.response;
  }

  grpc::Status Report(const std::string& txn, v1::Outcome outcome) {
    grpc::ClientContext context;
    v1::ReportOutcomeRequest request;
    request.set_transaction_id(txn);
    request.set_outcome(outcome);
    v1::ReportOutcomeResponse response;
    return risk_->ReportOutcome(&context, request, &response);
  }

  v1::Mandate GetMandate(const std::string& mandate_id) {
    grpc::ClientContext context;
    v1::GetMandateRequest request;
    request.set_mandate_id(mandate_id);
    v1::Mandate mandate;
    EXPECT_TRUE(mandates_->GetMandate(&context, request, &mandate).ok());
    return mandate;
  }

  v1::ListMandatesResponse List(const std::string& user, bool include_revoked) {
    grpc::ClientContext context;
    v1::ListMandatesRequest request;
    request.set_user_id(user);
    request.set_include_revoked(include_revoked);
    v1::ListMandatesResponse response;
    EXPECT_TRUE(mandates_->ListMandates(&context, request, &response).ok());
    return response;
  }

  FakeClock clock_{kStart};
  std::unique_ptr<VigilServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::RiskEngine::Stub> risk_;
  std::unique_ptr<v1::Mandates::Stub> mandates_;
  std::unique_ptr<v1::Users::Stub> users_;
};

// --- the stolen account ----------------------------------------------------------------------

TEST_F(ServerTest, StolenAccountIsStoppedByVelocityNotByTheDailyCap) {
  ServerOptions options = Options();
  options.trust_client_time = true;
  Start(options);
  Grant("victim", "shop");
  constexpr int kCharges = 162;
  constexpr int64_t kSpacing = 3 * kHour / kCharges;
  int approved = 0;
  bool declined = false;
  for (int i = 0; i < kCharges; ++i) {
    v1::AuthorizeRequest request = Charge(absl::StrCat("attack-", i), "victim", "shop", 5000);
    request.set_event_time_ms(kStart + i * kSpacing);
    const v1::AuthorizeResponse response = Decide(request);
    if (response.decision() == v1::APPROVE) {
      ++approved;
      continue;
    }
    declined = declined || response.decision() == v1::DECLINE;
    EXPECT_THAT(response.reasons(), Not(SizeIs(0))) << "charge " << i;
    EXPECT_THAT(Codes(response), Not(Contains("DAILY_LIMIT"))) << "charge " << i;
  }
  EXPECT_GT(approved, 0);
  EXPECT_LE(approved, 20);
  EXPECT_TRUE(declined);
}

// --- mandates ------------------------------------------------------------------------------------

TEST_F(ServerTest, RevokedMandateStopsTheNextCharge) {
  const v1::Mandate mandate = Grant("u1", "shop");
  EXPECT_THAT(Decide(Charge("t1", "u1", "shop", 1000)), Answer(v1::APPROVE));

  grpc::ClientContext context;
  v1::RevokeMandateRequest revoke;
  revoke.set_mandate_id(mandate.mandate_id());
  revoke.set_user_id("u1");
  revoke.set_reason("cancelled the app");
  v1::Mandate revoked;
  ASSERT_TRUE(mandates_->RevokeMandate(&context, revoke, &revoked).ok());
  EXPECT_EQ(revoked.status(), v1::REVOKED);
  EXPECT_EQ(revoked.revoke_reason(), "cancelled the app");

  EXPECT_THAT(Decide(Charge("t2", "u1", "shop", 1000)), Answer(v1::CHALLENGE, {"MANDATE_REVOKED"}));
}

TEST_F(ServerTest, RevokingAnotherUsersMandateIsDeniedAndTwiceIsHarmless) {
  const v1::Mandate mandate = Grant("owner", "shop");
  v1::RevokeMandateRequest revoke;
  revoke.set_mandate_id(mandate.mandate_id());
  revoke.set_user_id("intruder");
  v1::Mandate out;
  {
    grpc::ClientContext context;
    EXPECT_EQ(mandates_->RevokeMandate(&context, revoke, &out).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  EXPECT_EQ(GetMandate(mandate.mandate_id()).status(), v1::ACTIVE);
  revoke.set_user_id("owner");
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext context;
    ASSERT_TRUE(mandates_->RevokeMandate(&context, revoke, &out).ok());
    EXPECT_EQ(out.status(), v1::REVOKED);
  }
}

TEST_F(ServerTest, RevokeAllRevokesEveryActiveMandateOfTheUser) {
  const v1::Mandate a = Grant("u2", "shop-a");
  Grant("u2", "shop-b");
  Grant("u2", "*");
  Grant("someone-else", "shop-a");
  {
    grpc::ClientContext context;
    v1::PauseMandateRequest pause;
    pause.set_mandate_id(a.mandate_id());
    pause.set_user_id("u2");
    v1::Mandate out;
    ASSERT_TRUE(mandates_->PauseMandate(&context, pause, &out).ok());
  }

  grpc::ClientContext context;
  v1::RevokeAllMandatesRequest request;
  request.set_user_id("u2");
  request.set_reason("one-click cancel");
  v1::RevokeAllMandatesResponse response;
  ASSERT_TRUE(mandates_->RevokeAllMandates(&context, request, &response).ok());
  EXPECT_EQ(response.revoked_count(), 3);

  const v1::ListMandatesResponse all = List("u2", /*include_revoked=*/true);
  ASSERT_THAT(all.mandates(), SizeIs(3));
  for (const v1::Mandate& m : all.mandates()) {
    EXPECT_EQ(m.status(), v1::REVOKED) << m.mandate_id();
    EXPECT_EQ(m.revoke_reason(), "one-click cancel");
  }
  EXPECT_THAT(List("u2", /*include_revoked=*/false).mandates(), SizeIs(0));
  EXPECT_THAT(List("someone-else", false).mandates(), SizeIs(1));
  EXPECT_THAT(Decide(Charge("t-b", "u2", "shop-b", 100)),
              Answer(v1::CHALLENGE, {"MANDATE_REVOKED"}));
  EXPECT_THAT(Decide(Charge("t-any", "u2", "corner-store", 100)),
              Answer(v1::CHALLENGE, {"MANDATE_REVOKED"}));
}

TEST_F(ServerTest, PausedMandateApprovesNothingUntilResumed) {
  const v1::Mandate mandate = Grant("u3", "shop");
  v1::PauseMandateRequest pause;
  pause.set_mandate_id(mandate.mandate_id());
  pause.set_user_id("u3");
  v1::Mandate out;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(mandates_->PauseMandate(&context, pause, &out).ok());
    EXPECT_EQ(out.status(), v1::PAUSED);
  }
  EXPECT_THAT(Decide(Charge("p1", "u3", "shop", 100)), Answer(v1::CHALLENGE, {"MANDATE_PAUSED"}));

  v1::ResumeMandateRequest resume;
  resume.set_mandate_id(mandate.mandate_id());
  resume.set_user_id("u3");
  {
    grpc::ClientContext context;
    ASSERT_TRUE(mandates_->ResumeMandate(&context, resume, &out).ok());
    EXPECT_EQ(out.status(), v1::ACTIVE);
  }
  EXPECT_THAT(Decide(Charge("p2", "u3", "shop", 100)), Answer(v1::APPROVE));
}

TEST_F(ServerTest, RevokedMandateCanNeverBeResumed) {
  const v1::Mandate mandate = Grant("u4", "shop");
  v1::RevokeMandateRequest revoke;
  revoke.set_mandate_id(mandate.mandate_id());
  revoke.set_user_id("u4");
  v1::Mandate out;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(mandates_->RevokeMandate(&context, revoke, &out).ok());
  }
  grpc::ClientContext context;
  v1::ResumeMandateRequest resume;
  resume.set_mandate_id(mandate.mandate_id());
  resume.set_user_id("u4");
  EXPECT_EQ(mandates_->ResumeMandate(&context, resume, &out).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(GetMandate(mandate.mandate_id()).status(), v1::REVOKED);
}

TEST_F(ServerTest, ExpiredMandateNeverApproves) {
  v1::GrantMandateRequest request = GrantRequest("u5", "shop");
  request.set_expires_at_ms(kStart + kHour);
  v1::Mandate mandate;
  ASSERT_TRUE(TryGrant(request, &mandate).ok());
  EXPECT_THAT(Decide(Charge("e1", "u5", "shop", 100)), Answer(v1::APPROVE));

  clock_.AdvanceMs(kHour);
  EXPECT_THAT(Decide(Charge("e2", "u5", "shop", 100)), Answer(v1::CHALLENGE, {"MANDATE_EXPIRED"}));
  EXPECT_EQ(GetMandate(mandate.mandate_id()).status(), v1::EXPIRED);

  grpc::ClientContext context;
  v1::ResumeMandateRequest resume;
  resume.set_mandate_id(mandate.mandate_id());
  resume.set_user_id("u5");
  v1::Mandate out;
  EXPECT_EQ(mandates_->ResumeMandate(&context, resume, &out).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  clock_.AdvanceMs(30 * kDay);
  EXPECT_THAT(Decide(Charge("e3", "u5", "shop", 100)), Answer(v1::CHALLENGE, {"MANDATE_EXPIRED"}));
}

TEST_F(ServerTest, NoMandateIsNeverApproved) {
  EXPECT_THAT(Decide(Charge("n1", "stranger", "shop", 100)), Answer(v1::CHALLENGE, {"NO_MANDATE"}));
}

TEST_F(ServerTest, GeneralMandateCoversAnyMerchantAndExplicitIdMustMatch) {
  const v1::Mandate general = Grant("u6", "*");
  const v1::Mandate shop = Grant("u6", "shop");
  EXPECT_THAT(Decide(Charge("g1", "u6", "corner-store", 100)), Answer(v1::APPROVE));

  v1::AuthorizeRequest wrong = Charge("g2", "u6", "other-shop", 100);
  wrong.set_mandate_id(shop.mandate_id());
  EXPECT_THAT(Decide(wrong), Answer(v1::CHALLENGE, {"MANDATE_MERCHANT_MISMATCH"}));

  v1::AuthorizeRequest unknown = Charge("g3", "u6", "shop", 100);
  unknown.set_mandate_id("mdt_does_not_exist");
  EXPECT_THAT(Decide(unknown), Answer(v1::CHALLENGE, {"MANDATE_NOT_FOUND"}));

  v1::AuthorizeRequest explicit_general = Charge("g4", "u6", "shop", 100);
  explicit_general.set_mandate_id(general.mandate_id());
  EXPECT_THAT(Decide(explicit_general), Answer(v1::APPROVE));
}

// --- consent and elderly users ----------------------------------------------------------------

TEST_F(ServerTest, GrantNeedsExplicitConsent) {
  v1::Mandate out;
  v1::GrantMandateRequest no_opt_in = GrantRequest("c1", "shop");
  no_opt_in.mutable_consent()->set_explicit_opt_in(false);
  EXPECT_EQ(TryGrant(no_opt_in, &out).error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  v1::GrantMandateRequest no_terms = GrantRequest("c1", "shop");
  no_terms.mutable_consent()->clear_terms_version();
  EXPECT_EQ(TryGrant(no_terms, &out).error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  EXPECT_THAT(List("c1", true).mandates(), SizeIs(0));
}

TEST_F(ServerTest, ElderlyUserNeedsARiskAssessmentBeforeAGrant) {
  v1::Mandate out;
  PutElderly("grandma", "1950-03-01", /*assessed=*/false);
  const grpc::Status refused = TryGrant(GrantRequest("grandma", "shop"), &out);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(refused.error_message(), HasSubstr("risk assessment"));
  EXPECT_THAT(List("grandma", true).mandates(), SizeIs(0));

  PutElderly("grandma", "1950-03-01", /*assessed=*/true);
  ASSERT_TRUE(TryGrant(GrantRequest("grandma", "shop"), &out).ok());
  EXPECT_EQ(out.status(), v1::ACTIVE);
}

TEST_F(ServerTest, GrantLimitAbovePolicyCapIsInvalid) {
  v1::Mandate out;
  v1::GrantMandateRequest request = GrantRequest("c2", "shop");
  request.set_per_txn_limit_minor(100001);
  const grpc::Status status = TryGrant(request, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("per_txn_limit_minor"));
  PutElderly("c3", "1940-01-01", true);
  v1::GrantMandateRequest elderly = GrantRequest("c3", "shop");
  elderly.set_daily_limit_minor(50001);
  EXPECT_EQ(TryGrant(elderly, &out).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServerTest, AProfileCapAboveThePolicysIsInvalidAndChangesNothing) {
  v1::UserProfile profile;
  profile.set_user_id("careful");
  profile.set_per_txn_limit_minor(5000);
  ASSERT_TRUE(PutProfile(profile).ok());

  profile.set_per_txn_limit_minor(100001);
  const grpc::Status status = PutProfile(profile);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("per_txn_limit_minor"));
  grpc::ClientContext context;
  v1::GetUserProfileRequest request;
  request.set_user_id("careful");
  v1::UserProfile stored;
  ASSERT_TRUE(users_->GetUserProfile(&context, request, &stored).ok());
  EXPECT_EQ(stored.per_txn_limit_minor(), 5000);
}

// --- dormant mandates and strong authentication
// ---------------------------------------------------

TEST_F(ServerTest, DormantMandateIsChallengedUntilStrongAuthPasses) {
  const v1::Mandate mandate = Grant("sleepy", "shop");
  clock_.AdvanceMs(89 * kDay);
  EXPECT_THAT(Decide(Charge("d0", "sleepy", "shop", 100)), Answer(v1::APPROVE));

  clock_.AdvanceMs(91 * kDay);
  EXPECT_THAT(Decide(Charge("d1", "sleepy", "shop", 100)),
              Answer(v1::CHALLENGE, {"MANDATE_DORMANT"}));
  EXPECT_EQ(GetMandate(mandate.mandate_id()).status(), v1::DORMANT);

  ASSERT_TRUE(Report("d1", v1::STRONG_AUTH_PASSED).ok());
  EXPECT_EQ(GetMandate(mandate.mandate_id()).status(), v1::ACTIVE);
  EXPECT_THAT(Decide(Charge("d2", "sleepy", "shop", 100)), Answer(v1::APPROVE));
}

TEST_F(ServerTest, RepeatedStrongAuthFailuresDecline) {
  Grant("phished", "shop");
  for (int i = 0; i < 3; ++i) {
    const std::string txn = absl::StrCat("sa-", i);
    ASSERT_THAT(Decide(Charge(txn, "phished", "shop", 150000)),
                Answer(v1::CHALLENGE, {"PER_TXN_LIMIT"}));
    ASSERT_TRUE(Report(txn, v1::STRONG_AUTH_FAILED).ok());
    ASSERT_TRUE(Report(txn, v1::STRONG_AUTH_FAILED).ok());  // reported twice, counted once
  }
  EXPECT_THAT(Decide(Charge("sa-x", "phished", "shop", 100)),
              Answer(v1::DECLINE, {"STRONG_AUTH_FAILURES"}));
}

// --- idempotency and outcomes
// ---------------------------------------------------------------------

TEST_F(ServerTest, SameTransactionIdGivesTheSameAnswerAndCountsOnce) {
  Grant("idem", "shop");
  const v1::AuthorizeResponse first = Decide(Charge("dup", "idem", "shop", 100000));
  const v1::AuthorizeResponse again = Decide(Charge("dup", "idem", "shop", 100000));
  EXPECT_THAT(first, Answer(v1::APPROVE));
  EXPECT_EQ(again.SerializeAsString(), first.SerializeAsString());
  // Counted once: 1,000 + 1,000 fits the 2,000 daily cap.
  EXPECT_THAT(Decide(Charge("second", "idem", "shop", 100000)), Answer(v1::APPROVE));
  EXPECT_THAT(Decide(Charge("third", "idem", "shop", 100)), Answer(v1::CHALLENGE, {"DAILY_LIMIT"}));
}

TEST_F(ServerTest, SameTransactionIdForAnotherChargeAlreadyExists) {
  Grant("idem2", "shop");
  Grant("other", "shop");
  ASSERT_THAT(Decide(Charge("reused", "idem2", "shop", 100)), Answer(v1::APPROVE));
  EXPECT_EQ(Authorize(Charge("reused", "idem2", "shop", 101)).status.error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Authorize(Charge("reused", "other", "shop", 100)).status.error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Authorize(Charge("reused", "idem2", "shop-2", 100)).status.error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  v1::AuthorizeRequest usd = Charge("reused", "idem2", "shop", 100);
  usd.set_currency("USD");
  EXPECT_EQ(Authorize(usd).status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
}

TEST_F(ServerTest, FailedAndReversedOutcomesReleaseTheAmountOnce) {
  Grant("refund", "shop");
  ASSERT_THAT(Decide(Charge("r1", "refund", "shop", 100000)), Answer(v1::APPROVE));
  ASSERT_THAT(Decide(Charge("r2", "refund", "shop", 100000)), Answer(v1::APPROVE));
  EXPECT_THAT(Decide(Charge("r3", "refund", "shop", 100000)),
              Answer(v1::CHALLENGE, {"DAILY_LIMIT"}));

  ASSERT_TRUE(Report("r1", v1::FAILED).ok());
  ASSERT_TRUE(Report("r1", v1::FAILED).ok());  // harmless twice
  EXPECT_THAT(Decide(Charge("r4", "refund", "shop", 100000)), Answer(v1::APPROVE));
  EXPECT_THAT(Decide(Charge("r5", "refund", "shop", 100000)),
              Answer(v1::CHALLENGE, {"DAILY_LIMIT"}))
      << "a second FAILED report must not release twice";

  ASSERT_TRUE(Report("r2", v1::REVERSED).ok());
  EXPECT_THAT(Decide(Charge("r6", "refund", "shop", 100000)), Answer(v1::APPROVE));
}

TEST_F(ServerTest, OutcomeForUnknownTransactionIsNotFound) {
  EXPECT_EQ(Report("never-seen", v1::COMPLETED).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Report("", v1::COMPLETED).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  Grant("o1", "shop");
  Decide(Charge("o-t", "o1", "shop", 100));
  EXPECT_EQ(Report("o-t", v1::OUTCOME_UNSPECIFIED).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Report("o-t", static_cast<v1::Outcome>(42)).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServerTest, TheSweeperForgetsTransactionIdsOlderThanTheRetention) {
  ServerOptions options = Options();
  options.idempotency_retention = absl::Hours(1);
  options.sweep_interval = absl::Milliseconds(200);
  Start(options);
  Grant("swept", "shop");
  constexpr int kOld = 50;
  for (int i = 0; i < kOld; ++i) Decide(Charge(absl::StrCat("old-", i), "swept", "shop", 100));
  clock_.AdvanceMs(2 * kHour);
  Decide(Charge("recent", "swept", "shop", 100));

  // The sweeper passes over the records in steps, in the background: wait for its pass.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  int remembered = kOld;
  while (remembered > 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
    remembered = 0;
    for (int i = 0; i < kOld; ++i) {
      if (Report(absl::StrCat("old-", i), v1::COMPLETED).error_code() !=
          grpc::StatusCode::NOT_FOUND) {
        ++remembered;
      }
    }
  }
  EXPECT_EQ(remembered, 0);
  EXPECT_TRUE(Report("recent", v1::COMPLETED).ok())
      << "an id seen within the retention is still remembered";
}

// --- concurrency
// ----------------------------------------------------------------------------------

TEST_F(ServerTest, ConcurrentChargesNeverExceedTheDailyCap) {
  Grant("hot", "shop");
  constexpr int kThreads = 8;
  constexpr int kChargesPerThread = 10;
  constexpr int64_t kAmount = 30000;  // 300 CNY: the 2,000 CNY cap binds before velocity does
  std::atomic<int64_t> approved_minor{0};
  std::atomic<int> approvals{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto stub = v1::RiskEngine::NewStub(grpc::CreateChannel(
          absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials()));
      for (int i = 0; i < kChargesPerThread; ++i) {
        grpc::ClientContext context;
        v1::AuthorizeResponse response;
        const grpc::Status status = stub->Authorize(
            &context, Charge(absl::StrCat("hot-", t, "-", i), "hot", "shop", kAmount), &response);
        if (!status.ok()) {
          failures.fetch_add(1);
        } else if (response.decision() == v1::APPROVE) {
          approved_minor.fetch_add(kAmount);
          approvals.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(approved_minor.load(), 200000);
  EXPECT_EQ(approvals.load(), 6) << "as many 300 CNY charges as fit in 2,000 CNY";
}

// --- malformed requests
// ---------------------------------------------------------------------------

struct BadField {
  std::string field;
  std::function<void(v1::AuthorizeRequest&)> spoil;
};

TEST_F(ServerTest, EveryMalformedAuthorizeFieldIsInvalidAndChangesNothing) {
  Grant("valid", "shop");
  const std::string long_id(129, 'x');
  const std::vector<BadField> cases = {
      {"transaction_id", [](auto& r) { r.clear_transaction_id(); }},
      {"transaction_id", [&](auto& r) { r.set_transaction_id(long_id); }},
      {"user_id", [](auto& r) { r.clear_user_id(); }},
      {"user_id", [&](auto& r) { r.set_user_id(long_id); }},
      {"merchant_id", [](auto& r) { r.clear_merchant_id(); }},
      {"merchant_id", [&](auto& r) { r.set_merchant_id(long_id); }},
      {"mandate_id", [&](auto& r) { r.set_mandate_id(long_id); }},
      {"device_id", [&](auto& r) { r.set_device_id(long_id); }},
      {"amount_minor", [](auto& r) { r.set_amount_minor(0); }},
      {"amount_minor", [](auto& r) { r.set_amount_minor(-5000); }},
      {"currency", [](auto& r) { r.clear_currency(); }},
      {"currency", [](auto& r) { r.set_currency("cny"); }},
      {"currency", [](auto& r) { r.set_currency("CNYY"); }},
      {"channel", [](auto& r) { r.set_channel(static_cast<v1::Channel>(99)); }},
      {"funding_source", [](auto& r) { r.set_funding_source(static_cast<v1::FundingSource>(-1)); }},
      {"event_time_ms", [](auto& r) { r.set_event_time_ms(-1); }},
  };
  // Far more bad calls than the burst threshold: none of them may count as an attempt.
  for (int round = 0; round < 3; ++round) {
    int n = 0;
    for (const BadField& bad : cases) {
      v1::AuthorizeRequest request = Charge(absl::StrCat("bad-", n++), "valid", "shop", 100);
      bad.spoil(request);
      const Call call = Authorize(request);
      EXPECT_EQ(call.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad.field;
      EXPECT_THAT(call.status.error_message(), HasSubstr(bad.field));
    }
  }
  // No idempotency record was made and no window moved.
  EXPECT_THAT(Decide(Charge("bad-0", "valid", "shop", 100)), Answer(v1::APPROVE));
  EXPECT_THAT(Decide(Charge("bad-1", "valid", "shop", 100)), Answer(v1::APPROVE));
}

TEST_F(ServerTest, MalformedMandateAndProfileRequestsAreInvalidAndChangeNothing) {
  v1::Mandate out;
  const std::string long_id(129, 'u');
  v1::GrantMandateRequest no_user = GrantRequest("", "shop");
  EXPECT_EQ(TryGrant(no_user, &out).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::GrantMandateRequest long_user = GrantRequest(long_id, "shop");
  EXPECT_EQ(TryGrant(long_user, &out).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::GrantMandateRequest no_merchant = GrantRequest("g", "");
  EXPECT_EQ(TryGrant(no_merchant, &out).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::GrantMandateRequest negative = GrantRequest("g", "shop");
  negative.set_monthly_limit_minor(-1);
  const grpc::Status status = TryGrant(negative, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("monthly_limit_minor"));
  v1::GrantMandateRequest past = GrantRequest("g", "shop");
  past.set_expires_at_ms(kStart - 1);
  EXPECT_EQ(TryGrant(past, &out).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(List("g", true).mandates(), SizeIs(0));

  v1::UserProfile profile;
  profile.set_user_id("p");
  profile.set_birth_date("1990-01-31");
  ASSERT_TRUE(PutProfile(profile).ok());
  for (const char* bad : {"1990-02-30", "19900101", "1990-1-01", "not a date"}) {
    v1::UserProfile spoiled = profile;
    spoiled.set_birth_date(bad);
    const grpc::Status put = PutProfile(spoiled);
    EXPECT_EQ(put.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_THAT(put.error_message(), HasSubstr("birth_date"));
  }
  grpc::ClientContext context;
  v1::GetUserProfileRequest get;
  get.set_user_id("p");
  v1::UserProfile stored;
  ASSERT_TRUE(users_->GetUserProfile(&context, get, &stored).ok());
  EXPECT_EQ(stored.birth_date(), "1990-01-31");

  grpc::ClientContext revoke_context;
  v1::RevokeMandateRequest revoke;
  revoke.set_user_id("p");
  EXPECT_EQ(mandates_->RevokeMandate(&revoke_context, revoke, &out).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServerTest, GrantRequestIdIsIdempotent) {
  v1::GrantMandateRequest request = GrantRequest("rid", "shop");
  request.set_request_id("grant-1");
  v1::Mandate first;
  v1::Mandate second;
  ASSERT_TRUE(TryGrant(request, &first).ok());
  ASSERT_TRUE(TryGrant(request, &second).ok());
  EXPECT_EQ(first.mandate_id(), second.mandate_id());
  EXPECT_THAT(List("rid", true).mandates(), SizeIs(1));
  request.set_per_txn_limit_minor(100);
  EXPECT_EQ(TryGrant(request, &second).error_code(), grpc::StatusCode::ALREADY_EXISTS);
}

// --- operations
// -----------------------------------------------------------------------------------

TEST_F(ServerTest, ServesHealth) {
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckResponse response;
  ASSERT_TRUE(health->Check(&context, grpc::health::v1::HealthCheckRequest(), &response).ok());
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(ServerTest, ServesReflection) {
  // ServerReflectionRequest{list_services: "*"}, encoded by hand: field 7, length 1, "*".
  const std::string list_services("\x3a\x01*", 3);
  grpc::GenericStub stub(channel_);
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  auto call = stub.PrepareCall(
      &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag = nullptr;
  bool ok = false;
  auto step = [&](int expected) {
    ASSERT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(tag, reinterpret_cast<void*>(expected));
  };
  call->StartCall(reinterpret_cast<void*>(1));
  step(1);
  grpc::Slice slice(list_services);
  call->Write(grpc::ByteBuffer(&slice, 1), reinterpret_cast<void*>(2));
  step(2);
  grpc::ByteBuffer reply;
  call->Read(&reply, reinterpret_cast<void*>(3));
  step(3);
  ASSERT_TRUE(ok);
  call->WritesDone(reinterpret_cast<void*>(4));
  step(4);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  step(5);
  EXPECT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(reply.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_THAT(bytes, AllOf(HasSubstr("vigil.v1.RiskEngine"), HasSubstr("vigil.v1.Mandates"),
                           HasSubstr("vigil.v1.Users")));
}

TEST(ServerStartTest, BrokenRulesDirectoryIsAClearError) {
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.rules_dir = "/nonexistent-rules";
  absl::StatusOr<std::unique_ptr<VigilServer>> server = VigilServer::Start(options);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(server.status().message(), HasSubstr("/nonexistent-rules/policy.yaml"));
}

}  // namespace
}  // namespace vigil::server
