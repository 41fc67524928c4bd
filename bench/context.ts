/** What every phase needs: the Node to run children on, the loopback stack, the bundles, a temp dir. */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { httpEvent, schedulerInput, sqsEvent, sqsRecord } from '../test/helpers/events.js';
import type { Bundles } from './bundles.js';
import { CHILDREN_DIR } from './child.js';
import type { Account, Endpoint, Stack } from './stack.js';

export interface NodeInfo {
  readonly bin: string;
  readonly version: string;
  /** 'primary' runs everything; 'secondary' repeats the main figures. */
  readonly role: 'primary' | 'secondary';
}

export interface BenchContext {
  readonly node: NodeInfo;
  readonly stack: Stack;
  readonly bundles: Bundles;
  /** The official SDK bundled with the functions' esbuild settings (undefined without HTTPS). */
  readonly peerBundle: string | undefined;
  readonly workDir: string;
  readonly log: (line: string) => void;
}

/** Raised when the bench itself is wrong (a request failed, counts do not add up): exit code 1. */
export class BenchError extends Error {}

export const FLOOR_MODULE = path.join(CHILDREN_DIR, 'floor-client.mjs');
export const PEER_UNBUNDLED_MODULE = path.join(CHILDREN_DIR, 'peer-entry.mjs');

export function conferenceRequest(account: Account, name: string) {
  return { conference_name: name, rule_id: account.ruleId };
}

/** The POST /conferences event API Gateway would deliver for this request. */
export function httpEventFor(account: Account, name: string) {
  return httpEvent(JSON.stringify(conferenceRequest(account, name)));
}

/** An SQS batch of `count` records, each starting its own conference. */
export function sqsEventFor(account: Account, prefix: string, count: number) {
  return sqsEvent(
    Array.from({ length: count }, (_, i) =>
      sqsRecord(JSON.stringify(conferenceRequest(account, `${prefix} ${i + 1}`))),
    ),
  );
}

/** GET /schedules as API Gateway (payload 2.0) delivers it to the schedules API, IAM-authorized. */
export function schedulesListEvent() {
  const base = httpEvent(undefined, { authorizer: 'iam' });
  const routeKey = 'GET /schedules';
  return {
    ...base,
    routeKey,
    rawPath: '/schedules',
    rawQueryString: '',
    requestContext: {
      ...base.requestContext,
      routeKey,
      http: { ...base.requestContext.http, method: 'GET', path: '/schedules' },
    },
  };
}

/** GET /conferences?status=active as API Gateway (payload 2.0) delivers it to the lifecycle API, IAM-authorized. */
export function lifecycleListEvent() {
  const base = httpEvent(undefined, { authorizer: 'iam' });
  const routeKey = 'GET /conferences';
  return {
    ...base,
    routeKey,
    rawPath: '/conferences',
    rawQueryString: 'status=active',
    queryStringParameters: { status: 'active' },
    requestContext: {
      ...base.requestContext,
      routeKey,
      http: { ...base.requestContext.http, method: 'GET', path: '/conferences' },
    },
  };
}

export function scheduleEventFor(account: Account, name: string) {
  return schedulerInput(conferenceRequest(account, name), new Date(), randomUUID());
}

/** The floor's StartConference parameters: the same form fields voxconf sends. */
export function floorParams(endpoint: Endpoint, name: string): Record<string, string> {
  const request = conferenceRequest(endpoint.accounts.floor, name);
  return { conference_name: request.conference_name, rule_id: String(request.rule_id) };
}

export function peerSpec(endpoint: Endpoint, name: string) {
  const account = endpoint.accounts.peer;
  const url = new URL(endpoint.emulator.origin);
  return {
    credentialsPath: account.credentialsPath,
    host: url.host,
    request: { conferenceName: name, ruleId: account.ruleId },
  };
}
