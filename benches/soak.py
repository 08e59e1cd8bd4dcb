#!/usr/bin/env python3
"""A soak: the release binary under steady load for a long time, its resident memory watched.

On PostgreSQL ($TEST_DATABASE_URL, a database of its own) with the programme benchmark's data
set, the coordinator's programme page (never cached: every request runs the resolvers, the
loaders and the audit trail) is driven at 32 connections for the peak rate, then paced at half
of it for --minutes, one wrk run a minute. After each minute the script reads the service's
VmRSS; it prints a table of the minutes and writes it to target/soak.md. Run from the
repository's root:

    TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test python3 benches/soak.py --minutes 30
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import programme  # noqa: E402  (the service, wrk and the data set are the programme benchmark's)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=30, help="length of the paced load")
    args = parser.parse_args()
    with programme.coordinator_page_on_postgres("soak") as (service, _, script, token, commit):
        peak, _, _ = programme.wrk(service.address, 20, script, token)
        rate = peak / 2
        lines = [
            f"Commit {commit}, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores; "
            f"coordinator programme page on PostgreSQL, peak {peak:.0f} requests/s (wrk -t2 "
            f"-c{programme.CONNECTIONS}, 20 s), then paced at {rate:.0f}/s for {args.minutes} min.",
            "",
            "| minute | requests/s | p50 ms | p99 ms | VmRSS MiB |",
            "|---|---|---|---|---|",
            f"| 0 (after warm-up and peak) | | | | {service.memory_mib('VmRSS'):.1f} |",
        ]
        print("\n".join(lines), file=sys.stderr, flush=True)
        for minute in range(1, args.minutes + 1):
            done, p50, p99 = programme.wrk(service.address, 60, script, token, rate=rate)
            lines.append(f"| {minute} | {done:.0f} | {p50:.2f} | {p99:.2f} | "
                         f"{service.memory_mib('VmRSS'):.1f} |")
            print(lines[-1], file=sys.stderr, flush=True)
        lines.append("")
        lines.append(f"Peak resident memory (VmHWM) over the run: {service.peak_memory_mib():.1f} MiB.")
    table = "\n".join(lines) + "\n"
    print(table)
    with open(os.path.join(programme.TARGET, "soak.md"), "w") as out:
        out.write(table)


if __name__ == "__main__":
    main()
