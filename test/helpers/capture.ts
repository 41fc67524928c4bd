/** Captures what the process writes to stdout and stderr (Powertools writes there directly). */
export interface Captured {
  readonly text: () => string;
  /** Lines that parse as JSON objects. */
  readonly json: () => Array<Record<string, unknown>>;
  /** The sum of one metric over every EMF record written (Powertools metrics: lines with `_aws`). */
  readonly metric: (name: string) => number;
  restore(): void;
}

export function captureOutput(options: { passThrough?: boolean } = {}): Captured {
  const chunks: string[] = [];
  const json = () =>
    chunks
      .join('')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  const originals = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
  const tap =
    (original: typeof process.stdout.write) =>
    (chunk: unknown, ...rest: unknown[]): boolean => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      return options.passThrough ? (original as (...args: unknown[]) => boolean)(chunk, ...rest) : true;
    };
  process.stdout.write = tap(originals.out) as typeof process.stdout.write;
  process.stderr.write = tap(originals.err) as typeof process.stderr.write;
  return {
    text: () => chunks.join(''),
    json,
    metric: (name) =>
      json()
        .filter((line) => '_aws' in line && name in line)
        .reduce((sum, line) => sum + Number(line[name]), 0),
    restore() {
      process.stdout.write = originals.out;
      process.stderr.write = originals.err;
    },
  };
}
