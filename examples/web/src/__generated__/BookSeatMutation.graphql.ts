/**
 * @generated SignedSource<<b64ce3e15d8576c98f2607103b564a75>>
 * @lightSyntaxTransform
 */

/* tslint:disable */
/* eslint-disable */
// @ts-nocheck

import { ConcreteRequest } from 'relay-runtime';
export type EnrolmentStatus = "ATTENDED" | "CANCELLED" | "CONFIRMED" | "NO_SHOW" | "WAITLISTED" | "%future added value";
export type ParticipantRole = "ALDERMAN" | "CIVIL_SERVANT" | "COUNCIL_MEMBER" | "MAYOR" | "MUNICIPAL_SECRETARY" | "OTHER" | "%future added value";
export type UserErrorCode = "ALREADY_DELIVERED" | "ALREADY_ENROLLED" | "ALREADY_ENROLLED_IN_COURSE" | "ALREADY_ERASED" | "BAD_USER_INPUT" | "BATCH_REJECTED" | "BEING_SENT" | "BOOKING_CLOSED" | "BOOKING_NOT_OPEN" | "CANCELLATION_DEADLINE_PASSED" | "CAPACITY_BELOW_SEATED" | "CAPACITY_OUT_OF_RANGE" | "CONFLICT" | "DIFFERENT_COURSE" | "DUPLICATE_IN_BATCH" | "EMAIL_CONFUSABLE" | "END_BEFORE_START" | "ENROLMENT_NOT_ACTIVE" | "ENROLMENT_NOT_SEATED" | "FEEDBACK_ALREADY_GIVEN" | "FEEDBACK_CLOSED" | "IDEMPOTENCY_KEY_REUSED" | "INVALID_ID" | "MODULE_OF_ANOTHER_COURSE" | "NOT_ATTENDED" | "NOT_ELIGIBLE" | "NOT_FOUND" | "PARTICIPANT_EXISTS" | "RATING_OUT_OF_RANGE" | "REASON_REQUIRED" | "SAME_SESSION" | "SESSION_CANCELLED" | "SESSION_FULL" | "SESSION_NOT_STARTED" | "SESSION_STARTED" | "SLUG_TAKEN" | "SNAPSHOT_GUARD" | "TRY_AGAIN" | "%future added value";
export type BookSeatInput = {
  clientMutationId?: string | null | undefined;
  idempotencyKey?: string | null | undefined;
  newParticipant?: NewParticipantInput | null | undefined;
  overrideEligibility?: boolean;
  participantId?: string | null | undefined;
  reason?: string | null | undefined;
  sessionId: string;
};
export type NewParticipantInput = {
  allowConfusable?: boolean;
  email: string;
  externalId?: string | null | undefined;
  fullName: string;
  phone?: string | null | undefined;
  role: ParticipantRole;
};
export type BookSeatMutation$variables = {
  input: BookSeatInput;
};
export type BookSeatMutation$data = {
  readonly bookSeat: {
    readonly enrolment: {
      readonly id: string;
      readonly session: {
        readonly availabilityVersion: number;
        readonly id: string;
        readonly seatsLeft: number;
      };
      readonly status: EnrolmentStatus;
      readonly waitingListPlace: number | null | undefined;
    } | null | undefined;
    readonly replayed: boolean;
    readonly status: EnrolmentStatus | null | undefined;
    readonly userErrors: ReadonlyArray<{
      readonly code: UserErrorCode;
      readonly field: string | null | undefined;
      readonly message: string;
    }>;
    readonly waitingListPlace: number | null | undefined;
  };
};
export type BookSeatMutation = {
  response: BookSeatMutation$data;
  variables: BookSeatMutation$variables;
};

const node: ConcreteRequest = (function(){
var v0 = [
  {
    "defaultValue": null,
    "kind": "LocalArgument",
    "name": "input"
  }
],
v1 = {
  "alias": null,
  "args": null,
  "kind": "ScalarField",
  "name": "status",
  "storageKey": null
},
v2 = {
  "alias": null,
  "args": null,
  "kind": "ScalarField",
  "name": "waitingListPlace",
  "storageKey": null
},
v3 = {
  "alias": null,
  "args": null,
  "kind": "ScalarField",
  "name": "id",
  "storageKey": null
},
v4 = [
  {
    "alias": null,
    "args": [
      {
        "kind": "Variable",
        "name": "input",
        "variableName": "input"
      }
    ],
    "concreteType": "BookSeatPayload",
    "kind": "LinkedField",
    "name": "bookSeat",
    "plural": false,
    "selections": [
      (v1/*:: as any*/),
      (v2/*:: as any*/),
      {
        "alias": null,
        "args": null,
        "kind": "ScalarField",
        "name": "replayed",
        "storageKey": null
      },
      {
        "alias": null,
        "args": null,
        "concreteType": "UserError",
        "kind": "LinkedField",
        "name": "userErrors",
        "plural": true,
        "selections": [
          {
            "alias": null,
            "args": null,
            "kind": "ScalarField",
            "name": "code",
            "storageKey": null
          },
          {
            "alias": null,
            "args": null,
            "kind": "ScalarField",
            "name": "message",
            "storageKey": null
          },
          {
            "alias": null,
            "args": null,
            "kind": "ScalarField",
            "name": "field",
            "storageKey": null
          }
        ],
        "storageKey": null
      },
      {
        "alias": null,
        "args": null,
        "concreteType": "Enrolment",
        "kind": "LinkedField",
        "name": "enrolment",
        "plural": false,
        "selections": [
          (v3/*:: as any*/),
          (v1/*:: as any*/),
          (v2/*:: as any*/),
          {
            "alias": null,
            "args": null,
            "concreteType": "Session",
            "kind": "LinkedField",
            "name": "session",
            "plural": false,
            "selections": [
              (v3/*:: as any*/),
              {
                "alias": null,
                "args": null,
                "kind": "ScalarField",
                "name": "seatsLeft",
                "storageKey": null
              },
              {
                "alias": null,
                "args": null,
                "kind": "ScalarField",
                "name": "availabilityVersion",
                "storageKey": null
              }
            ],
            "storageKey": null
          }
        ],
        "storageKey": null
      }
    ],
    "storageKey": null
  }
];
return {
  "fragment": {
    "argumentDefinitions": (v0/*:: as any*/),
    "kind": "Fragment",
    "metadata": null,
    "name": "BookSeatMutation",
    "selections": (v4/*:: as any*/),
    "type": "Mutation",
    "abstractKey": null
  },
  "kind": "Request",
  "operation": {
    "argumentDefinitions": (v0/*:: as any*/),
    "kind": "Operation",
    "name": "BookSeatMutation",
    "selections": (v4/*:: as any*/)
  },
  "params": {
    "cacheID": "d4893d61d54942c745aefc9fc75331e4",
    "id": null,
    "metadata": {},
    "name": "BookSeatMutation",
    "operationKind": "mutation",
    "text": "mutation BookSeatMutation(\n  $input: BookSeatInput!\n) {\n  bookSeat(input: $input) {\n    status\n    waitingListPlace\n    replayed\n    userErrors {\n      code\n      message\n      field\n    }\n    enrolment {\n      id\n      status\n      waitingListPlace\n      session {\n        id\n        seatsLeft\n        availabilityVersion\n      }\n    }\n  }\n}\n"
  }
};
})();

(node as any).hash = "c7f5e48930c229661f0a9c9bd6789539";

export default node;
