/**
 * @generated SignedSource<<8bf4873b40baca252955ecc0579f5177>>
 * @lightSyntaxTransform
 */

/* tslint:disable */
/* eslint-disable */
// @ts-nocheck

import { ConcreteRequest } from 'relay-runtime';
export type MyCalendarLinkQuery$variables = Record<PropertyKey, never>;
export type MyCalendarLinkQuery$data = {
  readonly me: {
    readonly calendarLink: {
      readonly createdAt: any;
      readonly id: string;
      readonly lastUsedAt: any | null | undefined;
    } | null | undefined;
    readonly id: string;
  } | null | undefined;
};
export type MyCalendarLinkQuery = {
  response: MyCalendarLinkQuery$data;
  variables: MyCalendarLinkQuery$variables;
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
        "concreteType": "CalendarLink",
        "kind": "LinkedField",
        "name": "calendarLink",
        "plural": false,
        "selections": [
          (v0/*:: as any*/),
          {
            "alias": null,
            "args": null,
            "kind": "ScalarField",
            "name": "createdAt",
            "storageKey": null
          },
          {
            "alias": null,
            "args": null,
            "kind": "ScalarField",
            "name": "lastUsedAt",
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
    "argumentDefinitions": [],
    "kind": "Fragment",
    "metadata": null,
    "name": "MyCalendarLinkQuery",
    "selections": (v1/*:: as any*/),
    "type": "Query",
    "abstractKey": null
  },
  "kind": "Request",
  "operation": {
    "argumentDefinitions": [],
    "kind": "Operation",
    "name": "MyCalendarLinkQuery",
    "selections": (v1/*:: as any*/)
  },
  "params": {
    "cacheID": "438b4be2c96f4312a66aeb419cbf6498",
    "id": null,
    "metadata": {},
    "name": "MyCalendarLinkQuery",
    "operationKind": "query",
    "text": "query MyCalendarLinkQuery {\n  me {\n    id\n    calendarLink {\n      id\n      createdAt\n      lastUsedAt\n    }\n  }\n}\n"
  }
};
})();

(node as any).hash = "a854d376b79f95e81ca2f6d99dc17670";

export default node;
