export interface Config {
  auditLog?: {
    formats?: {
      /** The `cadf` format: CADF events as keystonemiddleware's audit middleware writes them. */
      cadf?: {
        /**
         * An OpenStack audit map file (`api_audit_map.conf`: `[DEFAULT] target_endpoint_type`,
         * `[path_keywords]`, `[custom_actions]`, `[service_endpoints]`), applied to the request
         * path of HTTP records as keystonemiddleware applies it. Relative paths are resolved
         * against the backend's working directory. Default: none (the built-in map only).
         */
        auditMapFile?: string;
        /**
         * Per-event overrides of the audit map, keyed by event name
         * (`CatalogEntityDeletion: {action: delete, targetType: service/catalog/entity}`).
         * They win over the map file and the built-in map.
         */
        events?: {
          [eventName: string]: {
            /** A CADF action: read, read/list, create, update, delete, start, stop, evaluate, ... optionally refined (`update/refresh`). */
            action?: string;
            /** A CADF resource typeURI, e.g. `service/catalog/entity`. */
            targetType?: string;
          };
        };
        /** How each plugin appears as the CADF target, keyed by plugin id (`catalog`, `scaffolder`, `audit-log`). */
        services?: {
          [pluginId: string]: {
            /** Target id. Default: a UUID derived from the plugin id. */
            id?: string;
            /** Target name. Default: the plugin id. */
            name?: string;
            /** Target addresses. Default: `<backend.baseUrl>/api/<pluginId>` named `public`. */
            addresses?: Array<{ url: string; name?: string }>;
          };
        };
      };
    };
    /** Named outputs; these keys apply to sinks of `type: amqp`. */
    sinks?: {
      [name: string]: {
        /**
         * The broker: `amqp://user:password@host:5672/vhost`, `amqps://...`, or an
         * oslo.messaging transport URL with one host (`rabbit://...`).
         * @visibility secret
         */
        url?: string;
        /** Overrides the URL's user name. */
        username?: string;
        /**
         * Overrides the URL's password.
         * @visibility secret
         */
        password?: string;
        /** oslo.messaging's control exchange. Default `openstack`. */
        exchange?: string;
        /** Notification topic; messages go to routing key `<topic>.<priority>`. Default `notifications`. */
        topic?: string;
        /** Notification priority: audit, debug, info, warn, error, critical, sample. Default `info`. */
        priority?: string;
        /** The notifications' `publisher_id`. Default `backstage.<hostname>`. */
        publisherId?: string;
        /** Declare the exchange and queue durable (oslo's `amqp_durable_queues`). Default false. */
        durable?: boolean;
        /** Declare and bind the queue `<topic>.<priority>`, as oslo's notifier does. Default true. */
        declareQueue?: boolean;
        /** AMQP heartbeat in seconds; 0 disables it. Default 60. */
        heartbeatSeconds?: number;
        /** Connection attempt time-out. Default 10000. */
        connectTimeoutMs?: number;
        /** How long a batch waits for the broker's confirmations before it is retried. Default 30000. */
        confirmTimeoutMs?: number;
        /** Notifications larger than this are dropped and counted (reason `too-large`). Default 16777216. */
        maxMessageBytes?: number;
      };
    };
  };
}
