/**
 * The stack's own log lines: `HH:MM:SS source    message`, on stdout. Never given a token, a key or a media
 * session URL: callers pass only names, ids, codes and counts.
 */
export type LogSink = (source: string, message: string) => void;

const SOURCE_WIDTH = 9;

function clock(date: Date): string {
  return date.toTimeString().slice(0, 8);
}

export function formatLine(source: string, message: string, now: Date = new Date()): string {
  return `${clock(now)} ${source.padEnd(SOURCE_WIDTH)} ${message}`;
}

export function consoleLog(write: (text: string) => void = (text) => process.stdout.write(text)): LogSink {
  return (source, message) => {
    const lines = message.split('\n');
    const first = formatLine(source, lines[0] ?? '');
    const pad = ' '.repeat(first.length - (lines[0] ?? '').length);
    write(`${[first, ...lines.slice(1).map((line) => pad + line)].join('\n')}\n`);
  };
}
