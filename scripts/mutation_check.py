#!/usr/bin/env python3
"""Mutation check: proves the scenario suite catches a broken resilience layer.

For each mutant in tests/mutation/mutants.json (an exact text replacement in the library), in a copy
of the source tree: apply it, rebuild the binaries the suite runs, run the suite, and require it to
FAIL. A mutant the suite survives means a missing scenario or a weak expectation.

Usage: scripts/mutation_check.py [--suite scenarios/suite] [--only ID[,ID...]] [--jobs N]
Prints a table (mutant, caught?, scenarios that failed) and exits 0 only if every mutant was caught:
the suite exited 1 and at least one scenario's verdict is failed, timed_out or flaky (an exit 2 or 3,
an invalid scenario or an infrastructure error, is reported as ERROR, not as a catch).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "build-mutation")
SRC = os.path.join(WORK, "src")
BUILD = os.path.join(WORK, "build")
TARGETS = ["chaos-harness", "gateway", "mock-rpc", "mock-cache", "mock-db"]


def run(cmd, **kw):
    return subprocess.run(cmd, text=True, capture_output=True, **kw)


def sync_tree():
    """Fresh copy of the tracked files (the working tree's versions), so mutants never touch ROOT."""
    files = run(["git", "-C", ROOT, "ls-files", "-co", "--exclude-standard"], check=True).stdout.split("\n")
    if os.path.isdir(SRC):
        shutil.rmtree(SRC)
    for f in files:
        if not f or f.startswith("build"):
            continue
        src = os.path.join(ROOT, f)
        if not os.path.isfile(src):
            continue
        dst = os.path.join(SRC, f)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst)


def build():
    if not os.path.isfile(os.path.join(BUILD, "build.ninja")):
        r = run(["cmake", "-S", SRC, "-B", BUILD, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
                 "-DCHAOS_BUILD_BENCHMARKS=OFF",
                 "-DCHAOS_ONLY_AREAS=harness/common;harness/resilience;mocks;harness/scenario;harness/expect;"
                 "harness/report;harness/runner;harness/gateway;harness/cli"])
        if r.returncode != 0:
            sys.exit("cmake failed:\n" + r.stdout + r.stderr)
    r = run(["cmake", "--build", BUILD, "-j", str(os.cpu_count() or 2), "--target"] + TARGETS)
    return r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]


def run_suite(suite, jobs, report_dir):
    if os.path.isdir(report_dir):
        shutil.rmtree(report_dir)
    r = run([os.path.join(BUILD, "bin", "chaos-harness"), "run", "--quiet", "--jobs", str(jobs),
             "--report-dir", report_dir, os.path.join(ROOT, suite)], timeout=1800)
    failed, judged_failures = [], 0
    try:
        with open(os.path.join(report_dir, "latest.json")) as f:
            for s in json.load(f)["scenarios"]:
                if s["verdict"] != "passed":
                    failed.append(s["name"] + " (" + s["verdict"] + ")")
                # Only a verdict the expectations reached counts as catching a mutant: an "error"
                # (bad scenario, launch failure) or "interrupted" says nothing about the library.
                if s["verdict"] in ("failed", "timed_out", "flaky"):
                    judged_failures += 1
    except (OSError, ValueError, KeyError):
        pass
    return r.returncode, failed, judged_failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--suite", default="scenarios/suite")
    ap.add_argument("--only", default="")
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()

    with open(os.path.join(ROOT, "tests", "mutation", "mutants.json")) as f:
        mutants = json.load(f)["mutants"]
    if args.only:
        wanted = set(args.only.split(","))
        mutants = [m for m in mutants if m["id"] in wanted]

    os.makedirs(WORK, exist_ok=True)
    sync_tree()
    ok, log = build()
    if not ok:
        sys.exit("the unmutated tree does not build:\n" + log)
    code, failed, _ = run_suite(args.suite, args.jobs, os.path.join(WORK, "reports-baseline"))
    if code != 0:
        sys.exit("the suite must pass before mutants mean anything; failing: " + ", ".join(failed))
    print("baseline: suite passes", flush=True)

    rows = []
    for m in mutants:
        path = os.path.join(SRC, m["file"])
        with open(path) as f:
            original = f.read()
        n = original.count(m["find"])
        if n != 1:
            rows.append((m["id"], "STALE", "replacement text found %d times: update tests/mutation/mutants.json" % n))
            continue
        t0 = time.time()
        with open(path, "w") as f:
            f.write(original.replace(m["find"], m["replace"]))
        try:
            ok, log = build()
            if not ok:
                rows.append((m["id"], "BUILD-FAILED", log.strip().splitlines()[-1] if log.strip() else ""))
                continue
            code, failed, judged = run_suite(args.suite, args.jobs, os.path.join(WORK, "reports-" + m["id"]))
            # Caught means the harness said "a scenario failed" (exit 1) and named at least one that
            # failed its expectations; exit 2/3 (invalid scenario, infrastructure) is no catch.
            if code == 1 and judged > 0:
                result = "caught"
            elif code in (0, 1):
                result = "SURVIVED"
            else:
                result = "ERROR (exit %d)" % code
            rows.append((m["id"], result, ", ".join(failed) if failed else "(no scenario failed)"))
        finally:
            with open(path, "w") as f:
                f.write(original)
        print("%-28s %-9s %5.0fs  %s" % (rows[-1][0], rows[-1][1], time.time() - t0, rows[-1][2]), flush=True)

    build()  # leave the copy built unmutated
    caught = sum(1 for r in rows if r[1] == "caught")
    print("\n| mutant | result | scenarios that failed |\n| --- | --- | --- |")
    for r in rows:
        print("| %s | %s | %s |" % r)
    print("\nkill rate: %d/%d" % (caught, len(rows)))
    return 0 if caught == len(rows) and rows else 1


if __name__ == "__main__":
    sys.exit(main())
