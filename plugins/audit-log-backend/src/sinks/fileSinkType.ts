import type { AuditSinkType } from '@backstage-audit/plugin-audit-log-node';
import { readFileSinkOptions } from './fileSinkOptions';
import { RotatingFileTransport } from './RotatingFileTransport';

/**
 * `type: file`: one line per record appended to `path`, rotated by size
 * (`rotate.maxBytes`) and age (`rotate.maxAgeMinutes`), the newest
 * `rotate.keep` rotated files kept, optionally gzipped. Queued by default
 * (`best-effort`: one append per batch, off the request path); `sync`,
 * `batched`, `blocking` and `strict` work too.
 *
 * One sink type per backend: it refuses two sinks on one path, whose
 * rotations would take each other's files.
 *
 * @public
 */
export function createFileSinkType(): AuditSinkType {
  const paths = new Map<string, string>();
  return {
    type: 'file',
    deliveryModes: ['best-effort', 'sync', 'batched', 'blocking', 'strict'],
    create(context) {
      const options = readFileSinkOptions(context.config, context.configKey);
      const other = paths.get(options.path);
      if (other !== undefined) {
        throw new Error(
          `Invalid config at ${context.configKey}.path: '${options.path}' is already the path of sink '${other}'`,
        );
      }
      const transport = RotatingFileTransport.create({
        ...options,
        logger: context.logger,
        configKey: context.configKey,
      });
      paths.set(options.path, context.name);
      return transport;
    },
  };
}
