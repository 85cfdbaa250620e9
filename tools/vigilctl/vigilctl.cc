// vigilctl: a command-line client for every Vigil RPC.
//
//   vigilctl [--server HOST:PORT] [--json] COMMAND [flags]
//
// Amounts are given in major units of --currency ("50", "199.99"). Errors print the gRPC code and
// message and exit 1; a usage mistake exits 2.

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/core/money.h"
#include "engine/net/client_flags.h"
#include "engine/server/dashed_flags.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "vigil/v1/vigil.grpc.pb.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "vigild address, HOST:PORT");
ABSL_FLAG(bool, json, false, "print the response as JSON");
ABSL_FLAG(int, timeout_ms, 5000, "deadline of each call");
ABSL_FLAG(std::string, user, "", "user id");
ABSL_FLAG(std::string, merchant, "", "merchant id (\"*\" grants a general mandate)");
ABSL_FLAG(std::string, mandate, "", "mandate id");
ABSL_FLAG(std::string, txn, "", "transaction id (authorize: generated when empty)");
ABSL_FLAG(std::string, amount, "", "amount in major units, e.g. 50 or 199.99");
ABSL_FLAG(std::string, currency, "CNY", "ISO 4217 currency of amounts");
ABSL_FLAG(std::string, channel, "QR_CODE",
          "QR_CODE, NFC, IN_APP, AUTO_DEBIT, ONLINE or CHANNEL_UNSPECIFIED");
ABSL_FLAG(std::string, mcc, "", "merchant category code");
ABSL_FLAG(std::string, device, "", "device id");
ABSL_FLAG(std::string, funding, "FUNDING_SOURCE_UNSPECIFIED",
          "BALANCE, DEBIT_CARD, CREDIT_CARD or CREDIT_LINE");
ABSL_FLAG(int64_t, event_time_ms, 0,
          "when the charge or outcome happened (only read by vigild --trust-client-time)");
ABSL_FLAG(std::vector<std::string>, attr, {}, "attributes, key=value,key=value");
ABSL_FLAG(std::string, outcome, "",
          "COMPLETED, FAILED, REVERSED, STRONG_AUTH_PASSED or "
          "STRONG_AUTH_FAILED");
ABSL_FLAG(std::string, request_id, "", "grant: idempotency key");
ABSL_FLAG(std::string, per_txn, "", "per-transaction limit, major units");
ABSL_FLAG(std::string, daily, "", "daily limit, major units");
ABSL_FLAG(std::string, monthly, "", "monthly limit, major units");
ABSL_FLAG(int64_t, expires_at_ms, 0, "grant: end of the mandate, epoch ms (0 = none)");
ABSL_FLAG(bool, opt_in, false, "grant: the user explicitly opted in");
ABSL_FLAG(int64_t, consented_at_ms, 0,
          "grant: when the user consented, epoch ms (0 = now, as vigilctl sends the grant)");
ABSL_FLAG(std::string, terms, "", "grant: version of the terms the user accepted");
ABSL_FLAG(std::string, consent_channel, "vigilctl", "grant: where consent was given");
ABSL_FLAG(bool, include_revoked, false, "list: include revoked mandates");
ABSL_FLAG(std::string, reason, "", "revoke: why");
ABSL_FLAG(std::string, birth_date, "", "profile put: YYYY-MM-DD");
ABSL_FLAG(bool, risk_assessment, false, "profile put: risk assessment completed");
ABSL_FLAG(bool, notify_every, false, "profile put: notify the user of every transaction");
ABSL_FLAG(std::string, since, "",
          "export-decisions: from this time (inclusive), RFC 3339 (2026-11-27T00:00:00+08:00) or "
          "epoch ms; default: 24 hours ago");
ABSL_FLAG(std::string, until, "",
          "export-decisions: to this time (exclusive), as --since; default: now");
ABSL_FLAG(std::string, consumer, "", "watch: the consumer's name; its acks are kept by vigild");
ABSL_FLAG(int64_t, count, 0, "watch: stop after this many notices (0 = run until interrupted)");
ABSL_FLAG(bool, ack, true, "watch: ack each notice once printed (--noack to leave them unacked)");

namespace {

using vigil::v1::Mandate;

constexpr char kUsage[] = R"(vigilctl: a client for Vigil.

usage: vigilctl [--server HOST:PORT] [--json] COMMAND [flags]
(flags may be spelled with dashes or underscores: --opt-in or --opt_in)

commands:
  health                                   is vigild serving?
  authorize --user U --merchant M --amount A [--txn ID] [--mandate ID] [--channel C]
            [--mcc MCC] [--device D] [--funding F] [--event-time-ms T] [--attr k=v,...]
  outcome   --txn ID --outcome O [--event-time-ms T]
  grant     --user U --merchant M --opt-in --terms V [--per-txn A] [--daily A] [--monthly A]
            [--expires-at-ms T] [--request-id R]
  get       --mandate ID
  list      --user U [--include-revoked]
  pause     --mandate ID --user U
  resume    --mandate ID --user U
  revoke    --mandate ID --user U [--reason R]
  revoke-all --user U [--reason R]
  profile put --user U [--birth-date YYYY-MM-DD] [--risk-assessment] [--per-txn A] [--daily A]
              [--notify-every]
  profile get --user U
  export-decisions [--since TIME] [--until TIME]
                                           the decision log as JSON Lines, oldest first
  watch     --consumer NAME [--count N] [--noack]
                                           prints notices as they come (--json: JSON Lines)
                                           and acks each once printed
)";

// A usage mistake: the command line, not the server, is wrong.
[[noreturn]] void UsageError(absl::string_view message) {
  std::fprintf(stderr, "vigilctl: %.*s\n(see vigilctl --help)\n", static_cast<int>(message.size()),
               message.data());
  std::exit(2);
}

std::string Require(const absl::Flag<std::string>& flag, absl::string_view name) {
  std::string value = absl::GetFlag(flag);
  if (value.empty()) UsageError(absl::StrCat("--", name, " is required"));
  return value;
}

int64_t AmountFlag(const absl::Flag<std::string>& flag, absl::string_view name, bool required) {
  const std::string text = absl::GetFlag(flag);
  if (text.empty()) {
    if (required) UsageError(absl::StrCat("--", name, " is required"));
    return 0;
  }
  absl::StatusOr<int64_t> amount = vigil::ParseAmount(text, absl::GetFlag(FLAGS_currency));
  if (!amount.ok()) UsageError(absl::StrCat("--", name, ": ", amount.status().message()));
  return *amount;
}

template <typename Enum>
Enum EnumFlag(const absl::Flag<std::string>& flag, absl::string_view name,
              bool (*parse)(const std::string&, Enum*)) {
  Enum value;
  const std::string text = absl::GetFlag(flag);
  if (!parse(text, &value)) UsageError(absl::StrCat("--", name, ": unknown value \"", text, "\""));
  return value;
}

std::string Money(int64_t minor) {
  if (minor == 0) return "-";
  const std::string currency = absl::GetFlag(FLAGS_currency);
  return absl::StrCat(vigil::FormatAmount(minor, currency), " ", currency);
}

std::string Time(int64_t ms) {
  if (ms == 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

void PrintJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  options.add_whitespace = true;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  std::fputs(json.c_str(), stdout);
}

void PrintMandate(const Mandate& m) {
  std::printf("%s  %s  user %s  merchant %s\n", m.mandate_id().c_str(),
              vigil::v1::MandateStatus_Name(m.status()).c_str(), m.user_id().c_str(),
              m.merchant_id().c_str());
  std::printf("  limits: per txn %s, daily %s, monthly %s (\"-\" = policy default)\n",
              Money(m.per_txn_limit_minor()).c_str(), Money(m.daily_limit_minor()).c_str(),
              Money(m.monthly_limit_minor()).c_str());
  std::printf("  created %s, last used %s, expires %s\n", Time(m.created_at_ms()).c_str(),
              Time(m.last_used_at_ms()).c_str(), Time(m.expires_at_ms()).c_str());
  if (m.status() == vigil::v1::REVOKED) {
    std::printf("  revoked %s: %s\n", Time(m.revoked_at_ms()).c_str(),
                m.revoke_reason().empty() ? "(no reason given)" : m.revoke_reason().c_str());
  }
}

void PrintProfile(const vigil::v1::UserProfile& p) {
  std::printf("user %s  born %s  risk assessment %s  notify every transaction %s\n",
              p.user_id().c_str(), p.birth_date().empty() ? "-" : p.birth_date().c_str(),
              p.risk_assessment_completed() ? "done" : "not done",
              p.notify_every_transaction() ? "yes" : "no");
  std::printf("  own caps: per txn %s, daily %s\n", Money(p.per_txn_limit_minor()).c_str(),
              Money(p.daily_limit_minor()).c_str());
}

// Prints a failed call's code and message; returns the exit code for it.
int PrintError(const grpc::Status& status) {
  std::fprintf(stderr, "vigilctl: %s: %s\n",
               absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())).c_str(),
               status.error_message().c_str());
  return 1;
}

class Client {
 public:
  Client(const std::string& target, std::shared_ptr<grpc::ChannelCredentials> credentials)
      : channel_(grpc::CreateChannel(target, std::move(credentials))),
        risk_(vigil::v1::RiskEngine::NewStub(channel_)),
        mandates_(vigil::v1::Mandates::NewStub(channel_)),
        users_(vigil::v1::Users::NewStub(channel_)),
        health_(grpc::health::v1::Health::NewStub(channel_)),
        audit_(vigil::v1::Audit::NewStub(channel_)),
        notices_(vigil::v1::Notices::NewStub(channel_)) {}

  // Makes one call and prints its answer; returns the process exit code.
  template <typename Stub, typename Request, typename Response>
  int Call(Stub* stub,
           grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
           const Request& request, const std::function<void(const Response&)>& print) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(absl::GetFlag(FLAGS_timeout_ms)));
    Response response;
    const grpc::Status status = (stub->*method)(&context, request, &response);
    if (!status.ok()) return PrintError(status);
    if (absl::GetFlag(FLAGS_json)) {
      PrintJson(response);
    } else {
      print(response);
    }
    return 0;
  }

  vigil::v1::RiskEngine::Stub* risk() { return risk_.get(); }
  vigil::v1::Mandates::Stub* mandates() { return mandates_.get(); }
  vigil::v1::Users::Stub* users() { return users_.get(); }
  grpc::health::v1::Health::Stub* health() { return health_.get(); }
  vigil::v1::Audit::Stub* audit() { return audit_.get(); }
  vigil::v1::Notices::Stub* notices() { return notices_.get(); }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<vigil::v1::RiskEngine::Stub> risk_;
  std::unique_ptr<vigil::v1::Mandates::Stub> mandates_;
  std::unique_ptr<vigil::v1::Users::Stub> users_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
  std::unique_ptr<vigil::v1::Audit::Stub> audit_;
  std::unique_ptr<vigil::v1::Notices::Stub> notices_;
};

int Health(Client& client) {
  using grpc::health::v1::Health;
  using grpc::health::v1::HealthCheckRequest;
  using grpc::health::v1::HealthCheckResponse;
  return client.Call<Health::Stub, HealthCheckRequest, HealthCheckResponse>(
      client.health(), &Health::Stub::Check, HealthCheckRequest(),
      [](const HealthCheckResponse& r) {
        std::printf("%s\n", HealthCheckResponse::ServingStatus_Name(r.status()).c_str());
      });
}

int Authorize(Client& client) {
  vigil::v1::AuthorizeRequest request;
  std::string txn = absl::GetFlag(FLAGS_txn);
  if (txn.empty()) {
    txn =
        absl::StrCat("ctl-", absl::ToUnixMillis(absl::Now()), "-", std::random_device{}() % 100000);
  }
  request.set_transaction_id(txn);
  request.set_user_id(Require(FLAGS_user, "user"));
  request.set_merchant_id(Require(FLAGS_merchant, "merchant"));
  request.set_mandate_id(absl::GetFlag(FLAGS_mandate));
  request.set_amount_minor(AmountFlag(FLAGS_amount, "amount", /*required=*/true));
  request.set_currency(absl::GetFlag(FLAGS_currency));
  request.set_channel(EnumFlag(FLAGS_channel, "channel", &vigil::v1::Channel_Parse));
  request.set_merchant_category(absl::GetFlag(FLAGS_mcc));
  request.set_device_id(absl::GetFlag(FLAGS_device));
  request.set_funding_source(EnumFlag(FLAGS_funding, "funding", &vigil::v1::FundingSource_Parse));
  request.set_event_time_ms(absl::GetFlag(FLAGS_event_time_ms));
  for (const std::string& pair : absl::GetFlag(FLAGS_attr)) {
    std::vector<std::string> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
    if (kv.size() != 2) UsageError(absl::StrCat("--attr: \"", pair, "\" is not key=value"));
    (*request.mutable_attributes())[kv[0]] = kv[1];
  }
  using vigil::v1::AuthorizeRequest;
  using vigil::v1::AuthorizeResponse;
  using vigil::v1::RiskEngine;
  return client.Call<RiskEngine::Stub, AuthorizeRequest, AuthorizeResponse>(
      client.risk(), &RiskEngine::Stub::Authorize, request, [&txn](const AuthorizeResponse& r) {
        std::printf("%s  transaction %s  decision %s  rules %s%s\n",
                    vigil::v1::Decision_Name(r.decision()).c_str(), txn.c_str(),
                    r.decision_id().c_str(), r.rules_version().c_str(),
                    r.notify_user() ? "  notify user" : "");
        for (const vigil::v1::Reason& reason : r.reasons()) {
          std::printf("  %s (%s): %s\n", reason.code().c_str(), reason.rule_id().c_str(),
                      reason.message().c_str());
        }
        for (const vigil::v1::Reason& reason : r.shadow_reasons()) {
          std::printf("  shadow %s (%s): %s\n", reason.code().c_str(), reason.rule_id().c_str(),
                      reason.message().c_str());
        }
      });
}

int ReportOutcome(Client& client) {
  vigil::v1::ReportOutcomeRequest request;
  request.set_transaction_id(Require(FLAGS_txn, "txn"));
  request.set_outcome(EnumFlag(FLAGS_outcome, "outcome", &vigil::v1::Outcome_Parse));
  request.set_event_time_ms(absl::GetFlag(FLAGS_event_time_ms));
  using vigil::v1::ReportOutcomeRequest;
  using vigil::v1::ReportOutcomeResponse;
  using vigil::v1::RiskEngine;
  return client.Call<RiskEngine::Stub, ReportOutcomeRequest, ReportOutcomeResponse>(
      client.risk(), &RiskEngine::Stub::ReportOutcome, request, [](const ReportOutcomeResponse& r) {
        std::printf("recorded %s for transaction %s\n",
                    vigil::v1::Outcome_Name(r.outcome()).c_str(), r.transaction_id().c_str());
      });
}

int Grant(Client& client) {
  vigil::v1::GrantMandateRequest request;
  request.set_request_id(absl::GetFlag(FLAGS_request_id));
  request.set_user_id(Require(FLAGS_user, "user"));
  request.set_merchant_id(Require(FLAGS_merchant, "merchant"));
  request.set_per_txn_limit_minor(AmountFlag(FLAGS_per_txn, "per-txn", false));
  request.set_daily_limit_minor(AmountFlag(FLAGS_daily, "daily", false));
  request.set_monthly_limit_minor(AmountFlag(FLAGS_monthly, "monthly", false));
  request.set_expires_at_ms(absl::GetFlag(FLAGS_expires_at_ms));
  vigil::v1::Consent& consent = *request.mutable_consent();
  consent.set_explicit_opt_in(absl::GetFlag(FLAGS_opt_in));
  consent.set_terms_version(absl::GetFlag(FLAGS_terms));
  consent.set_channel(absl::GetFlag(FLAGS_consent_channel));
  // When the user consented is part of the evidence: now, unless the flag says when it was.
  consent.set_consented_at_ms(absl::GetFlag(FLAGS_consented_at_ms) != 0
                                  ? absl::GetFlag(FLAGS_consented_at_ms)
                                  : absl::ToUnixMillis(absl::Now()));
  using vigil::v1::GrantMandateRequest;
  using vigil::v1::Mandates;
  return client.Call<Mandates::Stub, GrantMandateRequest, Mandate>(
      client.mandates(), &Mandates::Stub::GrantMandate, request, PrintMandate);
}

int Get(Client& client) {
  vigil::v1::GetMandateRequest request;
  request.set_mandate_id(Require(FLAGS_mandate, "mandate"));
  using vigil::v1::GetMandateRequest;
  using vigil::v1::Mandates;
  return client.Call<Mandates::Stub, GetMandateRequest, Mandate>(
      client.mandates(), &Mandates::Stub::GetMandate, request, PrintMandate);
}

int List(Client& client) {
  vigil::v1::ListMandatesRequest request;
  request.set_user_id(Require(FLAGS_user, "user"));
  request.set_include_revoked(absl::GetFlag(FLAGS_include_revoked));
  using vigil::v1::ListMandatesRequest;
  using vigil::v1::ListMandatesResponse;
  using vigil::v1::Mandates;
  return client.Call<Mandates::Stub, ListMandatesRequest, ListMandatesResponse>(
      client.mandates(), &Mandates::Stub::ListMandates, request, [](const ListMandatesResponse& r) {
        std::printf("%d mandate(s)\n", r.mandates_size());
        for (const Mandate& m : r.mandates()) PrintMandate(m);
      });
}

int ChangeMandate(Client& client, absl::string_view command) {
  const std::string mandate = Require(FLAGS_mandate, "mandate");
  const std::string user = Require(FLAGS_user, "user");
  using vigil::v1::Mandates;
  if (command == "pause") {
    vigil::v1::PauseMandateRequest request;
    request.set_mandate_id(mandate);
    request.set_user_id(user);
    return client.Call<Mandates::Stub, vigil::v1::PauseMandateRequest, Mandate>(
        client.mandates(), &Mandates::Stub::PauseMandate, request, PrintMandate);
  }
  if (command == "resume") {
    vigil::v1::ResumeMandateRequest request;
    request.set_mandate_id(mandate);
    request.set_user_id(user);
    return client.Call<Mandates::Stub, vigil::v1::ResumeMandateRequest, Mandate>(
        client.mandates(), &Mandates::Stub::ResumeMandate, request, PrintMandate);
  }
  vigil::v1::RevokeMandateRequest request;
  request.set_mandate_id(mandate);
  request.set_user_id(user);
  request.set_reason(absl::GetFlag(FLAGS_reason));
  return client.Call<Mandates::Stub, vigil::v1::RevokeMandateRequest, Mandate>(
      client.mandates(), &Mandates::Stub::RevokeMandate, request, PrintMandate);
}

int RevokeAll(Client& client) {
  vigil::v1::RevokeAllMandatesRequest request;
  request.set_user_id(Require(FLAGS_user, "user"));
  request.set_reason(absl::GetFlag(FLAGS_reason));
  using vigil::v1::Mandates;
  using vigil::v1::RevokeAllMandatesRequest;
  using vigil::v1::RevokeAllMandatesResponse;
  return client.Call<Mandates::Stub, RevokeAllMandatesRequest, RevokeAllMandatesResponse>(
      client.mandates(), &Mandates::Stub::RevokeAllMandates, request,
      [](const RevokeAllMandatesResponse& r) {
        std::printf("revoked %d mandate(s)\n", r.revoked_count());
        for (const Mandate& m : r.mandates()) PrintMandate(m);
      });
}

int Profile(Client& client, absl::string_view action) {
  using vigil::v1::UserProfile;
  using vigil::v1::Users;
  if (action == "put") {
    UserProfile request;
    request.set_user_id(Require(FLAGS_user, "user"));
    request.set_birth_date(absl::GetFlag(FLAGS_birth_date));
    request.set_risk_assessment_completed(absl::GetFlag(FLAGS_risk_assessment));
    request.set_per_txn_limit_minor(AmountFlag(FLAGS_per_txn, "per-txn", false));
    request.set_daily_limit_minor(AmountFlag(FLAGS_daily, "daily", false));
    request.set_notify_every_transaction(absl::GetFlag(FLAGS_notify_every));
    return client.Call<Users::Stub, UserProfile, UserProfile>(
        client.users(), &Users::Stub::PutUserProfile, request, PrintProfile);
  }
  if (action == "get") {
    vigil::v1::GetUserProfileRequest request;
    request.set_user_id(Require(FLAGS_user, "user"));
    return client.Call<Users::Stub, vigil::v1::GetUserProfileRequest, UserProfile>(
        client.users(), &Users::Stub::GetUserProfile, request, PrintProfile);
  }
  UsageError("profile takes put or get");
}

// RFC 3339 or epoch milliseconds.
int64_t TimeFlag(const absl::Flag<std::string>& flag, absl::string_view name, int64_t fallback) {
  const std::string text = absl::GetFlag(flag);
  if (text.empty()) return fallback;
  int64_t ms = 0;
  if (absl::SimpleAtoi(text, &ms)) return ms;
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
    UsageError(absl::StrCat("--", name, ": \"", text,
                            "\" is neither RFC 3339 (2026-11-27T00:00:00+08:00) nor epoch ms"));
  }
  return absl::ToUnixMillis(time);
}

int ExportDecisions(Client& client) {
  const int64_t now = absl::ToUnixMillis(absl::Now());
  vigil::v1::ExportDecisionsRequest request;
  request.set_since_ms(TimeFlag(FLAGS_since, "since", now - 24 * 3600 * 1000));
  request.set_until_ms(TimeFlag(FLAGS_until, "until", now + 1));
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<vigil::v1::DecisionRecord>> reader =
      client.audit()->ExportDecisions(&context, request);
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  vigil::v1::DecisionRecord record;
  int64_t count = 0;
  std::string line;
  while (reader->Read(&record)) {
    line.clear();
    (void)google::protobuf::util::MessageToJsonString(record, &line, options);
    std::printf("%s\n", line.c_str());
    ++count;
  }
  const grpc::Status status = reader->Finish();
  if (!status.ok()) return PrintError(status);
  std::fprintf(stderr, "exported %lld decision log entries\n", static_cast<long long>(count));
  return 0;
}

// Streams the consumer's notices, printing each and then acking it: a notice is acked only once
// it is out, so one cut off before its ack comes again on the next watch.
int Watch(Client& client) {
  vigil::v1::WatchNoticesRequest request;
  request.set_consumer(Require(FLAGS_consumer, "consumer"));
  const int64_t limit = absl::GetFlag(FLAGS_count);
  if (limit < 0) UsageError("--count: must be 0 or more");
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<vigil::v1::Notice>> reader =
      client.notices()->Watch(&context, request);
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  vigil::v1::Notice notice;
  int64_t count = 0;
  std::string line;
  while (reader->Read(&notice)) {
    if (absl::GetFlag(FLAGS_json)) {
      line.clear();
      (void)google::protobuf::util::MessageToJsonString(notice, &line, options);
      std::printf("%s\n", line.c_str());
    } else {
      std::printf("%s  %s  %s  user %s  %s\n", notice.cursor().c_str(),
                  Time(notice.time_ms()).c_str(), vigil::v1::NoticeKind_Name(notice.kind()).c_str(),
                  notice.user_id().c_str(), notice.text().c_str());
    }
    std::fflush(stdout);
    if (absl::GetFlag(FLAGS_ack)) {
      vigil::v1::AckNoticesRequest ack;
      ack.set_consumer(request.consumer());
      ack.set_cursor(notice.cursor());
      vigil::v1::AckNoticesResponse acked;
      grpc::ClientContext ack_context;
      ack_context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::milliseconds(absl::GetFlag(FLAGS_timeout_ms)));
      if (grpc::Status status = client.notices()->Ack(&ack_context, ack, &acked); !status.ok()) {
        context.TryCancel();
        return PrintError(status);
      }
    }
    if (++count == limit) {
      context.TryCancel();
      return 0;
    }
  }
  return PrintError(reader->Finish());
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  vigil::AcceptDashedFlagNames(argc, argv);
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() < 2) UsageError("a command is required");
  const absl::string_view command = args[1];
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      vigil::net::ChannelCredentialsFromFlags();
  if (!credentials.ok()) {
    std::fprintf(stderr, "vigilctl: %s\n", std::string(credentials.status().message()).c_str());
    return 2;
  }
  Client client(absl::GetFlag(FLAGS_server), *std::move(credentials));
  if (command == "health") return Health(client);
  if (command == "authorize") return Authorize(client);
  if (command == "outcome") return ReportOutcome(client);
  if (command == "grant") return Grant(client);
  if (command == "get") return Get(client);
  if (command == "list") return List(client);
  if (command == "pause" || command == "resume" || command == "revoke") {
    return ChangeMandate(client, command);
  }
  if (command == "revoke-all") return RevokeAll(client);
  if (command == "export-decisions") return ExportDecisions(client);
  if (command == "watch") return Watch(client);
  if (command == "profile") {
    if (args.size() < 3) UsageError("profile takes put or get");
    return Profile(client, args[2]);
  }
  UsageError(absl::StrCat("unknown command \"", command, "\""));
}
