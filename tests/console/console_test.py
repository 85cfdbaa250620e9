#!/usr/bin/python3
"""The console in headless Chromium, against a vigild fed real traffic by this test.

vigild runs with mutual TLS, an authorization policy and console tokens: "support" may revoke
mandates, "risk" may only read. The test checks that the charts render with data, that the user
view shows a mandate the test granted, that a revocation without the role is refused and changes
nothing, and that one with the role is seen by Authorize. Screenshots go to SHOTS_DIR.

usage: console_test.py VIGILD VIGILCTL VIGIL_BENCH VIGIL_REPLAY RULES_DIR MAKE_CERTS SHOTS_DIR
"""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

VIGILD, VIGILCTL, BENCH, REPLAY, RULES, MAKE_CERTS, SHOTS = sys.argv[1:8]
SUPPORT_TOKEN = "support-" + os.urandom(8).hex()
RISK_TOKEN = "risk-" + os.urandom(8).hex()
USER, MERCHANT = "console-user", "coffee-shop"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(work):
    subprocess.run([MAKE_CERTS, work, "tester"], check=True)
    policy = {
        "name": "console-test",
        "allow_rules": [
            {"name": "tester", "source": {"principals": ["spiffe://vigil/tester"]}},
            {"name": "support revokes", "source": {"principals": ["spiffe://vigil/support"]},
             "request": {"paths": ["/vigil.v1.Mandates/RevokeMandate",
                                   "/vigil.v1.Mandates/ListMandates"]}},
            {"name": "risk reads", "source": {"principals": ["spiffe://vigil/risk"]},
             "request": {"paths": ["/vigil.v1.Audit/*", "/vigil.v1.Mandates/ListMandates"]}},
        ],
    }
    with open(f"{work}/policy.json", "w") as f:
        json.dump(policy, f)
    with open(f"{work}/tokens", "w") as f:
        for token, principal in ((SUPPORT_TOKEN, "support"), (RISK_TOKEN, "risk")):
            f.write(f"{hashlib.sha256(token.encode()).hexdigest()} spiffe://vigil/{principal}\n")

    # 127.0.0.1, not localhost: the server's certificate names both, and a name would be
    # resolved by gRPC's c-ares, whose allocations LeakSanitizer reports.
    port, admin = free_port(), free_port()
    tls = [f"--tls-ca={work}/ca.pem", f"--tls-cert={work}/tester.pem", f"--tls-key={work}/tester.key"]
    vigild = subprocess.Popen(
        [VIGILD, f"--listen=127.0.0.1:{port}", f"--admin-listen=127.0.0.1:{admin}",
         f"--rules={RULES}", f"--data-dir={work}/data", "--rules-poll-ms=0",
         f"--tls-cert={work}/server.pem", f"--tls-key={work}/server.key",
         f"--tls-client-ca={work}/ca.pem", f"--authz-policy={work}/policy.json",
         f"--console-tokens={work}/tokens", "--console-sample-s=1"],
        stderr=open(f"{work}/vigild.log", "w"))
    try:
        return check(work, port, admin, tls)
    finally:
        vigild.terminate()
        vigild.wait(timeout=30)
        log = open(f"{work}/vigild.log").read()
        if SUPPORT_TOKEN in log or RISK_TOKEN in log:
            print("FAIL: a console token is in vigild's log")
            return 1


def ctl(port, tls, *args):
    out = subprocess.run([VIGILCTL, f"--server=127.0.0.1:{port}", *tls, "--json", *args],
                         capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise AssertionError(f"vigilctl {' '.join(args)}: {out.stderr}")
    return json.loads(out.stdout)


def check(work, port, admin, tls):
    for _ in range(100):
        try:
            ctl(port, tls, "health")
            break
        except (AssertionError, json.JSONDecodeError):
            time.sleep(0.1)
    # Real traffic: elderly users, grants and revocations, attack bursts.
    bench = subprocess.run([BENCH, f"--target=127.0.0.1:{port}", *tls, "--progress=false",
                            "--warmup-s=0", "--duration-s=2", "--users=300", "--concurrency=8",
                            "--elderly-share=0.2", "--mandate-ops-share=0.05",
                            "--attack-every=300", "--attack-charges=60"],
                           capture_output=True, text=True, timeout=60)
    if bench.returncode != 0:
        raise AssertionError(f"vigil-bench exited {bench.returncode}: {bench.stdout}{bench.stderr}")
    mandate = ctl(port, tls, "grant", f"--user={USER}", f"--merchant={MERCHANT}", "--opt-in",
                  "--terms=v1")["mandate_id"]
    charge = ctl(port, tls, "authorize", f"--user={USER}", f"--merchant={MERCHANT}",
                 "--amount=12.50", "--txn=console-charge-1")
    assert charge["decision"] == "APPROVE", charge

    # A replay report to upload: the log under a cap lowered to 10 CNY.
    lower = f"{work}/lower-rules"
    shutil.copytree(RULES, lower)
    with open(f"{lower}/policy.yaml") as f:
        text = f.read().replace("standard: {per_txn: 1000.00 CNY", "standard: {per_txn: 10.00 CNY")
    with open(f"{lower}/policy.yaml", "w") as f:
        f.write(text)
    exported = subprocess.run([VIGILCTL, f"--server=127.0.0.1:{port}", *tls, "export-decisions",
                               "--since=0"], capture_output=True, check=True, timeout=60)
    with open(f"{work}/log.jsonl", "wb") as f:
        f.write(exported.stdout)
    with open(f"{work}/replay.json", "w") as f:
        subprocess.run([REPLAY, f"--log={work}/log.jsonl", f"--rules={lower}", "--json"],
                       stdout=f, check=True, timeout=120)

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,800"):
        options.add_argument(argument)
    browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    browser.set_window_size(1280, 800)
    failures = []
    try:
        run_browser(browser, admin, port, tls, mandate, work, failures)
    finally:
        browser.quit()
    for failure in failures:
        print("FAIL:", failure)
    print(f"console: {len(failures)} failed; screenshots in {SHOTS}")
    return 1 if failures else 0


def shot(browser, name):
    browser.save_screenshot(os.path.join(SHOTS, name))


def run_browser(browser, admin, port, tls, mandate, work, failures):
    # The page redraws its tables as data arrives: an element found may be replaced at once.
    wait = WebDriverWait(browser, 20, ignored_exceptions=(StaleElementReferenceException,))
    q = browser.find_element
    started = time.monotonic()
    browser.get(f"http://127.0.0.1:{admin}/")
    # The charts: the decision mix over at least two intervals, and the top reason codes.
    wait.until(lambda b: int(q(By.ID, "mix-chart").get_attribute("data-points") or 0) >= 2)
    wait.until(lambda b: int(q(By.ID, "reasons-chart").get_attribute("data-points") or 0) > 0)
    print(f"ok: the charts drew {time.monotonic() - started:.2f} s after the page was asked for")
    mix = q(By.ID, "mix-chart")
    if int(mix.get_attribute("data-decisions")) <= 0:
        failures.append("the decision mix counts no decisions")
    for chart in ("mix-chart", "reasons-chart"):
        canvas = browser.find_elements(By.CSS_SELECTOR, f"#{chart} canvas")
        if not canvas or canvas[0].size["width"] < 200 or canvas[0].size["height"] < 100:
            failures.append(f"{chart} has no canvas of a useful size")
    rows = browser.find_elements(By.CSS_SELECTOR, "#rules-table tbody tr")
    if len(rows) < 20 or "mandate.none" not in rows[0].text + rows[3].text + rows[4].text:
        failures.append(f"the rules table has {len(rows)} rows")
    shot(browser, "overview-1280.png")

    # The user view shows the granted mandate and the charge.
    q(By.ID, "user-id").send_keys(USER)
    q(By.CSS_SELECTOR, "#user-form button").click()
    row = f"#mandates-table tr[data-mandate='{mandate}']"
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, row))
    if q(By.CSS_SELECTOR, row).get_attribute("data-status") != "ACTIVE":
        failures.append("the granted mandate is not shown ACTIVE")
    if "console-charge-1" not in q(By.ID, "decisions-table").text:
        failures.append("the user's charge is not among the recent decisions")
    browser.execute_script("document.getElementById('user').scrollIntoView()")
    shot(browser, "user-1280.png")

    # Without the role: refused, and the mandate still approves.
    q(By.ID, "token").send_keys(RISK_TOKEN)
    q(By.CSS_SELECTOR, f"{row} button").click()
    wait.until(lambda b: "Refused" in q(By.ID, "user-message").text)
    print(f"ok: without the role: {q(By.ID, 'user-message').text}")
    if ctl(port, tls, "get", f"--mandate={mandate}")["status"] != "ACTIVE":
        failures.append("a refused revocation changed the mandate")
    charge = ctl(port, tls, "authorize", f"--user={USER}", f"--merchant={MERCHANT}",
                 "--amount=3.00", "--txn=console-charge-2")
    if charge["decision"] != "APPROVE":
        failures.append(f"after a refused revocation, Authorize said {charge['decision']}")
    shot(browser, "refused-1280.png")

    # With the role: revoked, and Authorize sees it.
    q(By.ID, "token").clear()
    q(By.ID, "token").send_keys(SUPPORT_TOKEN)
    q(By.CSS_SELECTOR, f"{row} button").click()
    wait.until(lambda b: q(By.CSS_SELECTOR, row).get_attribute("data-status") == "REVOKED")
    charge = ctl(port, tls, "authorize", f"--user={USER}", f"--merchant={MERCHANT}",
                 "--amount=3.00", "--txn=console-charge-3")
    codes = [r["code"] for r in charge.get("reasons", [])]
    if charge["decision"] == "APPROVE" or "MANDATE_REVOKED" not in codes:
        failures.append(f"after the console revoked the mandate, Authorize said {charge}")
    else:
        print(f"ok: revoked through the console; Authorize now says {charge['decision']} {codes}")
    shot(browser, "revoked-1280.png")

    # A replay report, uploaded.
    q(By.ID, "replay-file").send_keys(f"{work}/replay.json")
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#transitions-table tbody tr"))
    if "APPROVE → CHALLENGE" not in q(By.ID, "transitions-table").text:
        failures.append("the replay report shows no APPROVE → CHALLENGE")
    if not browser.find_elements(By.CSS_SELECTOR, "#changed-table tbody tr"):
        failures.append("the replay report shows no changed charge")
    browser.execute_script("document.getElementById('replay').scrollIntoView()")
    shot(browser, "replay-1280.png")

    # A phone-width screen: nothing wider than the screen, charts included.
    browser.set_window_size(390, 844)
    browser.get(f"http://127.0.0.1:{admin}/")
    wait.until(lambda b: int(q(By.ID, "mix-chart").get_attribute("data-points") or 0) >= 2)
    overflow = browser.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    if overflow > 0:
        failures.append(f"at phone width the page is {overflow} px wider than the screen")
    shot(browser, "overview-390.png")


if __name__ == "__main__":
    os.makedirs(SHOTS, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        sys.exit(main(work))
