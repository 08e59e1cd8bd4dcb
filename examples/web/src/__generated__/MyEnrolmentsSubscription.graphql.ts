/**
 * @generated SignedSource<<e88fba218b4242d11fb9a9f612fdbf58>>
 * @lightSyntaxTransform
 */

/* tslint:disable */
/* eslint-disable */
// @ts-nocheck

import { ConcreteRequest } from 'relay-runtime';
export type EnrolmentStatus = "ATTENDED" | "CANCELLED" | "CONFIRMED" | "NO_SHOW" | "WAITLISTED" | "%future added value";
export type MyEnrolmentsSubscription$variables = {
  id: string;
};
export type MyEnrolmentsSubscription$data = {
  readonly myEnrolmentUpdated: {
    readonly id: string;
    readonly status: EnrolmentStatus;
    readonly waitingListPlace: number | null | undefined;
  };
};
export type MyEnrolmentsSubscription = {
  response: MyEnrolmentsSubscription$data;
  variables: MyEnrolmentsSubscription$variables;
};

const node: ConcreteRequest = (function(){
var v0 = [
  {
    "defaultValue": null,
    "kind": "LocalArgument",
    "name": "id"
  }
],
v1 = [
  {
    "alias": null,
    "args": [
      {
        "kind": "Variable",
        "name": "enrolmentId",
        "variableName": "id"
      }
    ],
    "concreteType": "Enrolment",
    "kind": "LinkedField",
    "name": "myEnrolmentUpdated",
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
      },
      {
        "alias": null,
        "args": null,
        "kind": "ScalarField",
        "name": "waitingListPlace",
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
    "name": "MyEnrolmentsSubscription",
    "selections": (v1/*:: as any*/),
    "type": "Subscription",
    "abstractKey": null
  },
  "kind": "Request",
  "operation": {
    "argumentDefinitions": (v0/*:: as any*/),
    "kind": "Operation",
    "name": "MyEnrolmentsSubscription",
    "selections": (v1/*:: as any*/)
  },
  "params": {
    "cacheID": "a64a7b607264b3d58ba3ac2d8d868a91",
    "id": null,
    "metadata": {},
    "name": "MyEnrolmentsSubscription",
    "operationKind": "subscription",
    "text": "subscription MyEnrolmentsSubscription(\n  $id: ID!\n) {\n  myEnrolmentUpdated(enrolmentId: $id) {\n    id\n    status\n    waitingListPlace\n  }\n}\n"
  }
};
})();

(node as any).hash = "5372edf2edbb283c3054d474c475baa6";

export default node;
