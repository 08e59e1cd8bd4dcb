"""Schemathesis hooks for the GraphQL fuzzer in `.ci/run`.

Schemathesis counts every GraphQL error as a failure, but this service answers bad input with errors
on purpose. A response is judged by what a client can act on instead:
- no HTTP 500, and no other 5xx unless its errors say `retryable` (SERVICE_UNAVAILABLE, TRY_AGAIN);
- every error carries a stable `extensions.code`, never INTERNAL_SERVER_ERROR;
- no error message shows the database or the code behind it (SQL, driver names, panics).
"""

import datetime
import json
import re
import string

import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes

RETRYABLE = {"SERVICE_UNAVAILABLE", "TRY_AGAIN"}
# Words that appear in database, driver and panic messages and never in this service's own errors.
LEAKS = re.compile(
    r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|sqlx|sea_orm|SqlxError|DbErr|pg_|sqlite3?_|"
    r"panicked|RUST_BACKTRACE|stack backtrace|src/\w+\.rs)\b",
    re.IGNORECASE,
)

# Mostly valid values, so that generated operations get past parsing into the resolvers, and now
# and then text that is not a value of the scalar at all.
junk = st.text(alphabet=string.printable, max_size=12)
schemathesis.graphql.scalar(
    "DateTime",
    st.one_of(
        st.datetimes(timezones=st.just(datetime.timezone.utc)).map(
            lambda value: value.isoformat()
        ),
        junk,
    ).map(nodes.String),
)
for name in ("Date", "NaiveDate"):
    schemathesis.graphql.scalar(
        name, st.one_of(st.dates().map(lambda value: value.isoformat()), junk).map(nodes.String)
    )
schemathesis.graphql.scalar(
    "NaiveTime", st.one_of(st.times().map(lambda value: value.isoformat()), junk).map(nodes.String)
)
schemathesis.graphql.scalar(
    "JSON",
    st.one_of(
        st.integers(min_value=-(2**31), max_value=2**31 - 1).map(nodes.Int),
        st.text(max_size=20).map(nodes.String),
        st.booleans().map(nodes.Boolean),
        st.just(nodes.Null),
    ),
)


@schemathesis.check
def answered_with_codes(ctx, response, case):
    """Every answer is one a client can act on: a stable code, retryable where the server is at fault."""
    try:
        payload = json.loads(response.content or b"null")
    except ValueError:
        raise AssertionError(f"HTTP {response.status_code} with a body that is not JSON")
    errors = payload.get("errors") or [] if isinstance(payload, dict) else []
    codes = [(error.get("extensions") or {}).get("code") for error in errors]
    if response.status_code == 500:
        raise AssertionError(f"HTTP 500 (codes {codes})")
    if response.status_code >= 500 and not (codes and set(codes) <= RETRYABLE):
        raise AssertionError(f"HTTP {response.status_code} without a retryable code (codes {codes})")
    for error, code in zip(errors, codes):
        message = error.get("message", "")
        if not isinstance(code, str) or not code:
            raise AssertionError(f"an error without extensions.code: {message!r}")
        if code == "INTERNAL_SERVER_ERROR":
            raise AssertionError(f"INTERNAL_SERVER_ERROR: {message!r}")
        if LEAKS.search(message):
            raise AssertionError(f"an error message shows internals: {message!r}")
