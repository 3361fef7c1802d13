import { createPermission } from '@backstage/plugin-permission-common';

/**
 * Reading the audit trail. Grant it to auditors only: every query is itself
 * audited, allowed or not.
 *
 * @public
 */
export const auditLogEventsReadPermission = createPermission({
  name: 'audit-log.events.read',
  attributes: { action: 'read' },
});

/** @public */
export const auditLogPermissions = [auditLogEventsReadPermission];
