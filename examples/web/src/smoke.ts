// Runs the example's operations with Apollo Client against a started service, as a frontend
// would: the programme page by persisted id, a session followed live while a coordinator books
// a seat (the page's cached Session updates by its id), a booking repeated with its idempotency
// key, and an unregistered document refused.
//
// Usage: GRAPHQL_URL=http://127.0.0.1:8080/graphql COORDINATOR_TOKEN=… \
//        PERSISTED_QUERY_MANIFEST=persisted-query-manifest.json node dist/smoke.js
import { readFile } from "node:fs/promises";
import { randomUUID } from "node:crypto";

import { gql } from "@apollo/client";

import { createApolloClient } from "./client.js";
import type {
  BookSeatMutation as BookSeat,
  BookSeatMutationVariables as BookSeatVariables,
  ProgrammeQuery as Programme,
  ProgrammeQueryVariables as ProgrammeVariables,
  SessionSeatsQuery as SessionSeats,
  SessionSeatsSubscription as SessionSeatsUpdate,
  SessionSeats_Session as SeatsFragment,
} from "./generated/graphql.js";
import { operation } from "./graphql.js";
import { BookSeatMutation } from "./operations/BookSeat.js";
import { ProgrammeQuery } from "./operations/Programme.js";
import {
  SessionSeatsQuery,
  SessionSeatsSession,
  SessionSeatsSubscription,
} from "./operations/SessionSeats.js";

function need(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name}`);
  return value;
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

const url = need("GRAPHQL_URL");
const coordinatorToken = need("COORDINATOR_TOKEN");
const manifest = JSON.parse(await readFile(need("PERSISTED_QUERY_MANIFEST"), "utf8"));

const deadline = setTimeout(() => {
  console.error("smoke: no answer within 60 s");
  process.exit(1);
}, 60_000);

const anonymous = createApolloClient({ url, manifest });
const coordinator = createApolloClient({ url, token: coordinatorToken });

// The programme page, sent by its registered id.
const programme = await anonymous.query<Programme, ProgrammeVariables>({
  query: operation(ProgrammeQuery),
  variables: { first: 10, sessions: 5 },
});
const courses = programme.data?.courses;
check(courses && courses.totalCount > 0, "the programme has a course");
const session = courses.edges.flatMap((e) => e.node.sessions.edges.map((s) => s.node))[0];
check(session, "a course has a session");
console.log(`programme: ${courses.totalCount} course(s); first session ${session.id}`);

// The session page, in the cache, then followed live.
const seats = await anonymous.query<SessionSeats>({
  query: operation(SessionSeatsQuery),
  variables: { id: session.id },
});
const before = seats.data?.session;
check(before, "the session page loads");
const cached = () =>
  anonymous.cache.readFragment<SeatsFragment>({
    id: anonymous.cache.identify({ __typename: "Session", id: session.id }),
    fragment: SessionSeatsSession,
  });
check(cached()?.seatsLeft === before.seatsLeft, "the cache holds the session");

const updates: SessionSeatsUpdate["sessionUpdated"][] = [];
const first = new Promise<void>((resolve, reject) => {
  anonymous
    .subscribe<SessionSeatsUpdate>({
      query: operation(SessionSeatsSubscription),
      variables: { id: session.id },
    })
    .subscribe({
      next: (result) => {
        if (result.data) updates.push(result.data.sessionUpdated);
        resolve();
      },
      error: reject,
    });
});
await first;

// A coordinator books a made-up participant; the key makes a retry harmless.
const key = randomUUID();
const input: BookSeatVariables["input"] = {
  sessionId: session.id,
  newParticipant: {
    fullName: "Voorbeeld Deelnemer (fictief)",
    email: `voorbeeld-${key}@example.invalid`,
    role: "MAYOR",
  },
  idempotencyKey: key,
};
const booked = await coordinator.mutate<BookSeat, BookSeatVariables>({
  mutation: operation(BookSeatMutation),
  variables: { input },
});
check(booked.data?.bookSeat.userErrors.length === 0, "the booking is made");
check(!booked.data.bookSeat.replayed, "the first answer is not a replay");
const again = await coordinator.mutate<BookSeat, BookSeatVariables>({
  mutation: operation(BookSeatMutation),
  variables: { input },
});
check(again.data?.bookSeat.replayed === true, "the repeat is the first answer, replayed");
check(
  again.data.bookSeat.enrolment?.id === booked.data.bookSeat.enrolment?.id,
  "the repeat booked nothing new",
);

// The subscription brings the new count, and the cached session updates by its id.
for (let tries = 0; tries < 100; tries++) {
  if (updates.some((u) => u.seatsLeft === before.seatsLeft - 1)) break;
  await new Promise((resolve) => setTimeout(resolve, 100));
}
const after = updates.find((u) => u.seatsLeft === before.seatsLeft - 1);
check(after, `the subscription reports one seat fewer (saw ${JSON.stringify(updates)})`);
check(after.availabilityVersion > before.availabilityVersion, "the version rose");
check(cached()?.seatsLeft === before.seatsLeft - 1, "the cached session was updated by id");
console.log(`live: seats left ${before.seatsLeft} -> ${after.seatsLeft}; cache updated by id`);

// Without credentials, a document that is not registered does not run.
const stranger = createApolloClient({ url });
const refused = await stranger
  .query({ query: gql`query Unregistered { courses { totalCount } }` })
  .then(
    () => "ran",
    (error: { errors?: { extensions?: { code?: string } }[] }) =>
      error.errors?.[0]?.extensions?.code ?? String(error),
  );
check(refused === "PERSISTED_QUERY_NOT_REGISTERED", `an unregistered document is refused (${refused})`);
console.log("persisted: registered ids run, an unregistered document is refused");

clearTimeout(deadline);
await Promise.all([anonymous.stop(), coordinator.stop(), stranger.stop()].map(async () => {}));
console.log("smoke: all well");
process.exit(0);
