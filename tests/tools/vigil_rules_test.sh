#!/usr/bin/env bash
# vigil-rules on broken rules and failing rule tests: exact messages and exit codes.
#   vigil_rules_test.sh VIGIL_RULES SHIPPED_RULES_DIR
set -uo pipefail
tool=$1
shipped=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
checks=0
# expect WANT_RC EXACT_OUTPUT -- ARGS...: stdout and stderr together must be EXACT_OUTPUT.
expect() {
  local want_rc=$1 want=$2
  shift 3
  local out rc
  out=$("$tool" "$@" 2>&1)
  rc=$?
  checks=$((checks + 1))
  if [ "$rc" -ne "$want_rc" ] || [ "$out" != "$want" ]; then
    echo "FAIL: vigil-rules $*"
    echo "  wanted exit $want_rc and:"; sed 's/^/    /' <<<"$want"
    echo "  got exit $rc and:"; sed 's/^/    /' <<<"$out"
    failures=$((failures + 1))
  fi
}

cp -r "$shipped" "$work/rules"
sed -i 's/when: txn.amount > user.per_txn_cap$/when: txn.amount > user.per_txn_capp/' \
  "$work/rules/policy.yaml"
line=$(grep -n 'user.per_txn_capp' "$work/rules/policy.yaml" | cut -d: -f1)
expect 1 "$work/rules/policy.yaml:$line:24: error: unknown name \"user.per_txn_capp\"; did you mean \"user.per_txn_cap\"? (fields are listed in rules/README.md)
$work/rules: 1 error(s); the rule set does not compile" -- check "$work/rules"

cp "$shipped/policy.yaml" "$work/rules/policy.yaml"
out=$("$tool" check "$work/rules" 2>&1)
rc=$?
checks=$((checks + 1))
if [ "$rc" -ne 0 ] || ! grep -Eqx "$work/rules: ok, [0-9]+ rules \([0-9]+ enforced, [0-9]+ shadow\), [0-9]+ velocity windows, version rs-[0-9a-f]{12}" <<<"$out"; then
  echo "FAIL: vigil-rules check on good rules exited $rc:"; sed 's/^/    /' <<<"$out"
  failures=$((failures + 1))
fi

cat >"$work/rules/tests/wrong.yaml" <<'CASES'
tests:
  - name: this expectation is wrong
    txn: {amount: 5 CNY}
    expect: {decision: DECLINE, reasons: [NOPE]}
  - name: a typo in a case
    txn: {amount: 5 CNY, chanel: NFC}
    expect: {decision: APPROVE}
CASES
out=$("$tool" test "$work/rules" 2>&1)
rc=$?
checks=$((checks + 1))
if [ "$rc" -ne 1 ] ||
   ! grep -qx "FAIL this expectation is wrong ($work/rules/tests/wrong.yaml:2): decision APPROVE, expected DECLINE; reasons \[\], expected \[NOPE\]" <<<"$out" ||
   ! grep -qx "$work/rules/tests/wrong.yaml:6:26: error: unknown key \"chanel\" in txn; expected one of: amount, currency, merchant_id, merchant_category, device_id, channel, mandate_id" <<<"$out" ||
   ! grep -qE "^[0-9]+ passed, 2 failed$" <<<"$out"; then
  echo "FAIL: vigil-rules test on failing cases exited $rc:"; sed 's/^/    /' <<<"$out"
  failures=$((failures + 1))
fi
expect 2 "usage: vigil-rules check DIR
       vigil-rules test DIR
       vigil-rules show DIR" -- lint "$work/rules"

# show: exactly what is loaded. Every rule of the files (a disabled one marked), every list with
# its size as the file counts it, every param, and the version that check reports.
sed -i '0,/^    code: NO_MANDATE$/s//    code: NO_MANDATE\n    enabled: false/' "$work/rules/policy.yaml"
out=$("$tool" show "$work/rules" 2>&1)
rc=$?
checks=$((checks + 1))
version=$("$tool" check "$work/rules" | grep -o 'rs-[0-9a-f]*$')
problems=()
[ "$rc" -eq 0 ] || problems+=("exit $rc")
grep -qx "rule set $version, from $work/rules" <<<"$out" || problems+=("no version line for $version")
for id in $(grep -ho '^  - id: [a-z0-9._-]*' "$work"/rules/*.yaml | awk '{print $3}'); do
  grep -qE "^  $id +(enforce|shadow) " <<<"$out" || problems+=("rule $id missing")
done
grep -qE '^  mandate.none +enforce +challenge +NO_MANDATE +\(disabled\)' <<<"$out" ||
  problems+=("mandate.none not shown as disabled")
for list in "$work"/rules/lists/*.txt; do
  size=$(sed 's/#.*//; s/[[:space:]]//g' "$list" | grep -c .)
  grep -qE "^  [a-z_]+ +$size items  lists/$(basename "$list")$" <<<"$out" ||
    problems+=("$list: $size items not shown")
done
grep -qE '^  strong_auth_failures_to_decline +3 ' <<<"$out" || problems+=("param missing")
if [ ${#problems[@]} -ne 0 ]; then
  echo "FAIL: vigil-rules show: ${problems[*]}"; sed 's/^/    /' <<<"$out"
  failures=$((failures + 1))
fi
echo "vigil-rules: $((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
