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
    /** The stdout sink (the sink named `stdout`): one line per record. */
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
     * Named outputs, any number. A block named `stdout` or `store` replaces the
     * built-in one. Each block has a `type` (`stdout`, `file`, `store`, and
     * those of installed modules: `amqp`, `s3`), and the pipeline's keys below;
     * every other key is the type's own, validated at start-up by the type.
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
      };
    };
    /**
     * Options of output formats, by format id (e.g. `cadf`), declared by the
     * packages that provide them.
     */
    formats?: {
      [id: string]: unknown;
    };
    /** How long shutdown waits for every sink to drain, in ms. Default 10000. */
    shutdownTimeoutMs?: number;
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
