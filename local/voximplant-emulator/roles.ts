/**
 * Service-account roles and which Management API methods each may call, as the method pages list them
 * ("Allowed roles", StartConference.md and lifecycle-api.md A.3). A key whose role is not listed gets
 * 104 `Forbidden command` (voximplant-api.md 4.4 names that code for "service account lacks a role";
 * that Voximplant answers exactly this is an assumption).
 */
import type { KeyRole } from './types.js';

export const KEY_ROLES: readonly KeyRole[] = ['Owner', 'Admin', 'Developer', 'CallsSMS', 'Supervisor', 'Support'];
export const DEFAULT_ROLE: KeyRole = 'Owner';
export const FORBIDDEN_COMMAND = 104;

const ALLOWED: Readonly<Record<string, ReadonlySet<KeyRole>>> = {
  StartConference: new Set<KeyRole>(['Owner', 'Admin', 'Developer', 'CallsSMS']),
  GetCallHistory: new Set<KeyRole>(['Owner', 'Admin', 'Developer', 'Supervisor', 'Support']),
};

export function mayCall(role: KeyRole, method: string): boolean {
  return ALLOWED[method]?.has(role) ?? false;
}

/** Checks a role coming from outside (control API, CLI); throws a RangeError naming the known ones. */
export function keyRole(value: unknown, field = 'role'): KeyRole {
  if (typeof value === 'string' && (KEY_ROLES as readonly string[]).includes(value)) return value as KeyRole;
  throw new RangeError(`${field} must be one of ${KEY_ROLES.join(', ')}, not ${JSON.stringify(value)}`);
}
