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
   * @propertyNames {"enum": ["enabled", "plugins", "trustProxy", "ignore", "events", "levels", "body", "errors", "redaction", "stdout", "store", "sinks", "formats", "shutdownTimeoutMs", "scaffolder"]}
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
     * The stdout sink (the sink named `stdout`): one line per record.
     *
     * @propertyNames {"enum": ["enabled", "level", "delivery"]}
     */
    stdout?: {
      /** Default true. */
      enabled?: boolean;
      /**
       * 'sync' (default: each record written before `emit` returns), 'batched'
       * (one write per event-loop turn, flushed on exit and SIGTERM), or a queued
       * mode ('best-effort', 'blocking', 'strict').
       */
      delivery?: 'sync' | 'batched' | 'best-effort' | 'blocking' | 'strict';
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
     * Named outputs, any number: `auditLog.sinks.<name>`. A block named
     * `stdout` or `store` replaces the built-in one. Each block is open: which
     * keys it takes depends on its `type` (stdout, file and store here; other
     * packages add amqp, s3), and the sink type validates them at start-up,
     * naming the full key. The keys below are the pipeline's, and `file`'s.
     */
    sinks?: {
      [name: string]: {
        /** The sink type: stdout, file, store, or one a module provides (amqp, s3). Required. */
        type?: string;
        /** Default true; false removes the sink (also a built-in one). */
        enabled?: boolean;
        /** Output format: rhdh (default), backstage-auditor, or one a module provides (cadf). */
        format?: string;
        /**
         * 'sync', 'batched' (stdout, file), 'best-effort' (default of queued sinks: bounded queue,
         * drops counted), 'blocking' (a response waits for its completion record),
         * 'strict' (a request whose initiation record cannot be delivered gets 503).
         */
        delivery?: 'sync' | 'batched' | 'best-effort' | 'blocking' | 'strict';
        /** Records below this level are not delivered. Default 'info' ('silly' for the store). */
        level?:
          'error' | 'warn' | 'info' | 'http' | 'verbose' | 'debug' | 'silly';
        /** The queue of best-effort, blocking and strict sinks. */
        queue?: {
          /** Records held, waiting and in delivery; past it records are dropped and counted. Default 10000. */
          maxRecords?: number;
          /** Records per delivery. Default 500. */
          batchSize?: number;
          /** How long a partial batch waits, in ms. Default 50. */
          flushIntervalMs?: number;
          /** Longest wait between retries of a failing delivery, in ms. Default 10000. */
          maxRetryDelayMs?: number;
        };
        /** How long blocking and strict wait for a delivery, in ms. Default 5000. */
        waitTimeoutMs?: number;
        /** `type: file`: the live file; its directory is created. Required for files. */
        path?: string;
        /** `type: file`: rotation. */
        rotate?: {
          /** Rotate before a line would take the file past this many bytes. */
          maxBytes?: number;
          /** Rotate a non-empty file this long after its first line. */
          maxAgeMinutes?: number;
          /** Rotated files kept (default: all). */
          keep?: number;
        };
        /** `type: file`: gzip rotated files in the background. Default false. */
        gzip?: boolean;
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
    /** How long shutdown waits for every sink to drain, in ms. Default 10000. */
    shutdownTimeoutMs?: number;
  };
}
