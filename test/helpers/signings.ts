import { jest } from '@jest/globals';
import { SignJWT } from 'jose';

/**
 * Counts JWT signings from this call on: a spy on jose's SignJWT, the one way voxconf signs. Signing the
 * same claims twice gives the same token (RS256 is deterministic), so the tokens alone cannot tell.
 */
export function countSignings(): () => number {
  // spyOn returns the existing spy when the method is already spied on: count from here.
  const spy = jest.spyOn(SignJWT.prototype, 'sign');
  const start = spy.mock.calls.length;
  return () => spy.mock.calls.length - start;
}
