/**
 * serverless-offline's output made readable. The handlers log one JSON object per line (Powertools); by
 * default only what a developer wants to see is kept, one line each, from named fields only (conference name,
 * rule, call_session_history_id, error code and message; the schedules API's and the lifecycle API's audit lines:
 * schedule or conference, action, command name, caller, error code; never a command's args): no token, key or media
 * session URL can pass.
 * VOXCONF_VERBOSE=1 forwards every line as it is.
 */

export interface OutputLine {
  readonly source: string;
  readonly message: string;
}

const FUNCTION_SOURCE = /^voxconf-[a-z0-9-]+-(http|queue|schedules|schedule|lifecycle)$/;

/** Offline's own chatter, printed only in verbose mode. */
const NOISE = [
  /^\(λ: \w+\) RequestId: /,
  /^(GET|POST|PUT|PATCH|DELETE|OPTIONS|HEAD|ANY) \/\S* \(λ: \w+\)$/,
  /^Got SIG\w+ signal/,
  /^Halting offline server/,
  /^Offline \[http for lambda\] listening/,
  /^Server ready:/,
];

type LogRecord = Record<string, unknown>;

const str = (value: unknown): string | undefined =>
  typeof value === 'string'
    ? value
    : typeof value === 'number' || typeof value === 'boolean'
      ? String(value)
      : undefined;

function source(record: LogRecord): string {
  const name = str(record.function_name) ?? '';
  return FUNCTION_SOURCE.exec(name)?.[1] ?? 'lambda';
}

function describe(record: LogRecord): string | undefined {
  const message = str(record.message) ?? '';
  const level = (str(record.level) ?? 'INFO').toUpperCase();
  const name = str(record.conference_name);
  const conference = name === undefined ? 'conference' : `conference ${JSON.stringify(name)}`;
  const code = str(record.error_code);
  switch (message) {
    case 'conference started': {
      const rule = str(record.rule_id);
      const session = str(record.call_session_history_id);
      const latency = str(record.latency_ms);
      return `${conference} started${rule ? ` (rule ${rule}` : ' ('}${session ? `, call_session_history_id ${session}` : ''}${latency ? `, ${latency} ms` : ''})`;
    }
    case 'conference not started': {
      const retryable = record.retryable === true ? ', retryable' : '';
      const vox = str(record.voximplant_code);
      const field = str(record.field);
      const detail = [vox ? `voximplant_code ${vox}` : undefined, field ? `field ${field}` : undefined]
        .filter(Boolean)
        .join(', ');
      return `${conference} not started: ${code ?? 'error'}${retryable}${detail ? ` (${detail})` : ''}`;
    }
    case 'retrying StartConference':
      return `${conference}: retrying StartConference after ${code ?? 'a failure'} (attempt ${str(record.attempt) ?? '?'} failed, next in ${str(record.delay_ms) ?? '?'} ms)`;
    case 'message sent to the dead-letter queue':
      return `message ${str(record.correlation_id) ?? ''} sent to the dead-letter queue (${code ?? 'error'})`;
    case 'scheduled conference sent to the dead-letter queue':
      return `scheduled run ${str(record.correlation_id) ?? ''} sent to the dead-letter queue (${code ?? 'error'})`;
    case 'conference recorded ended':
      return `${conference} recorded ended (${str(record.end_reason) ?? '?'})`;
    default:
      break;
  }
  // The lifecycle API's audit line: one per end and per command, done or refused (lib/lifecycle-service.ts).
  if (record.audit === true && (record.action === 'end' || record.action === 'command')) {
    const command = str(record.command);
    const what =
      record.action === 'end'
        ? record.outcome === 'done'
          ? 'ended'
          : 'not ended'
        : `command ${command === undefined ? '' : `${JSON.stringify(command)} `}${record.outcome === 'done' ? 'sent' : 'not sent'}`;
    const status = str(record.session_status);
    const field = str(record.field);
    return (
      `${conference} ${what}${status ? ` (session answered ${status})` : ''}` +
      `${code ? `: ${code}${field ? ` (field ${field})` : ''}` : ''} (caller ${str(record.caller) ?? '?'})`
    );
  }
  // The schedules API's audit line: one per create, change and cancel, done or refused.
  if (record.audit === true) {
    const schedule = str(record.schedule_name);
    const what = message.replace(/^schedule /, '');
    const field = str(record.field);
    return (
      `schedule${schedule === undefined ? '' : ` ${JSON.stringify(schedule)}`} ${what}` +
      `${code ? `: ${code}${field ? ` (field ${field})` : ''}` : ''} (caller ${str(record.caller) ?? '?'})`
    );
  }
  // Powertools' own complaint about a log field named "message": not the developer's concern here.
  if (message.startsWith('The key "message" is a reserved key')) return undefined;
  if (level === 'WARN' || level === 'ERROR' || level === 'CRITICAL') {
    return `${level} ${message}${code ? ` (${code})` : ''}`;
  }
  return undefined;
}

/**
 * What to print for one line of serverless-offline's output (undefined: nothing). Lines from the handlers are
 * JSON; CloudWatch EMF metric lines are dropped; other lines are offline's or Node's own.
 */
export function formatOfflineLine(line: string, verbose: boolean): OutputLine | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this looks for
  const text = line.replace(/\x1b\[[0-9;]*m/g, '').trimEnd();
  if (text.trim() === '') return undefined;
  if (verbose) return { source: 'offline', message: text };
  if (text.startsWith('{')) {
    let record: LogRecord | undefined;
    try {
      record = JSON.parse(text) as LogRecord;
    } catch {
      record = undefined;
    }
    if (record && typeof record === 'object') {
      if ('_aws' in record) return undefined;
      const message = describe(record);
      return message === undefined ? undefined : { source: source(record), message };
    }
  }
  const trimmed = text.trim();
  if (NOISE.some((pattern) => pattern.test(trimmed))) return undefined;
  if (/error|exception|✖|fail|warn/i.test(trimmed)) return { source: 'offline', message: trimmed };
  return undefined;
}
