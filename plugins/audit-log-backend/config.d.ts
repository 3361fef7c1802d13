export interface Config {
  /** Audit log: who did what, when, from where, and did it work. */
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
    /** Requests that are never recorded (OpenStack's ignore_req_list / ignore_path_list). */
    ignore?: {
      /** HTTP methods, e.g. ['HEAD', 'OPTIONS']. Default []. */
      methods?: string[];
      /**
       * Path prefixes of the full request path; `*` matches one segment, `**` any number.
       * Default ['/api/*\/.backstage/'] (plugins' auth-integration and health endpoints).
       */
      paths?: string[];
    };
    /** Which events are written. */
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
    /** Level of records. Defaults keep every record visible at `info`. */
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
    body?: {
      /** Request/response bodies larger than this (bytes, serialized) are truncated with a marker. Default 65536. */
      maxBytes?: number;
    };
    errors?: {
      /** Include stack traces in errors[]. Default false. */
      includeStack?: boolean;
    };
    redaction?: {
      /** Extra key names whose values are redacted (case-insensitive), in addition to the pattern. */
      keys?: string[];
      /** Regular expression of more key names to redact (case-insensitive), besides the built-in credential key rules (see README). */
      keyPattern?: string;
      /** Query parameters whose values are redacted. Default ['token', 'access_token', 'api_key']. */
      queryParams?: string[];
    };
    /** Scaffolder task-lifecycle records (`@backstage-audit/plugin-scaffolder-backend-module-audit-log`). */
    scaffolder?: {
      /**
       * Record task executions, steps, skips, `each` iterations, dry runs and stale-task
       * cancellations. Decorates the scaffolder's task broker; turn off if another module
       * sets the task broker. Default true.
       */
      taskLifecycle?: boolean;
      /**
       * Strings in recorded task parameters, step inputs and iteration values longer than
       * this are cut. -1 disables. Default 256.
       */
      parameterMaxLength?: number;
    };
    /** The stdout sink: one JSON line per record. */
    stdout?: {
      /** Default true. */
      enabled?: boolean;
      /** Records below this level are not printed. Default 'info'. */
      level?:
        'error' | 'warn' | 'info' | 'http' | 'verbose' | 'debug' | 'silly';
    };
    /** The durable store behind the query API (`GET /api/audit-log/events`). */
    store?: {
      /** Default true. Stdout output is unaffected either way. */
      enabled?: boolean;
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
  };
}
