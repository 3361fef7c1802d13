import fs from 'node:fs';
import { isCadfAction, isCadfResourceType } from '../cadf/taxonomy';
import { parseIni } from './parseIni';

/** `.json` suffixes are not part of a path keyword (keystonemiddleware's `_clean_path`). */
function clean(segment: string): string {
  return segment.endsWith('.json') ? segment.slice(0, -5) : segment;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * An OpenStack audit map file (`api_audit_map.conf`), interpreted on request
 * paths exactly as keystonemiddleware's audit middleware interprets it:
 *
 * - `[custom_actions]` `<last segment>/<method>` or `<last segment>` gives the
 *   action outright;
 * - otherwise `POST` on a path ending in a `[path_keywords]` key is `create`,
 *   on any other path `update` (`.../action` is `update/<first body key>`);
 *   `GET` on a keyword is `read/list`, otherwise `read`; `PUT`/`PATCH`
 *   `update`; `DELETE` `delete`; `HEAD` `read`; anything else `unknown`;
 * - the target typeURI is the service's type followed by each keyword in the
 *   path, and by the keyword's value for the segment after a keyword
 *   (`/v2/tasks/123` with `tasks = task` gives `<type>/tasks/task`).
 *
 * The service type comes from `[service_endpoints]`: keystonemiddleware
 * looks the request's endpoint up in the token's service catalog; here the
 * endpoint type of a request is the id of the Backstage plugin it was sent
 * to (`catalog = service/catalog`), and `[DEFAULT] target_endpoint_type`
 * names the entry used for plugins that have none.
 *
 * @public
 */
export class OpenStackAuditMap {
  readonly #pathKeywords: ReadonlyMap<string, string>;
  readonly #customActions: ReadonlyMap<string, string>;
  readonly #serviceEndpoints: ReadonlyMap<string, string>;
  readonly #targetEndpointType?: string;

  private constructor(options: {
    pathKeywords: ReadonlyMap<string, string>;
    customActions: ReadonlyMap<string, string>;
    serviceEndpoints: ReadonlyMap<string, string>;
    targetEndpointType?: string;
  }) {
    this.#pathKeywords = options.pathKeywords;
    this.#customActions = options.customActions;
    this.#serviceEndpoints = options.serviceEndpoints;
    this.#targetEndpointType = options.targetEndpointType;
  }

  /** Reads and validates a map file; throws an error naming the file and the bad entry. */
  static fromFile(path: string): OpenStackAuditMap {
    let text: string;
    try {
      text = fs.readFileSync(path, 'utf8');
    } catch (error) {
      throw new Error(
        `Cannot read the audit map file ${path}: ${(error as Error).message}`,
      );
    }
    return OpenStackAuditMap.parse(text, path);
  }

  /** Parses and validates the text of a map file. */
  static parse(text: string, source = 'audit map'): OpenStackAuditMap {
    const ini = parseIni(text, source);
    const section = (name: string) =>
      ini.get(name) ?? new Map<string, string>();
    const customActions = section('custom_actions');
    for (const [key, action] of customActions) {
      // pycadf refuses an event with such an action: keystonemiddleware then loses it.
      if (!isCadfAction(action)) {
        throw new Error(
          `${source}: [custom_actions] ${key} = ${action} is not a CADF action (e.g. read, update/enable)`,
        );
      }
    }
    const serviceEndpoints = section('service_endpoints');
    for (const [key, type] of serviceEndpoints) {
      if (!isCadfResourceType(type)) {
        throw new Error(
          `${source}: [service_endpoints] ${key} = ${type} is not a CADF resource typeURI (e.g. service/catalog)`,
        );
      }
    }
    return new OpenStackAuditMap({
      pathKeywords: section('path_keywords'),
      customActions,
      serviceEndpoints,
      targetEndpointType: ini.get('DEFAULT')?.get('target_endpoint_type'),
    });
  }

  /** The map as read: its sections (without `[DEFAULT]`'s keys, which configparser also copies into each). */
  sections(): {
    pathKeywords: Record<string, string>;
    customActions: Record<string, string>;
    serviceEndpoints: Record<string, string>;
    targetEndpointType?: string;
  } {
    return {
      pathKeywords: Object.fromEntries(this.#pathKeywords),
      customActions: Object.fromEntries(this.#customActions),
      serviceEndpoints: Object.fromEntries(this.#serviceEndpoints),
      targetEndpointType: this.#targetEndpointType,
    };
  }

  /** The CADF action of a request (keystonemiddleware's `get_action`). */
  action(method: string, path: string, body?: unknown): string {
    const trimmed = path.endsWith('/') ? path.slice(0, -1) : path;
    const ending = clean(trimmed.slice(trimmed.lastIndexOf('/') + 1));
    const verb = method.toUpperCase();
    const custom =
      this.#customActions.get(`${ending}/${verb.toLowerCase()}`) ??
      this.#customActions.get(ending);
    if (custom !== undefined) {
      return custom;
    }
    switch (verb) {
      case 'POST':
        if (ending === 'action') {
          const first = isObject(body) ? Object.keys(body)[0] : undefined;
          return first === undefined ? 'create' : `update/${first}`;
        }
        return this.#pathKeywords.has(ending) ? 'create' : 'update';
      case 'GET':
        return this.#pathKeywords.has(ending) ? 'read/list' : 'read';
      case 'PUT':
      case 'PATCH':
        return 'update';
      case 'DELETE':
        return 'delete';
      case 'HEAD':
        return 'read';
      default:
        return 'unknown';
    }
  }

  /**
   * The service typeURI of a plugin: its own `[service_endpoints]` entry, else
   * the entry of `target_endpoint_type`; undefined when the map names neither.
   */
  serviceType(pluginId: string): string | undefined {
    return (
      this.#serviceEndpoints.get(pluginId) ??
      (this.#targetEndpointType !== undefined
        ? this.#serviceEndpoints.get(this.#targetEndpointType)
        : undefined)
    );
  }

  /** The target typeURI of a request path (keystonemiddleware's `_build_typeURI`). */
  targetType(path: string, serviceType: string): string {
    let typeUri = '';
    let previous: string | undefined;
    for (const raw of path.split('/')) {
      const segment = clean(raw);
      if (this.#pathKeywords.has(segment)) {
        typeUri += `/${segment}`;
      } else if (previous !== undefined && this.#pathKeywords.has(previous)) {
        typeUri += `/${this.#pathKeywords.get(previous)}`;
      }
      previous = segment;
    }
    return serviceType + typeUri;
  }
}
