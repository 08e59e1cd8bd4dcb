#!/usr/bin/env python3
"""The programme page under load, from outside, next to what its database can give.

For each database (SQLite always; PostgreSQL when TEST_DATABASE_URL names a server where
databases may be created) this
  1. builds the release binary and loads the data set into a new database (`training
     benchmark-data`: the brochure's course copied to 50 courses, 20 sessions each, six seats
     taken in every session);
  2. starts the binary as a separate process, once per case: the README's programme query
     anonymous (answered from the response cache), the same with the cache off, and the same
     for a coordinator (never cached);
  3. drives it with wrk at 32 connections for the peak rate, then paced at half that rate for
     the latency at p50 and p99, and reads the service's peak resident memory (VmHWM);
  4. runs the page's own SQL with pgbench (PostgreSQL, prepared, 32 clients) or Python's
     sqlite3 (SQLite, one connection per core) as the ceiling, in the same run.
It prints a Markdown table and writes it to $CARGO_TARGET_DIR (or target)/programme-bench.md.

    python3 benches/programme.py [--seconds 10]
    TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test python3 benches/programme.py

wrk comes from Debian (`apt-get install wrk`); the script installs it when it is missing.
"""

import argparse
import contextlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
# Another build to measure (an older commit's, to compare in the same run): TRAINING_BINARY.
BINARY = os.environ.get("TRAINING_BINARY") or os.path.join(TARGET, "release", "training")
CONNECTIONS = 32

PAGE = """{ courses(first: 10) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node {
    id slug title subtitle audience goals maxParticipants
    modules { title topics children { title topics } }
    sessions(first: 5) { edges { node { id startsAt endsAt seatsLeft location { name city } } } }
} } } }"""

WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BODY")
local token = os.getenv("TOKEN")
if token ~= nil and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
local rate = tonumber(os.getenv("RATE") or "0")
local connections = tonumber(os.getenv("CONNECTIONS") or "32")
function delay()
  if rate > 0 then
    -- Each connection waits about connections/rate seconds, jittered, between requests.
    return 1000 * connections / rate * (0.5 + math.random())
  end
  return 0
end
"""

# The statements the page costs, as the service sends them today (read from its statement log,
# with the ids filled in): the courses and their count, goals, top modules and their topics,
# sub-modules and theirs, the first sessions of every course, the locations and the seats taken.
def literal(value):
    """An id as SQL: text on PostgreSQL, a blob on SQLite (sea-orm stores UUIDs as 16 bytes)."""
    return f"X'{value.hex()}'" if isinstance(value, bytes) else f"'{value}'"


def quoted(ids):
    return ", ".join(literal(i) for i in ids) or "NULL"


def page_statements(courses, top_modules, child_modules, sessions, locations):
    published = "status = 'PUBLISHED'"
    statements = [
        f"SELECT * FROM courses WHERE {published} ORDER BY slug LIMIT 11",
        f"SELECT COUNT(*) FROM (SELECT * FROM courses WHERE {published}) AS sub_query",
        f"SELECT * FROM course_goals WHERE course_id IN ({quoted(courses)}) "
        "ORDER BY course_id, position",
        f"SELECT * FROM modules WHERE parent_id IS NULL AND course_id IN ({quoted(courses)}) "
        "ORDER BY position",
        f"SELECT * FROM module_topics WHERE module_id IN ({quoted(top_modules)}) ORDER BY position",
        f"SELECT * FROM modules WHERE parent_id IN ({quoted(top_modules)}) ORDER BY position",
        f"SELECT * FROM module_topics WHERE module_id IN ({quoted(child_modules)}) ORDER BY position",
    ]
    statements.append(
        "SELECT * FROM (SELECT sessions.*, course_id AS page_owner, ROW_NUMBER() OVER "
        "(PARTITION BY course_id ORDER BY starts_at, id) AS row_number FROM sessions "
        f"WHERE course_id IN ({quoted(courses)})) AS ranked WHERE row_number <= 6 "
        "ORDER BY page_owner, row_number"
    )
    statements += [
        f"SELECT * FROM locations WHERE id IN ({quoted(locations)})",
        "SELECT session_id, status, COUNT(*) FROM enrolments "
        f"WHERE session_id IN ({quoted(sessions)}) AND status <> 'CANCELLED' "
        "GROUP BY session_id, status",
    ]
    return statements


def run(command, **kwargs):
    return subprocess.run(command, check=True, text=True, capture_output=True, **kwargs)


def ensure_wrk():
    if shutil.which("wrk"):
        return
    print("installing wrk (Debian)", file=sys.stderr)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)


class Service:
    """The release binary on a free port, until stopped."""

    def __init__(self, database_url, data_dir, env):
        environment = dict(os.environ)
        environment.update(
            {
                "DATABASE_URL": database_url,
                "LISTEN_ADDR": "127.0.0.1:0",
                "METRICS_LISTEN_ADDR": "off",
                "DATA_DIR": data_dir,
                "DEMO_DATA": "false",
                "DISPATCH_MESSAGES": "false",
                "RETENTION_EVERY_MINUTES": "0",
                "RATE_LIMIT_PER_MINUTE": "0",
                "RATE_LIMIT_ANONYMOUS_PER_MINUTE": "0",
                "MAX_CONNECTIONS_PER_ADDRESS": "10000",
                "LOG_FORMAT": "json",
                "RUST_LOG": "warn,training=info,api=info",
            }
        )
        environment.update(env)
        self.process = subprocess.Popen(
            [BINARY], env=environment, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        self.address = None
        deadline = time.time() + 60
        for line in self.process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            address = event.get("address") or event.get("fields", {}).get("address")
            if address:
                self.address = f"http://{address}"
                break
            if time.time() > deadline:
                break
        if not self.address:
            raise SystemExit("the service did not say where it listens")
        # Keep draining its log, so that it never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.process.stdout], daemon=True).start()

    def memory_mib(self, field):
        """A memory figure of /proc/<pid>/status: VmHWM (peak resident) or VmRSS (now)."""
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def peak_memory_mib(self):
        return self.memory_mib("VmHWM")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def ask(address, token=None):
    request = urllib.request.Request(
        f"{address}/graphql",
        data=json.dumps({"query": PAGE}).encode(),
        headers={"Content-Type": "application/json"},
    )
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request) as response:
        body = json.load(response)
    if body.get("errors") or len(body["data"]["courses"]["edges"]) != 10:
        raise SystemExit(f"the page did not answer as expected: {json.dumps(body)[:500]}")
    return body


def wrk(address, seconds, script, token=None, rate=0):
    env = dict(os.environ)
    env.update(
        {
            "BODY": json.dumps({"query": PAGE}),
            "TOKEN": token or "",
            "RATE": str(rate),
            "CONNECTIONS": str(CONNECTIONS),
        }
    )
    output = run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", script,
         f"{address}/graphql"],
        env=env,
    ).stdout
    if "Non-2xx" in output or "Socket errors" in output:
        raise SystemExit(f"wrk saw failures:\n{output}")
    rate_found = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))

    def percentile(p):
        match = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    return rate_found, percentile(50), percentile(99)


def measure_case(label, database_url, seconds, script, env, token=None):
    data_dir = tempfile.mkdtemp(prefix="programme-bench-")
    service = Service(database_url, data_dir, env)
    try:
        ask(service.address, token)
        wrk(service.address, 2, script, token)  # warm up
        peak, _, _ = wrk(service.address, seconds, script, token)
        _, p50, p99 = wrk(service.address, seconds, script, token, rate=peak / 2)
        memory = service.peak_memory_mib()
    finally:
        service.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    return {"case": label, "rate": peak, "p50": p50, "p99": p99, "memory": memory}


def ids_for_ceiling(query):
    """The page's statements with the ids they use, read with `query(sql) -> rows`."""
    courses = [r[0] for r in query(
        "SELECT id FROM courses WHERE status = 'PUBLISHED' ORDER BY slug LIMIT 10")]
    inside = quoted(courses)
    top = [r[0] for r in query(
        f"SELECT id FROM modules WHERE parent_id IS NULL AND course_id IN ({inside})")]
    children = [r[0] for r in query(f"SELECT id FROM modules WHERE parent_id IN ({quoted(top)})")]
    sessions = [r[0] for r in query(
        "SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY course_id "
        f"ORDER BY starts_at, id) AS n FROM sessions WHERE course_id IN ({inside})) ranked "
        "WHERE n <= 6")]
    locations = [r[0] for r in query(
        f"SELECT DISTINCT location_id FROM sessions WHERE course_id IN ({inside}) "
        "AND location_id IS NOT NULL")]
    return page_statements(courses, top, children, sessions, locations)


def ceiling_postgres(database_url, seconds):
    def query(sql):
        out = run(["psql", "-At", "-F", "\t", database_url, "-c", sql]).stdout
        return [line.split("\t") for line in out.splitlines() if line]

    statements = ids_for_ceiling(query)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(";\n".join(statements) + ";\n")
    try:
        output = run(["pgbench", "-n", "-M", "prepared", "-c", str(CONNECTIONS), "-j", "2",
                      "-T", str(seconds), "-f", script.name, database_url]).stdout
    finally:
        os.unlink(script.name)
    return float(re.search(r"tps = ([\d.]+)", output).group(1))


def ceiling_sqlite(path, seconds):
    reader = sqlite3.connect(path)
    statements = ids_for_ceiling(lambda sql: reader.execute(sql).fetchall())
    reader.close()
    pages = [0] * (os.cpu_count() or 2)
    stop = time.time() + seconds

    def loop(n):
        connection = sqlite3.connect(path, check_same_thread=False)
        while time.time() < stop:
            for sql in statements:
                connection.execute(sql).fetchall()
            pages[n] += 1

    threads = [threading.Thread(target=loop, args=(n,)) for n in range(len(pages))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(pages) / seconds


def token_for_coordinator(secret):
    return run([BINARY, "token", "issue", "--role", "coordinator"],
               env={**os.environ, "JWT_SECRET": secret}).stdout.strip()


@contextlib.contextmanager
def coordinator_page_on_postgres(prefix):
    """For the scripts beside this one (soak, profile): builds the release binary, loads the data
    set into a new database on $TEST_DATABASE_URL's server, starts the binary on it and warms it
    up with the coordinator's page. Yields (service, folder, script, token, commit); stops the
    service and drops the database afterwards."""
    admin = os.environ.get("TEST_DATABASE_URL")
    if not admin:
        raise SystemExit("set TEST_DATABASE_URL to a PostgreSQL server")
    ensure_wrk()
    subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "training"],
                   cwd=ROOT, check=True)
    commit = run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT).stdout.strip()
    name = f"bench_{prefix}_{uuid.uuid4().hex[:12]}"
    url = admin.rsplit("/", 1)[0] + "/" + name
    run(["psql", admin, "-c", f'CREATE DATABASE "{name}"'])
    folder = tempfile.mkdtemp(prefix=f"{prefix}-")
    service = None
    try:
        script = os.path.join(folder, "post.lua")
        with open(script, "w") as f:
            f.write(WRK_SCRIPT)
        run([BINARY, "benchmark-data"], env={**os.environ, "DATABASE_URL": url, "RUST_LOG": "warn"})
        secret = f"{prefix}-secret-{uuid.uuid4().hex}"
        token = token_for_coordinator(secret)
        service = Service(url, os.path.join(folder, "data"), {"JWT_SECRET": secret})
        ask(service.address, token)
        wrk(service.address, 5, script, token)  # warm up
        yield service, folder, script, token, commit
    finally:
        if service:
            service.stop()
        shutil.rmtree(folder, ignore_errors=True)
        run(["psql", admin, "-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'])


def measure_database(kind, database_url, seconds, script, sqlite_path=None):
    run([BINARY, "benchmark-data"], env={**os.environ, "DATABASE_URL": database_url,
                                        "RUST_LOG": "warn"})
    secret = f"benchmark-secret-{uuid.uuid4().hex}"
    token = token_for_coordinator(secret)
    cases = [
        ("anonymous, cached", {}, None),
        ("anonymous, cache off", {"RESPONSE_CACHE_MAX_BYTES": "0"}, None),
        ("coordinator (never cached)", {"JWT_SECRET": secret}, token),
    ]
    rows = []
    for label, env, tok in cases:
        rows.append(measure_case(label, database_url, seconds, script,
                                 {"JWT_SECRET": secret, **env}, tok))
        print(f"{kind}, {label}: {rows[-1]}", file=sys.stderr)
    if kind == "PostgreSQL":
        ceiling = ceiling_postgres(database_url, seconds)
        method = "pgbench -M prepared, 32 clients"
    else:
        ceiling = ceiling_sqlite(sqlite_path, seconds)
        method = f"sqlite3, {os.cpu_count()} connections"
    return rows, ceiling, method


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each load run")
    args = parser.parse_args()
    ensure_wrk()
    if os.environ.get("TRAINING_BINARY"):
        commit = f"binary {BINARY}"
    else:
        subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "training"],
                       cwd=ROOT, check=True)
        commit = run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT).stdout.strip()
    lines = [
        f"Commit {commit}, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores; wrk -t2 "
        f"-c{CONNECTIONS}, {args.seconds} s a run; latency paced at half the peak rate.",
        "",
        "| database | case | requests/s | p50 ms | p99 ms | peak RSS MiB | ceiling pages/s | of ceiling |",
        "|---|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as folder:
        script = os.path.join(folder, "post.lua")
        with open(script, "w") as f:
            f.write(WRK_SCRIPT)
        databases = []
        path = os.path.join(folder, "bench.db")
        databases.append(("SQLite", f"sqlite://{path}?mode=rwc", path, None))
        admin = os.environ.get("TEST_DATABASE_URL")
        if admin:
            name = f"bench_programme_{uuid.uuid4().hex[:12]}"
            run(["psql", admin, "-c", f'CREATE DATABASE "{name}"'])
            databases.append(("PostgreSQL", admin.rsplit("/", 1)[0] + "/" + name, None, name))
        try:
            for kind, url, sqlite_path, _ in databases:
                rows, ceiling, method = measure_database(kind, url, args.seconds, script, sqlite_path)
                for row in rows:
                    lines.append(
                        f"| {kind} | {row['case']} | {row['rate']:.0f} | {row['p50']:.2f} | "
                        f"{row['p99']:.2f} | {row['memory']:.0f} | {ceiling:.0f} ({method}) | "
                        f"{row['rate'] / ceiling:.2f} |"
                    )
                    print(lines[-1], file=sys.stderr)
        finally:
            for _, _, _, name in databases:
                if name:
                    run(["psql", admin, "-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'])
    table = "\n".join(lines) + "\n"
    print(table)
    with open(os.path.join(TARGET, "programme-bench.md"), "w") as out:
        out.write(table)


if __name__ == "__main__":
    main()
