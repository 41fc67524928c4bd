/**
 * What every bench process left in the registry (DynamoDB: dynalite, table REGISTRY_TABLE), checked after it ran,
 * as the emulator's request counts and the outcome events are:
 *
 * - a process with the registry off made no DynamoDB request at all (the start path's targets are measured without
 *   it), and none of its conference names has a record;
 * - a process with the registry on made exactly the writes its starts call for: on its own new name, the first start
 *   a join that fails (UpdateItem) and the new session (PutItem), every later start one join (UpdateItem); the record
 *   is active, started by the expected trigger, with join_count = starts - 1.
 *
 * The operations are counted from dynalite's record since the orchestrator's last read (its GetItem is the mark: the
 * start path never reads), so each check ends with a read and the next process is counted from there.
 */
import { BenchError } from './context.js';
import type { Stack } from './stack.js';

type RegistryStack = Pick<Stack, 'registryItem' | 'registryOperationsSinceRead'>;

/** The operations the registry writer makes for `starts` starts of one new name (lib/registry-writer.ts). */
export function expectedWrites(starts: number): string[] {
  if (starts <= 0) return [];
  return ['UpdateItem', 'PutItem', ...Array.from({ length: starts - 1 }, () => 'UpdateItem')];
}

/** Operation name -> how many. */
export function countOperations(operations: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const op of operations) counts[op] = (counts[op] ?? 0) + 1;
  return counts;
}

function operationsSinceMark(stack: RegistryStack, what: string): string[] {
  const operations = stack.registryOperationsSinceRead();
  if (operations === undefined)
    throw new BenchError(`${what}: the registry check lost its mark (more DynamoDB requests than dynalite keeps)`);
  return operations;
}

/**
 * Checks that `name` was recorded by `starts` starts of `source` and nothing else wrote; answers the operations
 * counted. Call it before any other read of the registry since the process started.
 */
export async function expectRegistered(
  stack: RegistryStack,
  what: string,
  name: string,
  starts: number,
  source: string,
): Promise<Record<string, number>> {
  const operations = operationsSinceMark(stack, what);
  const expected = expectedWrites(starts);
  if (operations.join(',') !== expected.join(',')) {
    throw new BenchError(
      `${what}: ${starts} starts with the registry on should make ${JSON.stringify(countOperations(expected))} in this order, DynamoDB got ${JSON.stringify(countOperations(operations))}`,
    );
  }
  const item = await stack.registryItem(name);
  if (item?.status !== 'active' || item.joinCount !== starts - 1 || item.source !== source) {
    throw new BenchError(
      `${what}: the registry should hold "${name}" active, started by ${source}, joined ${starts - 1} times; it holds ${JSON.stringify(item)}`,
    );
  }
  return countOperations(operations);
}

/**
 * Checks that a process with the registry off wrote nothing: no DynamoDB request since the mark (unless
 * `operationsChecked`: a registry client in the same process accounted for them) and no record of `names`.
 */
export async function expectNoRegistryWrites(
  stack: RegistryStack,
  what: string,
  names: readonly string[],
  operationsChecked = false,
): Promise<void> {
  if (!operationsChecked) {
    const operations = operationsSinceMark(stack, what);
    if (operations.length > 0) {
      throw new BenchError(
        `${what}: the registry is off, yet DynamoDB got ${JSON.stringify(countOperations(operations))}`,
      );
    }
  }
  for (const name of names) {
    const item = await stack.registryItem(name);
    if (item) throw new BenchError(`${what}: the registry is off, yet it holds "${name}": ${JSON.stringify(item)}`);
  }
  // A read even without names: the mark the next process is counted from.
  if (names.length === 0) await stack.registryItem('bench mark');
}
