import type {
  AuditFormat,
  AuditRecord,
} from '@backstage-audit/plugin-audit-log-node';
import { CadfAuditMap } from '../auditMap/CadfAuditMap';
import { nameUuid } from './ids';
import { CADF_EVENT_TYPE_URI } from './taxonomy';
import { cadfTime } from './time';
import { CadfAttachment, CadfEndpoint, CadfEvent, CadfResource } from './types';

/** How a plugin appears as a CADF target. @public */
export interface CadfService {
  /** Default: a UUID derived from the plugin id. */
  id?: string;
  /** Default: the plugin id. */
  name?: string;
  /** Default: `<backend.baseUrl>/api/<plugin>` named `public`, when the base URL is known. */
  addresses?: CadfEndpoint[];
}

/** Options of {@link CadfFormat.create}. @public */
export interface CadfFormatOptions {
  auditMap?: CadfAuditMap;
  /** Per plugin id (`catalog`, `scaffolder`, `audit-log`, ...). */
  services?: Readonly<Record<string, CadfService>>;
  /** `backend.baseUrl`, for the targets' default addresses. */
  baseUrl?: string;
}

/** The id of this format in config (`format: cadf`). @public */
export const CADF_FORMAT_ID = 'cadf';

const ACCOUNT_USER = 'service/security/account/user';
const UNKNOWN = 'unknown';

/** A Map that forgets its oldest entries past `max`. */
class BoundedCache<K, V> {
  readonly #map = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(key: K): V | undefined {
    return this.#map.get(key);
  }
  set(key: K, value: V): void {
    if (this.#map.size >= this.max) {
      this.#map.delete(this.#map.keys().next().value as K);
    }
    this.#map.set(key, value);
  }
}

/**
 * Renders audit records as the CADF events keystonemiddleware's audit
 * middleware sends: one event per record, the initiation as the request
 * event (outcome `pending`), the completion as the response event, sharing
 * one id. What the portal knows beyond the middleware goes into
 * `attachments`. Everything in an event comes from the record, the audit map
 * or config; nothing else is read.
 *
 * @public
 */
export class CadfFormat implements AuditFormat {
  readonly id = CADF_FORMAT_ID;
  readonly #auditMap: CadfAuditMap;
  readonly #services: Readonly<Record<string, CadfService>>;
  readonly #baseUrl?: string;
  /** Target resources per plugin and type: the same few objects serve every record. */
  readonly #targets = new Map<string, CadfResource>();
  /** Ids derived from names, kept for the records that follow (hashing costs more than the rest). */
  readonly #ids = new BoundedCache<string, string>(4096);

  private constructor(options: CadfFormatOptions) {
    this.#auditMap = options.auditMap ?? CadfAuditMap.create();
    this.#services = options.services ?? {};
    this.#baseUrl = options.baseUrl?.replace(/\/+$/, '');
  }

  static create(options: CadfFormatOptions = {}): CadfFormat {
    return new CadfFormat(options);
  }

  render(record: AuditRecord): string {
    return JSON.stringify(this.toEvent(record));
  }

  /** The CADF event of a record, as an object. */
  toEvent(record: AuditRecord): CadfEvent {
    const { action, targetType } = this.#auditMap.resolve(record);
    const request = record.request;
    const completion = record.stage === 'completion';
    const eventTime = cadfTime(record.timestamp);
    const attachments = attachmentsOf(record);
    // Keys in pycadf's order, which keystonemiddleware's events have.
    return {
      typeURI: CADF_EVENT_TYPE_URI,
      eventType: 'activity',
      id: this.#uuid('event', eventName(record)),
      eventTime,
      action,
      outcome: outcomeOf(record),
      name: record.eventName,
      observer: { id: 'target' },
      initiator: initiatorOf(
        record,
        record.actor.actorId
          ? this.#uuid('account', record.actor.actorId)
          : UNKNOWN,
      ),
      target: this.#target(record.plugin, targetType),
      // keystonemiddleware's requestPath is the path with the query string; ours is already redacted.
      ...(request ? { requestPath: request.url } : {}),
      tags: [`correlation_id?value=${record.auditId}`],
      ...(completion && record.response
        ? {
            reason: {
              reasonType: 'HTTP',
              reasonCode: String(record.response.status),
            },
          }
        : {}),
      // As keystonemiddleware marks its response event: the observer modified the request event.
      ...(completion
        ? {
            reporterchain: [
              {
                role: 'modifier' as const,
                reporter: { id: 'target' as const },
                reporterTime: eventTime,
              },
            ],
          }
        : {}),
      ...(attachments.length ? { attachments } : {}),
    };
  }

  #uuid(namespace: 'event' | 'account', name: string): string {
    const key = `${namespace}\n${name}`;
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = nameUuid(namespace, name);
      this.#ids.set(key, id);
    }
    return id;
  }

  #target(plugin: string, typeURI: string): CadfResource {
    const key = `${plugin}\n${typeURI}`;
    let target = this.#targets.get(key);
    if (!target) {
      const service = Object.hasOwn(this.#services, plugin)
        ? this.#services[plugin]
        : undefined;
      const addresses =
        service?.addresses ??
        (this.#baseUrl
          ? [{ url: `${this.#baseUrl}/api/${plugin}`, name: 'public' }]
          : undefined);
      target = {
        typeURI,
        id: service?.id ?? nameUuid('service', plugin),
        name: service?.name ?? plugin,
        ...(addresses ? { addresses } : {}),
      };
      this.#targets.set(key, target);
    }
    return target;
  }
}

/**
 * What the event id is derived from: shared by a request's two records, and
 * more than the auditId, which a caller may choose (`Audit-ID` header): two
 * different requests that reuse one Audit-ID still get different event ids.
 */
function eventName(record: AuditRecord): string {
  const r = record.request;
  return [
    record.auditId,
    record.plugin,
    record.eventName,
    r?.method ?? '',
    r?.url ?? '',
    record.actor.actorId ?? '',
  ].join('\n');
}

/**
 * `pending` for an initiation; for a completion `success` or `failure` as the
 * record says (2xx/3xx succeeded), and `unknown` when the handler crashed: an
 * error and status 500, which Backstage answers for a thrown error, where
 * keystonemiddleware sees the exception propagate.
 */
function outcomeOf(record: AuditRecord): CadfEvent['outcome'] {
  if (record.stage === 'initiation') {
    return 'pending';
  }
  if (record.errors?.length && record.response?.status === 500) {
    return 'unknown';
  }
  return record.status === 'succeeded' ? 'success' : 'failure';
}

/**
 * keystonemiddleware's identity_status is auth_token's `X-Identity-Status`:
 * `Confirmed` for a resolved identity, otherwise `Invalid` (with or without a
 * token presented: auth_token says `Invalid` for both). The token itself never
 * appears: only the record's fingerprint (`sha256:` + 16 hex digits), or an
 * empty string when none was presented.
 */
function initiatorOf(record: AuditRecord, id: string): CadfResource {
  const { actor } = record;
  const initiator: CadfResource = {
    typeURI: ACCOUNT_USER,
    id,
    name: actor.actorId ?? UNKNOWN,
  };
  if (record.request) {
    const host: CadfResource['host'] = {};
    if (actor.ip !== undefined) host.address = actor.ip;
    if (actor.client !== undefined) host.agent = actor.client;
    initiator.host = host;
    initiator.credential = {
      token: actor.tokenFingerprint ?? '',
      identity_status: actor.actorId ? 'Confirmed' : 'Invalid',
    };
  }
  // Backstage has no projects; keystonemiddleware writes `unknown` when a request has none.
  initiator.project_id = UNKNOWN;
  if (record.request) {
    initiator.request_id = record.auditId;
  }
  return initiator;
}

function attachmentsOf(record: AuditRecord): CadfAttachment[] {
  const out: CadfAttachment[] = [
    { typeURI: 'xs:string', content: record.plugin, name: 'plugin' },
  ];
  if (record.meta && Object.keys(record.meta).length) {
    out.push({
      typeURI: 'mime:application/json',
      content: record.meta,
      name: 'meta',
    });
  }
  if (record.errors?.length) {
    out.push({
      typeURI: 'mime:application/json',
      content: record.errors,
      name: 'errors',
    });
  }
  if (record.response?.clientClosed) {
    out.push({ typeURI: 'xs:boolean', content: true, name: 'clientClosed' });
  }
  return out;
}
