#include "engine/core/mandate_book.h"

#include <set>
#include <string>

#include "engine/core/id_mint.h"
#include "engine/core/interned.h"
#include "engine/core/mandate_invariant.h"
#include "engine/core/stable_hash.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigil {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::Pointee;

const Reason* RuleReason() {
  return InternReason(Reason{"SMALL", "limits.small", "a small charge"});
}

Verdict Approved() {
  Verdict verdict;
  verdict.decision = Decision::kApprove;
  verdict.shadow_hits.push_back(RuleHit{Decision::kDecline, RuleReason()});
  return verdict;
}

TEST(MandateInvariantTest, AnApprovalWithoutAUsableMandateBecomesAChallengeThatSaysWhy) {
  Verdict verdict = Approved();
  EnforceMandateInvariant(/*usable_mandate=*/false, verdict);
  EXPECT_EQ(verdict.decision, Decision::kChallenge);
  EXPECT_THAT(verdict.hits, ElementsAre(Field(&RuleHit::reason,
                                              Pointee(Field(&Reason::code, "NO_ACTIVE_MANDATE")))));
  EXPECT_EQ(verdict.shadow_hits.size(), 1u);  // shadow rules are reported as they were
}

TEST(MandateInvariantTest, AnApprovalWithAUsableMandateStands) {
  Verdict verdict = Approved();
  EnforceMandateInvariant(/*usable_mandate=*/true, verdict);
  EXPECT_EQ(verdict.decision, Decision::kApprove);
  EXPECT_TRUE(verdict.hits.empty());
}

TEST(MandateInvariantTest, AChallengeOrADeclineIsLeftAsTheRulesMadeIt) {
  for (Decision decision : {Decision::kChallenge, Decision::kDecline}) {
    Verdict verdict;
    verdict.decision = decision;
    verdict.hits.push_back(RuleHit{decision, RuleReason()});
    EnforceMandateInvariant(/*usable_mandate=*/false, verdict);
    EXPECT_EQ(verdict.decision, decision);
    EXPECT_THAT(verdict.hits, ElementsAre(Field(&RuleHit::reason, RuleReason())));
  }
}

TEST(IdMintTest, IdsNeverRepeatAndCarryTheirNumber) {
  IdMint mint(42);
  std::set<std::string> seen;
  for (int i = 0; i < 3000; ++i) {
    const std::string mandate = mint.MandateId();
    const std::string decision = mint.DecisionId();
    EXPECT_TRUE(IdMint::MandateNumber(mandate).has_value()) << mandate;
    EXPECT_EQ(decision.size(), 15u);
    EXPECT_TRUE(seen.insert(mandate).second);
    EXPECT_TRUE(seen.insert(decision).second);
  }
}

TEST(IdMintTest, AnIdNoMintMadeHasNoNumber) {
  for (const char* id : {"", "mdt_", "mdt_123", "xyz_0123456789abcdef", "mdt_0123456789abcdeg",
                         "mdt_0123456789abcdef0"}) {
    EXPECT_FALSE(IdMint::MandateNumber(id).has_value()) << id;
  }
  EXPECT_EQ(IdMint::MandateNumber("mdt_00000000000000ff"), 255u);
}

MandateState MandateFor(absl::string_view id, absl::string_view merchant, MandateStatus status) {
  Mandate mandate;
  mandate.mandate_id = std::string(id);
  mandate.merchant_id = std::string(merchant);
  mandate.status = status;
  return MandateState{StoredMandate::From(mandate), {}, {}, {}};
}

AuthorizeRequest ChargeAt(absl::string_view merchant) {
  AuthorizeRequest request;
  request.merchant_id = std::string(merchant);
  return request;
}

MandateState* Resolve(MandateList& mandates, const AuthorizeRequest& request, MandateMatch& match) {
  return ResolveMandate(mandates, request, StableHash(request.merchant_id), 1000, match);
}

TEST(ResolveMandateTest, TheMerchantsOwnUsableMandateComesBeforeTheGeneralOne) {
  MandateList mandates;
  mandates.push_back(MandateFor("mdt_general", "*", MandateStatus::kActive));
  mandates.push_back(MandateFor("mdt_paused", "m1", MandateStatus::kPaused));
  mandates.push_back(MandateFor("mdt_own", "m1", MandateStatus::kActive));
  MandateMatch match = MandateMatch::kNone;
  EXPECT_EQ(Resolve(mandates, ChargeAt("m1"), match)->mandate.mandate_id(), "mdt_own");
  EXPECT_EQ(match, MandateMatch::kFound);
  EXPECT_EQ(Resolve(mandates, ChargeAt("m2"), match)->mandate.mandate_id(), "mdt_general");
}

TEST(ResolveMandateTest, WithNothingUsableTheLatestExplainsWhy) {
  MandateList mandates;
  mandates.push_back(MandateFor("mdt_old", "m1", MandateStatus::kRevoked));
  mandates.push_back(MandateFor("mdt_new", "m1", MandateStatus::kPaused));
  MandateMatch match = MandateMatch::kNone;
  EXPECT_EQ(Resolve(mandates, ChargeAt("m1"), match)->mandate.mandate_id(), "mdt_new");
  EXPECT_EQ(Resolve(mandates, ChargeAt("m9"), match), nullptr);
  EXPECT_EQ(match, MandateMatch::kNone);
}

TEST(ResolveMandateTest, ANamedMandateMustExistAndCoverTheMerchant) {
  MandateList mandates;
  mandates.push_back(MandateFor("mdt_m1", "m1", MandateStatus::kActive));
  AuthorizeRequest request = ChargeAt("m2");
  request.mandate_id = "mdt_m1";
  MandateMatch match = MandateMatch::kNone;
  EXPECT_EQ(Resolve(mandates, request, match), nullptr);
  EXPECT_EQ(match, MandateMatch::kMerchantMismatch);
  request.mandate_id = "mdt_other";
  EXPECT_EQ(Resolve(mandates, request, match), nullptr);
  EXPECT_EQ(match, MandateMatch::kUnknownId);
}

TEST(MandateOwnersTest, FindsTheOwnerOfAnIndexedMandateOnly) {
  MandateOwners owners;
  IdMint mint(7);
  const std::string owner = "u1";
  const std::string id = mint.MandateId();
  owners.Add(id, owner);
  EXPECT_EQ(owners.OwnerOf(id), "u1");
  EXPECT_EQ(owners.OwnerOf(mint.MandateId()), std::nullopt);
  EXPECT_EQ(owners.OwnerOf("not-a-mandate"), std::nullopt);
}

}  // namespace
}  // namespace vigil
