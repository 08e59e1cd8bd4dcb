/**
 * @generated SignedSource<<2739ea3538c8018caf624b81c7219959>>
 * @lightSyntaxTransform
 */

/* tslint:disable */
/* eslint-disable */
// @ts-nocheck

import { ConcreteRequest } from 'relay-runtime';
export type EnrolmentStatus = "ATTENDED" | "CANCELLED" | "CONFIRMED" | "NO_SHOW" | "WAITLISTED" | "%future added value";
export type UserErrorCode = "ALREADY_DELIVERED" | "ALREADY_ENROLLED" | "ALREADY_ENROLLED_IN_COURSE" | "ALREADY_ERASED" | "BAD_USER_INPUT" | "BATCH_REJECTED" | "BEING_SENT" | "BOOKING_CLOSED" | "BOOKING_NOT_OPEN" | "CANCELLATION_DEADLINE_PASSED" | "CAPACITY_BELOW_SEATED" | "CAPACITY_OUT_OF_RANGE" | "CONFLICT" | "DIFFERENT_COURSE" | "DUPLICATE_IN_BATCH" | "EMAIL_CONFUSABLE" | "END_BEFORE_START" | "ENROLMENT_NOT_ACTIVE" | "ENROLMENT_NOT_SEATED" | "FEEDBACK_ALREADY_GIVEN" | "FEEDBACK_CLOSED" | "IDEMPOTENCY_KEY_REUSED" | "INVALID_ID" | "MODULE_OF_ANOTHER_COURSE" | "NOT_ATTENDED" | "NOT_ELIGIBLE" | "NOT_FOUND" | "PARTICIPANT_EXISTS" | "RATING_OUT_OF_RANGE" | "REASON_REQUIRED" | "SAME_SESSION" | "SESSION_CANCELLED" | "SESSION_FULL" | "SESSION_NOT_STARTED" | "SESSION_STARTED" | "SLUG_TAKEN" | "SNAPSHOT_GUARD" | "TRY_AGAIN" | "%future added value";
export type CancelEnrolmentInput = {
  clientMutationId?: string | null | undefined;
  enrolmentId: string;
  idempotencyKey?: string | null | undefined;
  reason?: string | null | undefined;
};
export type CancelEnrolmentMutation$variables = {
  input: CancelEnrolmentInput;
};
export type CancelEnrolmentMutation$data = {
  readonly cancelEnrolment: {
    readonly enrolment: {
      readonly id: string;
      readonly status: EnrolmentStatus;
    } | null | undefined;
    readonly replayed: boolean;
    readonly userErrors: ReadonlyArray<{
      readonly code: UserErrorCode;
      readonly field: string | null | undefined;
      readonly message: string;
    }>;
  };
};
export type CancelEnrolmentMutation = {
  response: CancelEnrolmentMutation$data;
  variables: CancelEnrolmentMutation$variables;
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
    "concreteType": "CancelEnrolmentPayload",
    "kind": "LinkedField",
    "name": "cancelEnrolment",
    "plural": false,
    "selections": [
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
            "name": "status",
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
    "name": "CancelEnrolmentMutation",
    "selections": (v1/*:: as any*/),
    "type": "Mutation",
    "abstractKey": null
  },
  "kind": "Request",
  "operation": {
    "argumentDefinitions": (v0/*:: as any*/),
    "kind": "Operation",
    "name": "CancelEnrolmentMutation",
    "selections": (v1/*:: as any*/)
  },
  "params": {
    "cacheID": "e747dc2f768c19feb746cc7311458527",
    "id": null,
    "metadata": {},
    "name": "CancelEnrolmentMutation",
    "operationKind": "mutation",
    "text": "mutation CancelEnrolmentMutation(\n  $input: CancelEnrolmentInput!\n) {\n  cancelEnrolment(input: $input) {\n    replayed\n    userErrors {\n      code\n      message\n      field\n    }\n    enrolment {\n      id\n      status\n    }\n  }\n}\n"
  }
};
})();

(node as any).hash = "c65e228c5345bda64061abac5f0c2146";

export default node;
