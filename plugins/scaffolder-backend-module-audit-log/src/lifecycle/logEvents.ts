/**
 * Why a step did not run, as the workflow runner words it in the task log.
 *
 * @public
 */
export type StepSkipReason =
  | 'condition-false'
  | 'previous-step-failed'
  | 'dry-run-unsupported'
  | 'already-completed'
  | 'other';

/** A task-log line the lifecycle records are derived from. */
export type TaskLogEvent =
  | { kind: 'step-start'; stepId: string }
  | { kind: 'step-skip'; stepId: string; reason: StepSkipReason }
  | { kind: 'step-completed'; stepId: string }
  | { kind: 'step-failed'; stepId: string; message: string }
  | { kind: 'step-cancelled'; stepId: string }
  | {
      kind: 'iteration';
      stepId: string;
      ran: boolean;
      key?: string;
      /** The value as the runner logged it: stringified, secrets already `***`. */
      value?: unknown;
    };

// The step logger prints through winston's colorize() + simple() formats.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
const ITERATION = /^(?:\w+: )?(Running|Skipping) step each: (.*)$/s;

function skipReason(message: string): StepSkipReason {
  if (message.endsWith('because its if condition was false')) {
    return 'condition-false';
  }
  if (message.endsWith('because a previous step failed')) {
    return 'previous-step-failed';
  }
  if (message.endsWith('does not support dry-run')) {
    return 'dry-run-unsupported';
  }
  return 'other';
}

/**
 * Maps one `TaskContext.emitLog(message, metadata)` call of the scaffolder's
 * workflow runner (`NunjucksWorkflowRunner`, 4.2) to a lifecycle event, or
 * undefined for ordinary log lines. Step status events carry
 * `{stepId, status}`; iterations are only visible as the step logger's
 * `Running step each: {...}` lines (logged at `info`, so a `LOG_LEVEL` of
 * `warn` or `error` hides them).
 *
 * @public
 */
export function parseTaskLog(
  message: unknown,
  metadata: unknown,
): TaskLogEvent | undefined {
  const md = metadata as { stepId?: unknown; status?: unknown } | undefined;
  const stepId = md?.stepId;
  if (typeof stepId !== 'string' || typeof message !== 'string') {
    return undefined;
  }
  switch (md?.status) {
    case 'processing':
      return { kind: 'step-start', stepId };
    case 'skipped':
      return { kind: 'step-skip', stepId, reason: skipReason(message) };
    case 'completed':
      return message.endsWith('already completed in a previous run')
        ? { kind: 'step-skip', stepId, reason: 'already-completed' }
        : { kind: 'step-completed', stepId };
    case 'failed':
      return { kind: 'step-failed', stepId, message };
    case 'cancelled':
      return { kind: 'step-cancelled', stepId };
    case undefined:
      break;
    default:
      return undefined;
  }
  if (!message.includes('step each: ')) {
    return undefined;
  }
  const match = ITERATION.exec(message.replace(ANSI, ''));
  if (!match) {
    return undefined;
  }
  let key: string | undefined;
  let value: unknown;
  try {
    const parsed = JSON.parse(match[2]) as { key?: unknown; value?: unknown };
    key = parsed.key === undefined ? undefined : String(parsed.key);
    value = parsed.value;
  } catch {
    // Redaction can break the JSON (a secret inside a key): keep the count only.
  }
  return { kind: 'iteration', stepId, ran: match[1] === 'Running', key, value };
}

/**
 * `{name, message}` of a failed step's log line, which is the redacted error's
 * stack: its first line is `Name: message`. The stack frames are dropped.
 */
export function errorFromStepLog(message: string): {
  name: string;
  message: string;
} {
  const first = message.split('\n', 1)[0].trim();
  const m = /^([A-Z][\w.]*(?:Error|Exception)?): ([\s\S]*)$/.exec(first);
  if (m) {
    return { name: m[1], message: m[2] };
  }
  return { name: 'Error', message: first };
}
