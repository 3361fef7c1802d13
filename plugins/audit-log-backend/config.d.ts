/*
 * Unknown keys are rejected: each block of `auditLog` lists its keys in
 * `@propertyNames`, the one JSON Schema keyword Backstage's schema compiler
 * takes from a doc comment (it ignores `@additionalProperties`, and it merges
 * the schemas of all packages with `allOf`). Keep each list equal to the
 * block's properties (a test checks it). Blocks that other packages extend
 * (`sinks.<name>`, `formats`) stay open: the sink type or format validates its
 * own keys at start-up. `scaffolder` is declared by
 * `@backstage-audit/plugin-scaffolder-backend-module-audit-log`, which reads it.
 */
export interface Config {
  /**
   * Audit log: who did what, when, from where, and did it work.
   *
   * @propertyNames {"enum": ["enabled", "plugins", "trustProxy", "ignore", "events", "levels", "body", "errors", "redaction", "stdout", "store", "sinks", "formats", "scaffolder"]}
   */
  auditLog?: {
    /** Master switch. Default true. */
    enabled?: boolean;
    /**
     * Plugin ids whose HTTP traffic is audited. Default ['catalog', 'scaffolder'].
     * Plugins without a route table are recorded as `HttpRequest` events.
     */
    plugins?: string[];
    /**
     * Trust X-Forwarded-For for `actor.ip`: true (any proxy), a hop count, or a list of
     * proxy addresses/CIDRs ('loopback', '10.0.0.0/8'). Default: `backend.trustProxy`, else false.
     */
    trustProxy?: boolean | number | string | string[];
    /**
     * Requests that are never recorded (OpenStack's ignore_req_list / ignore_path_list).
     *
     * @propertyNames {"enum": ["methods", "paths"]}
     */
    ignore?: {
      /** HTTP methods, e.g. ['HEAD', 'OPTIONS']. Default []. */
      methods?: string[];
      /**
       * Path prefixes of the full request path; `*` matches one segment, `**` any number.
       * Default ['/api/*\/.backstage/'] (plugins' auth-integration and health endpoints).
       */
      paths?: string[];
    };
    /**
     * Which events are written.
     *
     * @propertyNames {"enum": ["include", "exclude", "responseBody"]}
     */
    events?: {
      /** When non-empty, only these events are recorded. Default []. */
      include?: string[];
      /** Events never recorded. Default []. */
      exclude?: string[];
      /**
       * Events whose JSON response body is recorded (capped by body.maxBytes).
       * Default []. Streamed responses (CatalogEntityFetch, ScaffolderTaskStream) are never captured.
       */
      responseBody?: string[];
    };
    /**
     * Level of records. Defaults keep every record visible at `info`.
     *
     * @propertyNames {"enum": ["default", "events"]}
     */
    levels?: {
      /** Default 'info'. */
      default?:
        'error' | 'warn' | 'info' | 'http' | 'verbose' | 'debug' | 'silly';
      /** Per-event level, e.g. { CatalogEntityFetch: debug }. */
      events?: {
        [eventName: string]:
          'error' | 'warn' | 'info' | 'http' | 'verbose' | 'debug' | 'silly';
      };
    };
    /** @propertyNames {"enum": ["maxBytes"]} */
    body?: {
      /** Request/response bodies larger than this (bytes, serialized) are truncated with a marker. Default 65536. */
      maxBytes?: number;
    };
    /** @propertyNames {"enum": ["includeStack"]} */
    errors?: {
      /** Include stack traces in errors[]. Default false. */
      includeStack?: boolean;
    };
    /** @propertyNames {"enum": ["keys", "keyPattern", "queryParams"]} */
    redaction?: {
      /** Extra key names whose values are redacted (case-insensitive), in addition to the pattern. */
      keys?: string[];
      /** Regular expression matched against key names (case-insensitive). Default: see README. */
      keyPattern?: string;
      /** Query parameters whose values are redacted. Default ['token', 'access_token', 'api_key']. */
      queryParams?: string[];
    };
    /**
     * The stdout sink: one JSON line per record.
     *
     * @propertyNames {"enum": ["enabled", "level"]}
     */
    stdout?: {
      /** Default true. */
      enabled?: boolean;
      /** Records below this level are not printed. Default 'info'. */
      level?:
        'error' | 'warn' | 'info' | 'http' | 'verbose' | 'debug' | 'silly';
    };
    /**
     * The durable store behind the query API (`GET /api/audit-log/events`).
     *
     * @propertyNames {"enum": ["enabled", "retention", "maxQueue", "batchSize", "flushIntervalMs"]}
     */
    store?: {
      /** Default true. Stdout output is unaffected either way. */
      enabled?: boolean;
      /** @propertyNames {"enum": ["days", "frequencyMinutes"]} */
      retention?: {
        /** Records older than this many days are deleted. Default: kept forever. */
        days?: number;
        /** How often the retention job runs, in minutes. Default 60. */
        frequencyMinutes?: number;
      };
      /** Records held in memory while the database is slow or down; beyond it records are dropped and counted. Default 50000. */
      maxQueue?: number;
      /** Rows per insert. Default 500. */
      batchSize?: number;
      /** How long a partial batch waits before it is written, in ms. Default 50. */
      flushIntervalMs?: number;
    };
    /**
     * Named sinks, `auditLog.sinks.<name>`. Each block is open: which keys it
     * takes depends on its `type` (stdout, file and store here; other packages
     * add more), and the sink type validates them at start-up, naming the full key.
     */
    sinks?: {
      [name: string]: {
        /** The sink type, e.g. `stdout`, `file`, `store`. */
        type?: string;
        [key: string]: unknown;
      };
    };
    /**
     * Settings of output formats, `auditLog.formats.<id>`, declared and
     * validated by the packages that provide the formats.
     */
    formats?: {
      [id: string]: { [key: string]: unknown };
    };
  };
}
