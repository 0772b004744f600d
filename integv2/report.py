#!/usr/bin/env python3
"""Write INTEROP.md from the results of scripts/integv2 runs.

    python3 integv2/report.py [-i integv2/out] [-o INTEROP.md]

Reads, for each pairing folder under the input folder (c-c, go-go, go-c, c-go),
collected.txt (the node ids the suite collects), junit/FILE.xml (pytest's junit
XML of one test file) and run.txt (what ran). A case's outcome is that of its
junit <testcase>: failed (<failure> or <error>), skipped (<skipped>), else
passed. A file without junit XML in a pairing is reported as not run.

Per test file and pairing: cases collected, passed with the C tools (c-c),
passed with the pairing, and the cases that pass with C and fail with the
pairing, and the reverse. The Go pairings' logs (log/FILE.log, where the suite
prints a failing case's command lines and output) give two to-do lists for the
drop-in work: the Go flag package's errors (an unknown flag, or a value it
cannot parse), and every flag the suite passes to s2nc/s2nd that our command's
-h (gobin/s2nc, gobin/s2nd of the run) does not list.
"""

import argparse
import collections
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

PAIRINGS = [
    ("c-c", "C s2nc / C s2nd"),
    ("go-go", "Go s2nc / Go s2nd"),
    ("go-c", "Go s2nc / C s2nd"),
    ("c-go", "C s2nc / Go s2nd"),
]
# Test files whose cases pass with the C tools and fail with ours for a reason
# that is not in our s2nc/s2nd: the report says it next to the cases. The C
# tools are s2n-tls v1.3.33; ours link the pinned, newer s2n-tls.
WHY_C_PASSES_GO_FAILS = {
    "test_pq_handshake.py": "every failing case asks s2nd or s2nc for a TLS 1.2 "
    "post-quantum policy (KMS-PQ-TLS-*, PQ-SIKE-TEST-*, PQ-TLS-1-0-2020-12) that "
    "the s2n-tls our commands link refuses (\"Deprecated security policy\"); "
    "the cases without such a policy pass.",
    "test_cross_compatibility.py": "a session ticket issued by one side is "
    "resumed by the other, and one side is always the suite's own C tools "
    "(s2n-tls v1.3.33, as s2nc_head/s2nd_head). Servers of the newer s2n-tls "
    "our tools link do not resume v1.3.33 servers' tickets nor the reverse: "
    "the C tools of the newer s2n-tls do the same (scripts/integv2 -p c-c -H "
    "third_party/dist/s2n-utils/bin, C v1.3.33 against C s2n-tls of awscrt "
    "0.26.1: all 20 server cases of this subset fail the same way, a full "
    "handshake where the suite expects 'Resumed session', and 14 of its "
    "client cases fail too), so these wait on s2n-tls's own ticket "
    "compatibility across versions, not on the binding. Giving our s2nd the "
    "C tool's built-in ticket key changed nothing. The one go-c case "
    "(old_client_new_ticket, TLS 1.3) is another failure: our s2nc reached "
    "the end of stdin before the server's post-handshake ticket arrived "
    "('the server gave no session to resume'), in a run of the four pairings "
    "at once; alone it passed 6 runs of 6.",
    "test_renegotiate.py": "every case runs s2nc against openssl s_server "
    "(so in c-go no tool of ours takes part: it is C s2nc against openssl); "
    "the cases hang on openssl's timing (5 s timeouts) and some flip from run "
    "to run with the C tools too (see C/C's failures of this file).",
}
LIST_MAX = 30  # cases listed per file and direction; the rest are counted

FLAG_ERRORS = [
    re.compile(r"(s2n[cd]): flag provided but not defined: (-[\w-]+)"),
    re.compile(r"(s2n[cd]): invalid value \"([^\"]*)\" for flag (-[\w-]+)"),
    re.compile(r"(s2n[cd]): flag needs an argument: (-[\w-]+)"),
]


def load_pairing(folder):
    """Returns (collected {file: [nodeid]}, outcomes {nodeid: outcome}, ran {file}, run.txt)."""
    collected = collections.defaultdict(list)
    path = os.path.join(folder, "collected.txt")
    if os.path.exists(path):
        for line in open(path):
            line = line.strip()
            if "::" in line:
                collected[line.split("::", 1)[0]].append(line)
    outcomes, ran = {}, set()
    jdir = os.path.join(folder, "junit")
    if os.path.isdir(jdir):
        for name in sorted(os.listdir(jdir)):
            if not name.endswith(".py.xml"):
                continue
            ran.add(name[: -len(".xml")])
            for case in ET.parse(os.path.join(jdir, name)).iter("testcase"):
                fname = case.get("file") or case.get("classname", "").replace(".", "/") + ".py"
                nodeid = "%s::%s" % (fname, case.get("name"))
                outcome = "passed"
                for child in case:
                    if child.tag in ("failure", "error"):
                        outcome = "failed"
                        break
                    if child.tag == "skipped":
                        outcome = "skipped"
                # A case may appear twice (an error in teardown after a pass):
                # any failure wins.
                if outcomes.get(nodeid) != "failed":
                    outcomes[nodeid] = outcome
    run = open(os.path.join(folder, "run.txt")).read() if os.path.exists(os.path.join(folder, "run.txt")) else ""
    return collected, outcomes, ran, run


def case_list(ids, prefix):
    ids = sorted(ids)
    out = ["  - `%s`" % i.split("::", 1)[1] for i in ids[:LIST_MAX]]
    if len(ids) > LIST_MAX:
        out.append("  - ... and %d more" % (len(ids) - LIST_MAX))
    return [prefix] + out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-i", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"))
    ap.add_argument("-o", default="INTEROP.md")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 unless every collected case has a result in every pairing present, "
                         "every test file has a case that passes with C/C (the runner works), and no "
                         "case passes with C/C and fails with ours (scripts/test's curated run)")
    a = ap.parse_args()

    data = {}
    for key, _ in PAIRINGS:
        folder = os.path.join(a.i, key)
        if os.path.isdir(folder):
            data[key] = load_pairing(folder)
    if "c-c" not in data:
        sys.exit("report.py: no C/C baseline in %s (run scripts/integv2 -p c-c)" % a.i)
    base_collected, base_out, base_ran, _ = data["c-c"]
    files = sorted(set(base_collected) | set(base_ran))

    L = []
    L.append("# s2n-tls integration suite: the C tools and ours")
    L.append("")
    L.append("Generated by `python3 integv2/report.py` from the junit XML of `scripts/integv2` runs")
    L.append("(`make integv2` runs every pairing and rewrites this file). The suite is")
    L.append("`tests/integrationv2` of s2n-tls v1.3.33 (scripts/fetch-integv2); the C reference")
    L.append("is that version's s2nc/s2nd (scripts/build-integv2-utils). A pairing names the")
    L.append("s2nc / s2nd the suite ran: C is the reference, Go is this project's cmd/s2nc,")
    L.append("cmd/s2nd. Cases against OpenSSL, GnuTLS and Java run with the pairing's s2nc or")
    L.append("s2nd. \"not run\" means that pairing has no results for the file (its run has not")
    L.append("reached it, or was not started).")
    L.append("")
    L.append("## The runs this file reflects")
    L.append("")
    for key, title in PAIRINGS:
        if key not in data:
            L.append("- **%s** (%s): not run" % (key, title))
            continue
        run = data[key][3]
        started = re.search(r"^started: (.*)$", run, re.M)
        finished = re.search(r"^finished: (.*)$", run, re.M)
        commit = re.search(r"^commit: (.*)$", run, re.M)
        L.append("- **%s** (%s): %d of %d files, started %s, %s; at commit %s" % (
            key, title, len(data[key][2] & set(files)), len(files),
            started.group(1) if started else "?",
            ("finished " + finished.group(1)) if finished else "not finished (interrupted or still running)",
            commit.group(1) if commit else "?"))
    L.append("")

    subsets = {}
    for key, _ in PAIRINGS:
        if key in data:
            for f, k in re.findall(r"^subset: ([^:]+): (.*)$", data[key][3], re.M):
                subsets.setdefault(f, set()).add(k)
    if subsets:
        L.append("These runs cover a subset of the suite's cases (`scripts/integv2 -L`), the same in")
        L.append("every pairing unless a file shows two expressions; per file, its pytest `-k` expression:")
        L.append("")
        for f in sorted(subsets):
            L.append("- %s: %s" % (f, " | ".join("`%s`" % k for k in sorted(subsets[f]))))
        L.append("")

    skipped = sorted(set(re.findall(r"^not run: (.*)$", data["c-c"][3], re.M)))
    if skipped:
        L.append("Test files not run in any pairing (scripts/integv2):")
        L.append("")
        for line in skipped:
            f, why = line.split(": ", 1)
            L.append("- %s: %s" % (f, why))
        L.append("")
    L.append("The environment: the C reference links Debian's OpenSSL 3.0 (s2n-tls v1.3.33")
    L.append("does not start against AWS-LC 5.12); the suite's OpenSSL peer is Debian's")
    L.append("`openssl` 3.0 at security level 0 (integv2/openssl.cnf), and the suite runs with")
    L.append("`--provider-version=openssl-1.1.1`, as the suite was written for OpenSSL 1.1.1.")
    L.append("Cases that fail with C/C fail there for reasons of the reference or of this")
    L.append("environment, not of this project's tools; their log is")
    L.append("`integv2/out/c-c/log/FILE.log` of the run.")
    L.append("")

    # Totals.
    L.append("## Totals")
    L.append("")
    L.append("Over the files that both the pairing and C/C ran.")
    L.append("")
    L.append("| pairing | files | collected | passed with C | passed with the pairing | pass with C, fail with the pairing | fail with C, pass with the pairing |")
    L.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for key, title in PAIRINGS:
        if key not in data:
            continue
        collected, outs, ran, _ = data[key]
        both = [f for f in files if f in ran and f in base_ran]
        ids = [i for f in both for i in base_collected.get(f, [])]
        cp = sum(1 for i in ids if base_out.get(i) == "passed")
        gp = sum(1 for i in ids if outs.get(i) == "passed")
        cg = sum(1 for i in ids if base_out.get(i) == "passed" and outs.get(i) != "passed")
        gc = sum(1 for i in ids if base_out.get(i) != "passed" and outs.get(i) == "passed")
        L.append("| %s (%s) | %d | %d | %d | %d | %s | %s |" % (
            key, title, len(both), len(ids), cp, gp,
            "-" if key == "c-c" else cg, "-" if key == "c-c" else gc))
    L.append("")

    # Per file.
    L.append("## Per test file")
    L.append("")
    hdr = "| file | collected | C/C passed | C/C failed | C/C skipped |"
    sep = "| --- | ---: | ---: | ---: | ---: |"
    others = [k for k, _ in PAIRINGS if k != "c-c" and k in data]
    for k in others:
        hdr += " %s passed |" % k
        sep += " ---: |"
    L.append(hdr)
    L.append(sep)
    for f in files:
        ids = base_collected.get(f, [])
        if f in base_ran:
            row = "| %s | %d | %d | %d | %d |" % (
                f, len(ids),
                sum(1 for i in ids if base_out.get(i) == "passed"),
                sum(1 for i in ids if base_out.get(i) == "failed"),
                sum(1 for i in ids if base_out.get(i) == "skipped"))
        else:
            row = "| %s | %d | not run | | |" % (f, len(ids))
        for k in others:
            outs, ran = data[k][1], data[k][2]
            row += " %s |" % (sum(1 for i in ids if outs.get(i) == "passed") if f in ran else "not run")
        L.append(row)
    L.append("")

    # Differences.
    L.append("## Cases whose outcome differs from C/C")
    L.append("")
    L.append("At most %d cases are listed per file and direction." % LIST_MAX)
    L.append("")
    for k in others:
        outs, ran = data[k][1], data[k][2]
        L.append("### %s (%s)" % (k, dict(PAIRINGS)[k]))
        L.append("")
        any_diff = False
        for f in files:
            if f not in ran or f not in base_ran:
                continue
            ids = base_collected.get(f, [])
            cg = [i for i in ids if base_out.get(i) == "passed" and outs.get(i) != "passed"]
            gc = [i for i in ids if base_out.get(i) != "passed" and outs.get(i) == "passed"]
            if not cg and not gc:
                continue
            any_diff = True
            L.append("#### %s" % f)
            L.append("")
            if cg and f in WHY_C_PASSES_GO_FAILS:
                L.append("Why: " + WHY_C_PASSES_GO_FAILS[f])
                L.append("")
            if cg:
                L += case_list(cg, "- %d pass with C and fail with %s:" % (len(cg), k))
            if gc:
                L += case_list(gc, "- %d fail with C and pass with %s:" % (len(gc), k))
            L.append("")
        if not any_diff:
            L.append("None in the files both ran.")
            L.append("")

    # Flags: from the Go pairings' pytest logs, where the suite prints each
    # failing case's command lines ("Command line: ...") and the processes'
    # stdout and stderr.
    rejected = collections.defaultdict(set)
    passed_flags = {"s2nc": collections.defaultdict(set), "s2nd": collections.defaultdict(set)}
    ours = {}
    for k in others:
        for tool in ("s2nc", "s2nd"):
            exe = os.path.join(a.i, k, "gobin", tool)
            if tool not in ours and os.access(exe, os.X_OK):
                h = subprocess.run([exe, "-h"], capture_output=True, text=True)
                ours[tool] = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", h.stdout + h.stderr))
        ldir = os.path.join(a.i, k, "log")
        if not os.path.isdir(ldir):
            continue
        for name in sorted(os.listdir(ldir)):
            if not name.endswith(".py.log"):
                continue
            f = name[: -len(".log")]
            with open(os.path.join(ldir, name), errors="replace") as fh:
                for line in fh:
                    m = re.match(r"^Command line: (s2n[cd])(_head)? (.*)$", line)
                    if m and not m.group(2):
                        for tok in m.group(3).split():
                            if re.match(r"^--?[A-Za-z]", tok):
                                passed_flags[m.group(1)][tok.split("=", 1)[0]].add(f)
                    for rx in FLAG_ERRORS:
                        for m in rx.finditer(line):
                            g = m.groups()
                            what = "%s %s" % (g[0], g[-1])
                            if len(g) == 3:
                                what += " with value %s" % g[1]
                            rejected[what].add(f)
    if rejected:
        L.append("## Flags our s2nc/s2nd reject")
        L.append("")
        L.append("Go's flag package errors in the Go pairings' pytest output, with the test files")
        L.append("where they appear. A command stops at the first flag it rejects, so flags later")
        L.append("on the same command line show up only once the earlier ones are accepted.")
        L.append("")
        L.append("| tool and flag | test files |")
        L.append("| --- | --- |")
        for what, fs in sorted(rejected.items()):
            L.append("| `%s` | %s |" % (what, ", ".join(sorted(fs))))
        L.append("")
    missing = [(tool, fl, fs) for tool in ("s2nc", "s2nd") if tool in ours
               for fl, fs in sorted(passed_flags[tool].items()) if fl not in ours[tool]]
    if missing:
        L.append("## Flags the suite passes that our -h does not list")
        L.append("")
        L.append("Every flag on the s2nc/s2nd command lines of the Go pairings' failing cases,")
        L.append("less those our command's -h names.")
        L.append("")
        L.append("| tool | flag | test files |")
        L.append("| --- | --- | --- |")
        for tool, fl, fs in missing:
            L.append("| %s | `%s` | %s |" % (tool, fl, ", ".join(sorted(fs))))
        L.append("")

    with open(a.o, "w") as fh:
        fh.write("\n".join(L))
    print("report.py: wrote %s" % a.o, file=sys.stderr)

    if a.check:
        problems = []
        for key in data:
            collected, outs, ran, _ = data[key]
            ids = [i for f in files for i in base_collected.get(f, [])]
            missing = [i for i in ids if i not in outs]
            passed = sum(1 for i in ids if outs.get(i) == "passed")
            print("report.py: %s: %d collected, %d passed, %d without a result" % (
                key, len(ids), passed, len(missing)), file=sys.stderr)
            if not ids:
                problems.append("%s: no case collected" % key)
            if missing:
                problems.append("%s: %d collected cases have no result, e.g. %s" % (key, len(missing), missing[0]))
            if key == "c-c":
                for f in files:
                    fids = base_collected.get(f, [])
                    if fids and not any(outs.get(i) == "passed" for i in fids):
                        problems.append("c-c: no case of %s passes with the C tools" % f)
                cfail = [i for i in ids if outs.get(i) != "passed"]
                for i in cfail:
                    print("report.py: c-c: fails with the C tools too (the reference's own): %s" % i, file=sys.stderr)
            else:
                regress = [i for i in ids if base_out.get(i) == "passed" and outs.get(i) not in (None, "passed")]
                for i in regress:
                    problems.append("%s: passes with C/C, fails with ours: %s" % (key, i))
        if problems:
            sys.exit("report.py: check failed:\n  " + "\n  ".join(problems))


if __name__ == "__main__":
    main()
