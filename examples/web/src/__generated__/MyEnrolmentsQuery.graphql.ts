/**
 * @generated SignedSource<<06adb0530669ffb8c918775989d6338b>>
 * @lightSyntaxTransform
 */

/* tslint:disable */
/* eslint-disable */
// @ts-nocheck

import { ConcreteRequest } from 'relay-runtime';
export type EnrolmentStatus = "ATTENDED" | "CANCELLED" | "CONFIRMED" | "NO_SHOW" | "WAITLISTED" | "%future added value";
export type MyEnrolmentsQuery$variables = Record<PropertyKey, never>;
export type MyEnrolmentsQuery$data = {
  readonly me: {
    readonly enrolments: ReadonlyArray<{
      readonly cancellableUntil: any;
      readonly id: string;
      readonly session: {
        readonly course: {
          readonly id: string;
          readonly title: string;
        };
        readonly id: string;
        readonly startsAt: any;
      };
      readonly status: EnrolmentStatus;
      readonly waitingListPlace: number | null | undefined;
    }>;
    readonly fullName: string;
    readonly id: string;
  } | null | undefined;
};
export type MyEnrolmentsQuery = {
  response: MyEnrolmentsQuery$data;
  variables: MyEnrolmentsQuery$variables;
};

const node: ConcreteRequest = (function(){
var v0 = {
  "alias": null,
  "args": null,
  "kind": "ScalarField",
  "name": "id",
  "storageKey": null
},
v1 = [
  {
    "alias": null,
    "args": null,
    "concreteType": "Participant",
    "kind": "LinkedField",
    "name": "me",
    "plural": false,
    "selections": [
      (v0/*:: as any*/),
      {
        "alias": null,
        "args": null,
        "kind": "ScalarField",
        "name": "fullName",
        "storageKey": null
      },
      {
        "alias": null,
        "args": [
          {
            "kind": "Literal",
            "name": "status",
            "value": [
              "CONFIRMED",
              "WAITLISTED"
            ]
          }
        ],
        "concreteType": "Enrolment",
        "kind": "LinkedField",
        "name": "enrolments",
        "plural": true,
        "selections": [
          (v0/*:: as any*/),
          {
            "alias": null,
            "args": null,
            "kind": "ScalarField",
            "name": "status",
            "storageKey": null
          },
          {
            "alias": null,
            "args": null,
            "kind": "ScalarField",
            "name": "waitingListPlace",
            "storageKey": null
          },
          {
            "alias": null,
            "args": null,
            "kind": "ScalarField",
            "name": "cancellableUntil",
            "storageKey": null
          },
          {
            "alias": null,
            "args": null,
            "concreteType": "Session",
            "kind": "LinkedField",
            "name": "session",
            "plural": false,
            "selections": [
              (v0/*:: as any*/),
              {
                "alias": null,
                "args": null,
                "kind": "ScalarField",
                "name": "startsAt",
                "storageKey": null
              },
              {
                "alias": null,
                "args": null,
                "concreteType": "Course",
                "kind": "LinkedField",
                "name": "course",
                "plural": false,
                "selections": [
                  (v0/*:: as any*/),
                  {
                    "alias": null,
                    "args": null,
                    "kind": "ScalarField",
                    "name": "title",
                    "storageKey": null
                  }
                ],
                "storageKey": null
              }
            ],
            "storageKey": null
          }
        ],
        "storageKey": "enrolments(status:[\"CONFIRMED\",\"WAITLISTED\"])"
      }
    ],
    "storageKey": null
  }
];
return {
  "fragment": {
    "argumentDefinitions": [],
    "kind": "Fragment",
    "metadata": null,
    "name": "MyEnrolmentsQuery",
    "selections": (v1/*:: as any*/),
    "type": "Query",
    "abstractKey": null
  },
  "kind": "Request",
  "operation": {
    "argumentDefinitions": [],
    "kind": "Operation",
    "name": "MyEnrolmentsQuery",
    "selections": (v1/*:: as any*/)
  },
  "params": {
    "cacheID": "8d805fbf3be18b6c57de061c05e9e245",
    "id": null,
    "metadata": {},
    "name": "MyEnrolmentsQuery",
    "operationKind": "query",
    "text": "query MyEnrolmentsQuery {\n  me {\n    id\n    fullName\n    enrolments(status: [CONFIRMED, WAITLISTED]) {\n      id\n      status\n      waitingListPlace\n      cancellableUntil\n      session {\n        id\n        startsAt\n        course {\n          id\n          title\n        }\n      }\n    }\n  }\n}\n"
  }
};
})();

(node as any).hash = "a78ddbe60ae643a3aacfa4d11952148b";

export default node;
