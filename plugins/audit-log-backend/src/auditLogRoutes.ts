import { defineAuditRoutes } from '@backstage-audit/plugin-audit-log-node';

/**
 * The audit log's own API is audited too: reading the trail is an event
 * (PCI DSS 10.2.1.3), allowed or denied.
 *
 * @public
 */
export const auditLogAuditRoutes = defineAuditRoutes('audit-log', [
  {
    method: 'GET',
    path: '/events',
    // The filters are in request.query.
    eventName: 'AuditLogQuery',
  },
  {
    method: 'GET',
    path: '/events/:id',
    eventName: 'AuditLogRecordFetch',
    meta: ({ params }) => ({ id: params.id }),
  },
]);
