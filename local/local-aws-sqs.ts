/**
 * The installed `local-aws-sqs`, with one deviation from SQS corrected: 2.0.2 counts a ChangeMessageVisibility
 * as a receive (ApproximateReceiveCount + 1). AWS counts receives only, and the queue function delays each
 * retry with ChangeMessageVisibility, so uncorrected every retry would count twice and messages would reach
 * the dead-letter queue after half their receives. The module is compiled from its own file with that one
 * statement changed; if an upgrade changes the statement, start-up fails here instead of drifting silently
 * (test/integration/sqs.test.ts checks the corrected behaviour).
 */
import { readFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname } from 'node:path';

type LocalAwsSqs = typeof import('local-aws-sqs');

/** In the private "make invisible" step; its third parameter is true for ChangeMessageVisibility. */
const COUNTS_EVERY_CHANGE = 'let n=Number(t.record.attributes.ApproximateReceiveCount)+1;';
const COUNTS_RECEIVES = 'let n=Number(t.record.attributes.ApproximateReceiveCount)+(i?0:1);';

let loaded: LocalAwsSqs | undefined;

export function localAwsSqs(): LocalAwsSqs {
  if (loaded) return loaded;
  const file = createRequire(import.meta.url).resolve('local-aws-sqs');
  const source = readFileSync(file, 'utf8');
  if (!source.includes(COUNTS_EVERY_CHANGE) || !source.includes('Wt=function(t,e,i){')) {
    throw new Error(
      `local-aws-sqs changed (${file}): check whether ChangeMessageVisibility still counts as a receive, ` +
        'then update local/local-aws-sqs.ts.',
    );
  }
  // Module's own compile: the file's require() resolves its dependencies as usual.
  const internals = Module as unknown as {
    _nodeModulePaths(from: string): string[];
    new (id: string): NodeJS.Module & { _compile(code: string, filename: string): void };
  };
  const module = new internals(file);
  module.filename = file;
  module.paths = internals._nodeModulePaths(dirname(file));
  module._compile(source.replace(COUNTS_EVERY_CHANGE, COUNTS_RECEIVES), file);
  loaded = module.exports as LocalAwsSqs;
  return loaded;
}
