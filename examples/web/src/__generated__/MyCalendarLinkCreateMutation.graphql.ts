/**
 * @generated SignedSource<<3a0928b0139880b12a82cfa6fc358832>>
 * @lightSyntaxTransform
 */

/* tslint:disable */
/* eslint-disable */
// @ts-nocheck

import { ConcreteRequest } from 'relay-runtime';
export type UserErrorCode = "ALREADY_DELIVERED" | "ALREADY_ENROLLED" | "ALREADY_ENROLLED_IN_COURSE" | "ALREADY_ERASED" | "BAD_USER_INPUT" | "BATCH_REJECTED" | "BEING_SENT" | "BOOKING_CLOSED" | "BOOKING_NOT_OPEN" | "CANCELLATION_DEADLINE_PASSED" | "CAPACITY_BELOW_SEATED" | "CAPACITY_OUT_OF_RANGE" | "CONFLICT" | "DIFFERENT_COURSE" | "DUPLICATE_IN_BATCH" | "EMAIL_CONFUSABLE" | "END_BEFORE_START" | "ENROLMENT_NOT_ACTIVE" | "ENROLMENT_NOT_SEATED" | "FEEDBACK_ALREADY_GIVEN" | "FEEDBACK_CLOSED" | "IDEMPOTENCY_KEY_REUSED" | "INVALID_ID" | "MODULE_OF_ANOTHER_COURSE" | "NOT_ATTENDED" | "NOT_ELIGIBLE" | "NOT_FOUND" | "PARTICIPANT_EXISTS" | "RATING_OUT_OF_RANGE" | "REASON_REQUIRED" | "SAME_SESSION" | "SESSION_CANCELLED" | "SESSION_FULL" | "SESSION_NOT_STARTED" | "SESSION_STARTED" | "SLUG_TAKEN" | "SNAPSHOT_GUARD" | "TRY_AGAIN" | "%future added value";
export type CreateCalendarLinkInput = {
  actorId?: string | null | undefined;
  clientMutationId?: string | null | undefined;
  idempotencyKey?: string | null | undefined;
};
export type MyCalendarLinkCreateMutation$variables = {
  input: CreateCalendarLinkInput;
};
export type MyCalendarLinkCreateMutation$data = {
  readonly createCalendarLink: {
    readonly calendarLink: {
      readonly createdAt: any;
      readonly id: string;
    } | null | undefined;
    readonly url: string | null | undefined;
    readonly userErrors: ReadonlyArray<{
      readonly code: UserErrorCode;
      readonly message: string;
    }>;
  };
};
export type MyCalendarLinkCreateMutation = {
  response: MyCalendarLinkCreateMutation$data;
  variables: MyCalendarLinkCreateMutation$variables;
};

const node: ConcreteRequest = (function(){
var v0 = [
  {
    "defaultValue": null,
    "kind": "LocalArgument",
    "name": "input"
  }
],
v1 = [
  {
    "alias": null,
    "args": [
      {
        "kind": "Variable",
        "name": "input",
        "variableName": "input"
      }
    ],
    "concreteType": "CalendarLinkPayload",
    "kind": "LinkedField",
    "name": "createCalendarLink",
    "plural": false,
    "selections": [
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
          }
        ],
        "storageKey": null
      },
      {
        "alias": null,
        "args": null,
        "kind": "ScalarField",
        "name": "url",
        "storageKey": null
      },
      {
        "alias": null,
        "args": null,
        "concreteType": "CalendarLink",
        "kind": "LinkedField",
        "name": "calendarLink",
        "plural": false,
        "selections": [
          {
            "alias": null,
            "args": null,
            "kind": "ScalarField",
            "name": "id",
            "storageKey": null
          },
          {
            "alias": null,
            "args": null,
            "kind": "ScalarField",
            "name": "createdAt",
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
    "name": "MyCalendarLinkCreateMutation",
    "selections": (v1/*:: as any*/),
    "type": "Mutation",
    "abstractKey": null
  },
  "kind": "Request",
  "operation": {
    "argumentDefinitions": (v0/*:: as any*/),
    "kind": "Operation",
    "name": "MyCalendarLinkCreateMutation",
    "selections": (v1/*:: as any*/)
  },
  "params": {
    "cacheID": "747827843cc16fd0c695d120d24a4539",
    "id": null,
    "metadata": {},
    "name": "MyCalendarLinkCreateMutation",
    "operationKind": "mutation",
    "text": "mutation MyCalendarLinkCreateMutation(\n  $input: CreateCalendarLinkInput!\n) {\n  createCalendarLink(input: $input) {\n    userErrors {\n      code\n      message\n    }\n    url\n    calendarLink {\n      id\n      createdAt\n    }\n  }\n}\n"
  }
};
})();

(node as any).hash = "18cc90a1de1a53f1231ba406d74751bd";

export default node;
