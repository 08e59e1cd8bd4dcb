#!/usr/bin/env python3
"""A source system's side of enrolment sync, as the README's "For integrators" describes it:
start from a snapshot, then follow the change feed from the snapshot's cursor, applying each
change by its version, and start again from a snapshot when the service answers MUST_RESYNC.

Python's standard library only. The API key of a sync client comes from TRAINING_API_KEY; the
state (the cursor and the enrolments as last seen) is kept in --state, written atomically after
every page, so a crash at any point loses nothing and repeats nothing that matters (a change
whose version is not above the one kept is ignored).

    TRAINING_API_KEY=tpk_... python3 sync_client.py --url http://127.0.0.1:8080/graphql \\
        --state bzk-state.json --every 30

--once reads to the feed's current end, prints a summary as JSON and exits."""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

SNAPSHOT = """query($after: String) { enrolmentSnapshot(first: 100, after: $after) {
  feedCursor pageInfo { hasNextPage endCursor }
  nodes { id status version externalId } } }"""

CHANGES = """query($after: String) { enrolmentChanges(first: 500, after: $after) {
  pageInfo { hasNextPage }
  edges { cursor node { enrolmentId change status version } } } }"""


class MustResync(Exception):
    """The cursor is of another feed epoch (a restore) or older than the feed's retention."""


def ask(url, key, query, variables):
    """Posts one operation; waits and tries again when told to (RATE_LIMITED, TRY_AGAIN)."""
    body = json.dumps({"query": query, "variables": variables}).encode()
    for _ in range(10):
        request = urllib.request.Request(url, body, {
            "content-type": "application/json",
            "accept": "application/graphql-response+json",
            "authorization": f"Bearer {key}",
        })
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer = json.load(response)
        except urllib.error.HTTPError as error:
            if error.code in (429, 503, 504):
                time.sleep(float(error.headers.get("retry-after") or 1))
                continue
            # A request error (a bad cursor, say) is a GraphQL answer with a 4xx status.
            answer = json.load(error)
        codes = [e.get("extensions", {}).get("code") for e in answer.get("errors", [])]
        if "MUST_RESYNC" in codes:
            raise MustResync()
        if "TRY_AGAIN" in codes:
            time.sleep(1)
            continue
        if codes:
            raise RuntimeError(f"the service refused: {codes}")
        return answer["data"]
    raise RuntimeError("the service kept asking to try again later")


def save(path, state):
    partial = f"{path}.partial"
    with open(partial, "w", encoding="utf-8") as file:
        json.dump(state, file)
        file.flush()
        os.fsync(file.fileno())
    os.replace(partial, path)


def load(path):
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except FileNotFoundError:
        return {"cursor": None, "enrolments": {}}


def snapshot(url, key):
    """The enrolments of the key's scope as they stand, and the cursor to follow the feed from:
    the first page's (later pages may already show changes the feed will bring again; their
    versions tell which is newer)."""
    enrolments, cursor, after = {}, None, None
    while True:
        page = ask(url, key, SNAPSHOT, {"after": after})["enrolmentSnapshot"]
        cursor = cursor or page["feedCursor"]
        for node in page["nodes"]:
            enrolments[node["id"]] = {"status": node["status"], "version": node["version"]}
        if not page["pageInfo"]["hasNextPage"]:
            return {"cursor": cursor, "enrolments": enrolments}
        after = page["pageInfo"]["endCursor"]


def follow(url, key, state, path):
    """Reads the feed from the state's cursor to its current end, page by page."""
    while True:
        page = ask(url, key, CHANGES, {"after": state["cursor"]})["enrolmentChanges"]
        for edge in page["edges"]:
            change = edge["node"]
            known = state["enrolments"].get(change["enrolmentId"])
            if known is None or change["version"] > known["version"]:
                state["enrolments"][change["enrolmentId"]] = {
                    "status": "ERASED" if change["change"] == "ERASED" else change["status"],
                    "version": change["version"],
                }
            state["cursor"] = edge["cursor"]
        save(path, state)
        if not page["pageInfo"]["hasNextPage"]:
            return


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080/graphql")
    parser.add_argument("--state", required=True, help="a JSON file of this client's own")
    parser.add_argument("--every", type=float, default=30, help="seconds between polls")
    parser.add_argument("--once", action="store_true", help="read to the end once and exit")
    args = parser.parse_args()
    key = os.environ["TRAINING_API_KEY"]
    state = load(args.state)
    while True:
        try:
            if state["cursor"] is None:
                state = snapshot(args.url, key)
                save(args.state, state)
            follow(args.url, key, state, args.state)
        except MustResync:
            print("the service asks for a fresh start: reading a snapshot", file=sys.stderr)
            state = {"cursor": None, "enrolments": {}}
            continue
        if args.once:
            active = sum(1 for e in state["enrolments"].values()
                         if e["status"] in ("CONFIRMED", "WAITLISTED"))
            print(json.dumps({"enrolments": len(state["enrolments"]), "active": active,
                              "cursor": state["cursor"]}))
            return
        time.sleep(args.every)


if __name__ == "__main__":
    main()
