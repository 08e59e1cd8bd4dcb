/**
 * @generated SignedSource<<5c73c690e4409265331e1b94a839a8d1>>
 * @lightSyntaxTransform
 */

/* tslint:disable */
/* eslint-disable */
// @ts-nocheck

import { ConcreteRequest } from 'relay-runtime';
import { FragmentRefs } from "relay-runtime";
export type SessionSeatsQuery$variables = {
  id: string;
};
export type SessionSeatsQuery$data = {
  readonly session: {
    readonly id: string;
    readonly " $fragmentSpreads": FragmentRefs<"SessionSeats_session">;
  } | null | undefined;
};
export type SessionSeatsQuery = {
  response: SessionSeatsQuery$data;
  variables: SessionSeatsQuery$variables;
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
    "name": "id",
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
    "name": "SessionSeatsQuery",
    "selections": [
      {
        "alias": null,
        "args": (v1/*:: as any*/),
        "concreteType": "Session",
        "kind": "LinkedField",
        "name": "session",
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
    "type": "Query",
    "abstractKey": null
  },
  "kind": "Request",
  "operation": {
    "argumentDefinitions": (v0/*:: as any*/),
    "kind": "Operation",
    "name": "SessionSeatsQuery",
    "selections": [
      {
        "alias": null,
        "args": (v1/*:: as any*/),
        "concreteType": "Session",
        "kind": "LinkedField",
        "name": "session",
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
    "cacheID": "abb21d6d0942da8eda4e7312c74c89db",
    "id": null,
    "metadata": {},
    "name": "SessionSeatsQuery",
    "operationKind": "query",
    "text": "query SessionSeatsQuery(\n  $id: ID!\n) {\n  session(id: $id) {\n    id\n    ...SessionSeats_session\n  }\n}\n\nfragment SessionSeats_session on Session {\n  id\n  startsAt\n  seatsLeft\n  waitingListLength\n  bookingOpen\n  availabilityVersion\n}\n"
  }
};
})();

(node as any).hash = "db7143ccf5a9b972b624cdb12e35e843";

export default node;
