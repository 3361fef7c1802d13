import { createHash } from 'node:crypto';
import type {
  AuditRecord,
  AuditSinkEntry,
} from '@backstage-audit/plugin-audit-log-node';
import { nameUuid } from '../cadf/ids';
import { osloTime } from '../cadf/time';

/**
 * The `event_type` of a record's notification: keystonemiddleware's
 * `audit.http.request` / `audit.http.response` for records of an HTTP request;
 * for records without one (the scaffolder's task lifecycle, the audit log
 * starting and stopping) `audit.<plugin>.start` for an initiation and
 * `audit.<plugin>.end` for a completion, after OpenStack's `.start`/`.end`
 * convention for work that is not a request.
 *
 * @public
 */
export function osloEventType(record: AuditRecord): string {
  if (record.request) {
    return record.stage === 'initiation'
      ? 'audit.http.request'
      : 'audit.http.response';
  }
  return `audit.${record.plugin}.${record.stage === 'initiation' ? 'start' : 'end'}`;
}

/**
 * The notification's `message_id`: a UUID derived from the sink's name and
 * the rendered line, so a batch delivered twice carries the same ids and
 * consumers can drop the copies. Not from the auditId alone: a caller may
 * reuse an `Audit-ID`, and records that differ must never share a message
 * id. With the sink's name: two sinks publishing the same record (one per
 * priority, say, read by one listener) send two messages, not copies of one;
 * an oslo listener drops a message whose `_unique_id` it just acknowledged,
 * and leaves it unacknowledged on its connection.
 *
 * @public
 */
export function osloMessageId(entry: AuditSinkEntry, sink: string): string {
  const digest = createHash('sha256').update(entry.line, 'utf8').digest('hex');
  return nameUuid('message', `${sink}\n${entry.record.stage}\n${digest}`);
}

/** Options of {@link osloNotificationBody}. @public */
export interface OsloNotificationOptions {
  /** The sink's name (`auditLog.sinks.<name>`): part of the message id. */
  sink: string;
  publisherId: string;
  /** Upper case in the message (`INFO`), as oslo.messaging writes it. */
  priority: string;
}

/**
 * The body oslo.messaging's `messagingv2` driver publishes: the 2.0 envelope
 * `{"oslo.version": "2.0", "oslo.message": "<message JSON as a string>"}`.
 * The entry's line (already JSON) is spliced in as the payload, not parsed
 * again. `_unique_id` is oslo's own duplicate marker: an oslo listener drops a
 * message whose `_unique_id` it acknowledged among its last 16.
 *
 * @public
 */
export function osloNotificationBody(
  entry: AuditSinkEntry,
  options: OsloNotificationOptions,
): { body: Buffer; messageId: string } {
  const messageId = osloMessageId(entry, options.sink);
  const message =
    `{"message_id":"${messageId}",` +
    `"publisher_id":${JSON.stringify(options.publisherId)},` +
    `"event_type":${JSON.stringify(osloEventType(entry.record))},` +
    `"priority":${JSON.stringify(options.priority.toUpperCase())},` +
    `"payload":${entry.line},` +
    `"timestamp":"${osloTime(entry.record.timestamp)}",` +
    `"_unique_id":"${messageId.replace(/-/g, '')}"}`;
  const body = `{"oslo.version":"2.0","oslo.message":${JSON.stringify(message)}}`;
  return { body: Buffer.from(body, 'utf8'), messageId };
}
