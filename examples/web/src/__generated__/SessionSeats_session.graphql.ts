/**
 * @generated SignedSource<<3a87440065750c5d01f1b1eba016edcb>>
 * @lightSyntaxTransform
 */

/* tslint:disable */
/* eslint-disable */
// @ts-nocheck

import { ReaderFragment } from 'relay-runtime';
import { FragmentRefs } from "relay-runtime";
export type SessionSeats_session$data = {
  readonly availabilityVersion: number;
  readonly bookingOpen: boolean;
  readonly id: string;
  readonly seatsLeft: number;
  readonly startsAt: any;
  readonly waitingListLength: number;
  readonly " $fragmentType": "SessionSeats_session";
};
export type SessionSeats_session$key = {
  readonly " $data"?: SessionSeats_session$data;
  readonly " $fragmentSpreads": FragmentRefs<"SessionSeats_session">;
};

import SessionSeatsRefetchQuery_graphql from './SessionSeatsRefetchQuery.graphql';

const node: ReaderFragment = {
  "argumentDefinitions": [],
  "kind": "Fragment",
  "metadata": {
    "refetch": {
      "connection": null,
      "fragmentPathInResult": [
        "node"
      ],
      "operation": SessionSeatsRefetchQuery_graphql,
      "identifierInfo": {
        "identifierField": "id",
        "identifierQueryVariableName": "id"
      }
    }
  },
  "name": "SessionSeats_session",
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
  "type": "Session",
  "abstractKey": null
};

(node as any).hash = "8ccaa21a77a3d22601a5fe10e3fc86e9";

export default node;
