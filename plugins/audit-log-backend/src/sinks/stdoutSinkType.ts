import type { AuditSinkType } from '@backstage-audit/plugin-audit-log-node';
import { StdoutTransport } from './StdoutTransport';

/**
 * `type: stdout`: one line per record on the process's stdout. Delivery
 * `sync` (default: written inside `emit`), `batched` (one write per
 * event-loop turn), or queued (`best-effort`, `blocking`, `strict`).
 *
 * @public
 */
export const stdoutSinkType: AuditSinkType = {
  type: 'stdout',
  deliveryModes: ['sync', 'batched', 'best-effort', 'blocking', 'strict'],
  create: () => StdoutTransport.create(),
};
