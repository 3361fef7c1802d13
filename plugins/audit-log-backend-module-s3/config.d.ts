export interface Config {
  auditLog?: {
    /**
     * Named outputs. The keys below are those of `type: s3` sinks
     * (`@backstage-audit/plugin-audit-log-backend-module-s3`); `type`,
     * `format`, `delivery`, `level` and `queue` are the audit log's own.
     */
    sinks?: {
      [name: string]: {
        /** Bucket (S3) or container (Swift). Required. */
        bucket?: string;
        /** S3 endpoint URL for Swift, Ceph RGW or MinIO. Default: AWS's endpoint for `region`. */
        endpoint?: string;
        /** Default 'us-east-1'. */
        region?: string;
        /** Path-style URLs (`<endpoint>/<bucket>/<key>`), needed by Swift and MinIO. Default false. */
        forcePathStyle?: boolean;
        /**
         * Static credentials of an account that may only PutObject. Leave
         * both out to use the AWS SDK's default chain (environment, web
         * identity, instance profile).
         * @visibility secret
         */
        accessKeyId?: string;
        /** @visibility secret */
        secretAccessKey?: string;
        /** Key prefix, e.g. 'audit' ('/'-separated segments of letters, digits, '.', '_', '-'). Default: none. */
        prefix?: string;
        /** This portal's name in the keys, so several portals share a bucket. Required. */
        project?: string;
        /**
         * This replica's name in the keys; must differ between replicas of a
         * project. Default: `<hostname>-<8 random hex digits>`, generated once
         * and kept in `spoolDir`.
         */
        instance?: string;
        /** A batch is sealed and uploaded when its earliest record is this old. 1 to 3600. Default 60. */
        maxDelaySeconds?: number;
        /**
         * Local directory for the open batch and batches waiting for upload.
         * Must outlive the process (a volume) and be this sink's and
         * replica's alone. Required.
         */
        spoolDir?: string;
        /** Bound of the spool (uncompressed record bytes); past it new records are dropped and counted. Default 268435456 (256 MiB). */
        spoolMaxBytes?: number;
        /** A batch is sealed before it exceeds this many bytes (uncompressed lines). Default 8388608 (8 MiB). */
        batchMaxBytes?: number;
        /** A batch is sealed when it holds this many records. Default 10000. */
        batchMaxRecords?: number;
        /** Bound of one PutObject request. Default 30. */
        uploadTimeoutSeconds?: number;
        /**
         * How long shutdown spends uploading what is spooled, at most, and never
         * past `auditLog.shutdownTimeoutMs`; the rest waits for the next start.
         * Default 10.
         */
        closeTimeoutSeconds?: number;
      };
    };
  };
}
