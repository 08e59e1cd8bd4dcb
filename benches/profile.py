#!/usr/bin/env python3
"""Where the time goes on the computed programme page: perf's flat profile of the service.

On PostgreSQL ($TEST_DATABASE_URL, a database of its own) with the programme benchmark's data
set, the release binary answers the coordinator's programme page (never cached) flat out from
wrk at 32 connections, while `perf record` samples the service's own threads (not the database,
not wrk) for --seconds at 499 Hz. It prints the symbols with the most samples of their own
(self time) and the share of each crate, and writes both to target/profile.md. Run from the
repository's root:

    TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test python3 benches/profile.py

perf comes from Debian (`linux-perf`); the release build keeps symbol names, which is all a flat
profile needs (no call graphs: the build has neither frame pointers nor debug info).
"""

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import programme  # noqa: E402  (the service, wrk and the data set are the programme benchmark's)


def crate_of(symbol):
    """The crate a demangled Rust symbol belongs to, or a label for what is not Rust."""
    symbol = re.sub(r"^<", "", symbol)
    match = re.match(r"([a-z_][a-z0-9_]*)::", symbol)
    if match:
        return match.group(1)
    if symbol.startswith("[k]") or symbol.startswith("0x"):
        return "(kernel or unknown)"
    return "(C: libc, mimalloc, sqlite)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20, help="length of the sampling")
    parser.add_argument("--top", type=int, default=40, help="symbols to list")
    args = parser.parse_args()
    if not shutil.which("perf"):
        raise SystemExit("perf is missing: apt-get install linux-perf")
    with programme.coordinator_page_on_postgres("profile") as (service, folder, script, token,
                                                               commit):
        data = os.path.join(folder, "perf.data")
        load = threading.Thread(
            target=lambda: programme.wrk(service.address, args.seconds + 4, script, token))
        load.start()
        time.sleep(2)
        subprocess.run(["perf", "record", "-F", "499", "-p", str(service.process.pid), "-o", data,
                        "--", "sleep", str(args.seconds)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        load.join()
        report = programme.run(["perf", "report", "-i", data, "--no-children", "--sort", "symbol",
                                "--stdio", "--percent-limit", "0.01"]).stdout
    rows = []
    for line in report.splitlines():
        match = re.match(r"\s+([\d.]+)%\s+\[([.k])\]\s+(.*)$", line)
        if match:
            share, level, symbol = float(match.group(1)), match.group(2), match.group(3).strip()
            rows.append((share, ("[k] " if level == "k" else "") + symbol))
    crates = collections.Counter()
    for share, symbol in rows:
        crates[crate_of(symbol)] += share
    lines = [
        f"Commit {commit}, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores; coordinator "
        f"programme page on PostgreSQL, wrk -t2 -c{programme.CONNECTIONS}; perf record -F 499 on "
        f"the service for {args.seconds} s; self time.",
        "",
        "| crate | share of samples |",
        "|---|---|",
    ]
    lines += [f"| {crate} | {share:.1f} % |" for crate, share in crates.most_common(15)]
    lines += ["", "| symbol | share of samples |", "|---|---|"]
    lines += [f"| `{symbol[:110]}` | {share:.2f} % |" for share, symbol in rows[: args.top]]
    table = "\n".join(lines) + "\n"
    print(table)
    with open(os.path.join(programme.TARGET, "profile.md"), "w") as out:
        out.write(table)


if __name__ == "__main__":
    main()
