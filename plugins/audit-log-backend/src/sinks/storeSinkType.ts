import type { AuditSinkType } from '@backstage-audit/plugin-audit-log-node';
import type { StoreBinding } from '../database/StoreBinding';
import { StoreTransport } from './StoreTransport';

/**
 * `type: store`: the audit-log plugin's own database, behind the query API.
 * Queued (`best-effort` by default); always the `rhdh` format, which the
 * query API serves and filters on.
 *
 * @public
 */
export function createStoreSinkType(binding: StoreBinding): AuditSinkType {
  return {
    type: 'store',
    deliveryModes: ['best-effort', 'blocking', 'strict'],
    defaultFormat: 'rhdh',
    create(context) {
      const format = context.config.getOptionalString('format');
      if (format !== undefined && format !== 'rhdh') {
        throw new Error(
          `Invalid config at ${context.configKey}.format: the store keeps the 'rhdh' format, which its query API serves`,
        );
      }
      return StoreTransport.create({ binding, context });
    },
  };
}
