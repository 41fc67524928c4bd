/**
 * The start-up banner: what listens where, what is local-only, and copy-paste commands for each trigger and
 * for watching the result. Every command is plain curl (no AWS CLI, no npm) and works as printed.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import YAML from 'yaml';
import facts from '../lib/facts.json' with { type: 'json' };
import { FUNCTIONS_NODE_MAJOR } from '../scripts/node-runtime.mjs';
import type { StackInfo } from './stack.js';

/** The deployed queue's settings, read from infra/resources.yml (so the banner cannot drift from it). */
export function deployedQueueSettings(root: string): { visibilityTimeout: string; maxReceiveCount: string } {
  try {
    const doc = YAML.parse(readFileSync(join(root, 'infra', 'resources.yml'), 'utf8'), { logLevel: 'silent' }) as {
      Resources?: {
        RequestQueue?: { Properties?: { VisibilityTimeout?: unknown } };
      };
    };
    const props = doc.Resources?.RequestQueue?.Properties;
    return {
      visibilityTimeout: props?.VisibilityTimeout === undefined ? '?' : `${String(props.VisibilityTimeout)} s`,
      // A stage parameter whose default is the functions' setting (infra/params.cjs).
      maxReceiveCount: String(facts.settings.QUEUE_MAX_RECEIVE_COUNT.default),
    };
  } catch {
    return { visibilityTimeout: '?', maxReceiveCount: '?' };
  }
}

/** A shell single-quoted word. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export interface TriggerCommands {
  readonly http: string;
  readonly enqueue: string;
  readonly fireSchedule: string | undefined;
  /** POST /schedules: a conference a minute from now (the time is the shell's, when the command runs: GNU date). */
  readonly createSchedule: string;
  /** GET /schedules: both groups. */
  readonly listSchedules: string;
  /** DELETE /schedules/<the create command's name>. */
  readonly cancelSchedule: string;
  readonly emulatorConferences: string | undefined;
  readonly deadLetters: string;
  readonly schedules: string;
  /** The outcome events published (GET /events), and only the final failures. */
  readonly events: string;
  readonly failedEvents: string;
  /** The emulator: a participant joins "demo" (so that its session has someone in it, and does not end empty). */
  readonly addParticipant: string | undefined;
  /** GET /conferences/demo: the record, and what the session says now. */
  readonly conferenceStatus: string;
  /** POST /conferences/demo/commands {"command":"status"}: the session's own answer. */
  readonly conferenceCommand: string;
  /** GET /conferences?status=active: newest first. */
  readonly activeConferences: string;
  /** DELETE /conferences/demo: stop, recorded ended (204). */
  readonly endConference: string;
}

/** The conference the banner's HTTP command starts, and its lifecycle commands follow. */
export const DEMO_CONFERENCE = 'demo';
/** The schedule (and conference) the banner's create command books. */
export const DEMO_BOOKING = 'demo-booking';
/** A minute from now in UTC, with `Z` (an instant: no timezone needed), as GNU date prints it. */
const IN_A_MINUTE = "$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%SZ)";

export function triggerCommands(info: StackInfo): TriggerCommands {
  const rule = info.emulator?.ruleId ?? info.defaultRuleId;
  const ruleJson = rule === null ? 'REPLACE_WITH_YOUR_RULE_ID' : String(rule);
  const httpBody = `{"conference_name":"${DEMO_CONFERENCE}","rule_id":${ruleJson}}`;
  const demoUrl = `${info.conferencesUrl}/${encodeURIComponent(encodeURIComponent(DEMO_CONFERENCE))}`;
  const queueBody = `{"conference_name":"from-queue","rule_id":${ruleJson}}`;
  // The `at` is spliced in by the shell: a banner printed now cannot know when the command runs.
  const bookingBefore = `{"name":"${DEMO_BOOKING}","at":"`;
  const bookingAfter = `","request":{"conference_name":"${DEMO_BOOKING}","rule_id":${ruleJson}}}`;
  const enabled = info.schedules.find((s) => s.enabled) ?? info.schedules[0];
  return {
    http: `curl -sS -X POST ${info.conferencesUrl} -H 'content-type: application/json' -d ${shellQuote(httpBody)}`,
    // SQS's Query protocol, as the AWS CLI speaks it; the answer is SQS's XML with the MessageId.
    enqueue:
      `curl -sS ${info.sqsEndpoint}/ -d Action=SendMessage --data-urlencode QueueUrl=${info.queueUrl} ` +
      `--data-urlencode ${shellQuote(`MessageBody=${queueBody}`)}`,
    fireSchedule:
      enabled === undefined
        ? undefined
        : `curl -sS -X POST ${info.controlUrl}/schedules/${encodeURIComponent(enabled.name)}/fire`,
    createSchedule:
      `curl -sS -X POST ${info.schedulesUrl} -H 'content-type: application/json' ` +
      `-d ${shellQuote(bookingBefore)}"${IN_A_MINUTE}"${shellQuote(bookingAfter)}`,
    listSchedules: `curl -sS ${info.schedulesUrl}`,
    cancelSchedule: `curl -sS -X DELETE ${info.schedulesUrl}/${DEMO_BOOKING}`,
    emulatorConferences: info.emulator ? `curl -sS ${info.emulator.controlUrl}/conferences` : undefined,
    deadLetters: `curl -sS ${info.controlUrl}/dead-letters`,
    schedules: `curl -sS ${info.controlUrl}/schedules`,
    events: `curl -sS ${info.controlUrl}/events`,
    failedEvents: `curl -sS ${shellQuote(`${info.controlUrl}/events?detail_type=${encodeURIComponent(facts.events.detailTypes.failed)}`)}`,
    addParticipant: info.emulator
      ? `curl -sS -X POST ${info.emulator.controlUrl}/conferences/${encodeURIComponent(DEMO_CONFERENCE)}/participants ` +
        `-H 'content-type: application/json' -d ${shellQuote('{"displayName":"Ada"}')}`
      : undefined,
    conferenceStatus: `curl -sS ${demoUrl}`,
    conferenceCommand:
      `curl -sS -X POST ${demoUrl}/commands -H 'content-type: application/json' ` +
      `-d ${shellQuote('{"command":"status"}')}`,
    activeConferences: `curl -sS ${shellQuote(`${info.conferencesUrl}?status=active`)}`,
    endConference: `curl -sS -X DELETE ${demoUrl}`,
  };
}

/** Milliseconds as seconds, for the banner: `60 s`, `1.5 s`. */
function seconds1(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

/** Which Node the functions run on, and whether that is Lambda's. */
export function functionsNodeText(node: StackInfo['functionsNode'], root: string): string {
  const major = Number(node.version.replace(/^v/, '').split('.')[0]);
  const how =
    node.source === 'given'
      ? `VOXCONF_FUNCTIONS_NODE=${node.bin}`
      : node.source === 'host'
        ? "the stack's own Node"
        : relative(root, node.bin);
  const lambda =
    major === FUNCTIONS_NODE_MAJOR
      ? `as Lambda's nodejs${FUNCTIONS_NODE_MAJOR}.x`
      : `NOT Lambda's nodejs${FUNCTIONS_NODE_MAJOR}.x`;
  return `functions run on Node ${node.version} (${lambda}; ${how})`;
}

export function renderBanner(info: StackInfo, root: string): string {
  const deployed = deployedQueueSettings(root);
  const commands = triggerCommands(info);
  const seconds = (info.startupMs / 1000).toFixed(1);
  const lines: string[] = [];
  const row = (label: string, text: string) => lines.push(`  ${label.padEnd(17)}${text}`);
  const more = (text: string) => lines.push(`  ${' '.repeat(17)}${text}`);

  lines.push('');
  lines.push(
    `voxconf local stack ready in ${seconds} s (serverless offline ${(info.offlineStartupMs / 1000).toFixed(1)} s): ` +
      'everything on 127.0.0.1, Ctrl-C stops it all',
  );
  lines.push('');
  if (info.real) {
    lines.push('  !!! REAL VOXIMPLANT: conferences started here are real, on your account !!!');
    lines.push(`  !!! API ${info.voximplantApiUrl}, account ${info.real.accountId}, key ${info.real.keyId}`);
    lines.push(
      `  !!! (credentials from VOXIMPLANT_CREDENTIALS_FILE=${info.real.credentialsFile}); only the AWS side is local.`,
    );
    lines.push('');
  }
  row('HTTP API', `${info.conferencesUrl}  (POST; serverless offline, stage "local", from serverless.yml)`);
  more(`${info.schedulesUrl}  (POST, GET; GET|PUT|DELETE /schedules/{name}: the schedules API)`);
  more('open on loopback: no IAM (or JWT) locally; deployed stages require AWS IAM by default');
  more(
    info.corsOrigins.length === 0
      ? 'no CORS: every port answers 403 to web pages (an Origin header) and to non-loopback host names'
      : `CORS for ${info.corsOrigins.join(', ')} only (VOXCONF_CORS_ALLOWED_ORIGINS); other pages and host names: 403`,
  );
  row('Lambda API', `${info.lambdaEndpoint}  (functions ${Object.values(info.functions).join(', ')})`);
  more(functionsNodeText(info.functionsNode, root));
  if (info.emulator) {
    row(
      'Voximplant',
      `${info.voximplantApiUrl}  emulator, latency ${info.emulator.latencyMs} ms, account ${info.emulator.accountId}, rule ${info.emulator.ruleId}`,
    );
    more(`control API ${info.emulator.controlUrl}  (records, forced faults: local/voximplant-emulator/README.md)`);
    more(
      `rules ${info.emulator.referenceRuleIds.join(', ')} run the reference scenario (referenceScenarioRuleIds); ` +
        `rule ${info.emulator.exampleRuleId} Voximplant's example (ends on any request: never probed)`,
    );
    more(
      `a session without participants ends after ${seconds1(info.emulator.emptySessionMs)}, ` +
        `${seconds1(info.emulator.sessionGraceMs)} after its last one left (VOXCONF_EMPTY_SESSION_MS, VOXCONF_SESSION_GRACE_MS)`,
    );
  } else {
    row('Voximplant', `${info.voximplantApiUrl}  (REAL API, not emulated)`);
    more(
      info.referenceScenarioRuleIds.length > 0
        ? `rules ${info.referenceScenarioRuleIds.join(', ')} run the reference scenario (VOXCONF_REFERENCE_SCENARIO_RULE_IDS)`
        : 'no rule declared to run the reference scenario (VOXCONF_REFERENCE_SCENARIO_RULE_IDS): no session is probed or stopped',
    );
  }
  row('Secrets Manager', `${info.secretsManagerEndpoint}  secret ${info.secretArn}`);
  more(
    `holds credentials.json of ${info.emulator ? 'the emulator account' : 'VOXIMPLANT_CREDENTIALS_FILE'}; handlers reach it via AWS_ENDPOINT_URL_SECRETS_MANAGER`,
  );
  row('SQS', `${info.sqsEndpoint}  queue ${info.queueUrl}`);
  more(`dead-letter queue ${info.deadLetterQueueUrl}`);
  more(
    `local only: visibility timeout ${info.visibilityTimeoutSeconds} s, maxReceiveCount ${info.maxReceiveCount} ` +
      `(deployed: ${deployed.visibilityTimeout}, ${deployed.maxReceiveCount})`,
  );
  more('poller: batches of 10 to the queue function, deletes all but its batchItemFailures (ReportBatchItemFailures)');
  row(
    'EventBridge',
    `${info.eventBridgeEndpoint}  bus ${info.eventBusName}  (stand-in: PutEvents only, nothing routed)`,
  );
  more('the final outcome of each queue and schedule start; handlers reach it via AWS_ENDPOINT_URL_EVENTBRIDGE');
  row('DynamoDB', `${info.dynamoDbEndpoint}  table ${info.registryTableName}  (dynalite: the conference registry)`);
  more(
    `every start is recorded there; handlers reach it via AWS_ENDPOINT_URL_DYNAMODB; not applied locally: ` +
      `${info.registrySkippedLocally.join(', ')} (docs/local-stack.md)`,
  );
  more('POST|DELETE /registry/faults on the stack control endpoint makes it fail (docs/local-stack.md)');
  row(
    'Scheduler API',
    `${info.schedulerEndpoint}  groups ${info.scheduleGroups.deploy} (${relative(root, info.schedulesFile) || info.schedulesFile}), ` +
      `${info.scheduleGroups.api} (the schedules API's)`,
  );
  more(
    "stand-in: the schedules function's SDK reaches it via AWS_ENDPOINT_URL_SCHEDULER; the scheduler below fires " +
      `${info.scheduleGroups.api} to the second${info.schedulesAutoFire ? '' : ' (when VOXCONF_SCHEDULES=on)'}`,
  );
  const file = relative(root, info.schedulesFile) || info.schedulesFile;
  if (info.schedules.length === 0) {
    row('Scheduler', `${file}: no schedules declared`);
  } else {
    row(
      'Scheduler',
      `${file}${info.schedulesAutoFire ? '' : '  (automatic runs OFF: VOXCONF_SCHEDULES=on to enable)'}`,
    );
    for (const s of info.schedules) {
      const when = !s.enabled
        ? 'disabled'
        : !info.schedulesAutoFire
          ? 'not fired automatically'
          : s.next
            ? `next ${s.next}`
            : 'no future run';
      more(`${s.name}: ${s.schedule} ${s.timezone}, ${when}`);
    }
  }
  row(
    'Stack control',
    `${info.controlUrl}  (GET /schedules, POST /schedules/[<group>/]<name>/fire, GET|DELETE /dead-letters, GET /events,`,
  );
  more('POST|DELETE /scheduler/faults, POST|DELETE /registry/faults)');
  lines.push('');
  lines.push('Try each trigger (copy-paste):');
  lines.push('');
  lines.push('  # HTTP: start (or join) a conference; run it twice, the same session comes back');
  lines.push(`  ${commands.http}`);
  lines.push('');
  lines.push('  # Queue: enqueue a request (SQS SendMessage); the poller hands it to the queue function');
  lines.push(`  ${commands.enqueue}`);
  if (commands.fireSchedule) {
    lines.push('');
    lines.push('  # Schedule: fire one now, with the input the deployed schedule sends');
    lines.push(`  ${commands.fireSchedule}`);
  }
  lines.push('');
  lines.push(
    `  # Schedules API: book "${DEMO_BOOKING}" a minute from now (GNU date; on macOS: date -u -v+1M ...), list, cancel it`,
  );
  lines.push(`  ${commands.createSchedule}`);
  lines.push(`  ${commands.listSchedules}`);
  lines.push(`  ${commands.cancelSchedule}`);
  lines.push('');
  lines.push(`Follow "${DEMO_CONFERENCE}" after its start (the lifecycle API, on the same HTTP API):`);
  lines.push('');
  // Started again here: the triggers above take longer than an empty session lives (Voximplant's 60 s).
  const emptyFor = info.emulator ? seconds1(info.emulator.emptySessionMs) : '60 s';
  lines.push(`  # start (or join) it again: a session nobody joins ends after ${emptyFor}`);
  lines.push(`  ${commands.http}`);
  if (commands.addParticipant) {
    lines.push("  # someone joins it (the emulator's control API): the session's status lists them");
    lines.push(`  ${commands.addParticipant}`);
  }
  lines.push('  # look it up: the record, and what the session says now (asked at most every 10 s)');
  lines.push(`  ${commands.conferenceStatus}`);
  lines.push("  # send it a command: status, or one the scenario's handleCommand hook answers");
  lines.push(`  ${commands.conferenceCommand}`);
  lines.push('  # the active conferences, newest first (next_token for the next page)');
  lines.push(`  ${commands.activeConferences}`);
  lines.push('  # end it: 204, no output; looked up again it is ended, without its media session URLs');
  lines.push(`  ${commands.endConference}`);
  lines.push('');
  lines.push('Watch the result:');
  lines.push('');
  if (commands.emulatorConferences) {
    lines.push("  # the emulator's record of the conferences it started (and who joined)");
    lines.push(`  ${commands.emulatorConferences}`);
  }
  lines.push("  # the dead-letter queue, with each message's error_code and error_message (left in the queue)");
  lines.push(`  ${commands.deadLetters}`);
  lines.push('  # the outcome events published on the bus (newest last); only the final failures');
  lines.push(`  ${commands.events}`);
  lines.push(`  ${commands.failedEvents}`);
  lines.push('');
  lines.push(
    "Each invocation is logged below, one line each (VOXCONF_VERBOSE=1 for all of serverless offline's output).",
  );
  lines.push('');
  return lines.join('\n');
}
