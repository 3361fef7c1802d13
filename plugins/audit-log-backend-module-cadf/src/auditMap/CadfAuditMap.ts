import type { AuditRecord } from '@backstage-audit/plugin-audit-log-node';
import { CadfEventMapping, defaultCadfAuditMap } from './defaultCadfAuditMap';
import { OpenStackAuditMap } from './OpenStackAuditMap';

/** The action and target type of one record. @public */
export interface ResolvedCadfMapping {
  action: string;
  targetType: string;
}

/** pycadf's `convert_req_action`: the action of a method when nothing else says. */
const METHOD_ACTIONS: Readonly<Record<string, string>> = {
  GET: 'read',
  HEAD: 'read',
  OPTIONS: 'read',
  POST: 'create',
  PUT: 'update',
  PATCH: 'update',
  DELETE: 'delete',
  TRACE: 'capture',
};

/** Options of {@link CadfAuditMap.create}. @public */
export interface CadfAuditMapOptions {
  /** Per-event overrides (`auditLog.formats.cadf.events`), already validated. */
  events?: Readonly<Record<string, CadfEventMapping>>;
  /** An OpenStack audit map file, applied to records of HTTP requests. */
  openStack?: OpenStackAuditMap;
}

/**
 * Decides each record's CADF action and target type. For each of the two,
 * the first that has a value wins:
 *
 * 1. the event's entry in `auditLog.formats.cadf.events`;
 * 2. for records of an HTTP request, the OpenStack audit map file (the action
 *    always; the target type when the map gives the plugin a service type);
 * 3. the built-in table ({@link defaultCadfAuditMap});
 * 4. the HTTP method (`GET` read, `POST` create, ...; `unknown` without a
 *    request) and `service/<plugin>`.
 *
 * @public
 */
export class CadfAuditMap {
  readonly #events: Readonly<Record<string, CadfEventMapping>>;
  readonly #openStack?: OpenStackAuditMap;

  private constructor(options: CadfAuditMapOptions) {
    this.#events = options.events ?? {};
    this.#openStack = options.openStack;
  }

  static create(options: CadfAuditMapOptions = {}): CadfAuditMap {
    return new CadfAuditMap(options);
  }

  resolve(record: AuditRecord): ResolvedCadfMapping {
    const override = Object.hasOwn(this.#events, record.eventName)
      ? this.#events[record.eventName]
      : undefined;
    const builtIn = Object.hasOwn(defaultCadfAuditMap, record.eventName)
      ? defaultCadfAuditMap[record.eventName]
      : undefined;
    const request = record.request;
    let fromFile: CadfEventMapping | undefined;
    if (this.#openStack && request) {
      const path = pathOf(request.url);
      const serviceType = this.#openStack.serviceType(record.plugin);
      fromFile = {
        action: this.#openStack.action(request.method, path, request.body),
        targetType:
          serviceType === undefined
            ? undefined
            : this.#openStack.targetType(path, serviceType),
      };
    }
    return {
      action:
        override?.action ??
        fromFile?.action ??
        builtIn?.action ??
        (request
          ? (METHOD_ACTIONS[request.method.toUpperCase()] ?? 'unknown')
          : 'unknown'),
      targetType:
        override?.targetType ??
        fromFile?.targetType ??
        builtIn?.targetType ??
        `service/${record.plugin}`,
    };
  }
}

/** The path of a request URL, without query string or fragment. */
export function pathOf(url: string): string {
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}
