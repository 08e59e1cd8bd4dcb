/**
 * @generated SignedSource<<22c96cc7024e8a4c8d64cccb1ac2de9d>>
 * @lightSyntaxTransform
 */

/* tslint:disable */
/* eslint-disable */
// @ts-nocheck

import { ConcreteRequest } from 'relay-runtime';
import { FragmentRefs } from "relay-runtime";
export type SessionSeatsSubscription$variables = {
  id: string;
};
export type SessionSeatsSubscription$data = {
  readonly sessionUpdated: {
    readonly id: string;
    readonly " $fragmentSpreads": FragmentRefs<"SessionSeats_session">;
  };
};
export type SessionSeatsSubscription = {
  response: SessionSeatsSubscription$data;
  variables: SessionSeatsSubscription$variables;
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
    "kind": "Variable",
    "name": "sessionId",
    "variableName": "id"
  }
],
v2 = {
  "alias": null,
  "args": null,
  "kind": "ScalarField",
  "name": "id",
  "storageKey": null
};
return {
  "fragment": {
    "argumentDefinitions": (v0/*:: as any*/),
    "kind": "Fragment",
    "metadata": null,
    "name": "SessionSeatsSubscription",
    "selections": [
      {
        "alias": null,
        "args": (v1/*:: as any*/),
        "concreteType": "Session",
        "kind": "LinkedField",
        "name": "sessionUpdated",
        "plural": false,
        "selections": [
          (v2/*:: as any*/),
          {
            "args": null,
            "kind": "FragmentSpread",
            "name": "SessionSeats_session"
          }
        ],
        "storageKey": null
      }
    ],
    "type": "Subscription",
    "abstractKey": null
  },
  "kind": "Request",
  "operation": {
    "argumentDefinitions": (v0/*:: as any*/),
    "kind": "Operation",
    "name": "SessionSeatsSubscription",
    "selections": [
      {
        "alias": null,
        "args": (v1/*:: as any*/),
        "concreteType": "Session",
        "kind": "LinkedField",
        "name": "sessionUpdated",
        "plural": false,
        "selections": [
          (v2/*:: as any*/),
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
            "kind": "ScalarField",
            "name": "seatsLeft",
            "storageKey": null
          },
          {
            "alias": null,
            "args": null,
            "kind": "ScalarField",
            "name": "waitingListLength",
            "storageKey": null
          },
          {
            "alias": null,
            "args": null,
            "kind": "ScalarField",
            "name": "bookingOpen",
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
    ]
  },
  "params": {
    "cacheID": "9fbb560be092d210fc9f14589f19e3f2",
    "id": null,
    "metadata": {},
    "name": "SessionSeatsSubscription",
    "operationKind": "subscription",
    "text": "subscription SessionSeatsSubscription(\n  $id: ID!\n) {\n  sessionUpdated(sessionId: $id) {\n    id\n    ...SessionSeats_session\n  }\n}\n\nfragment SessionSeats_session on Session {\n  id\n  startsAt\n  seatsLeft\n  waitingListLength\n  bookingOpen\n  availabilityVersion\n}\n"
  }
};
})();

(node as any).hash = "15d9e498e914f5db73b345a2b2a0182b";

export default node;
