import {
  HttpAuthService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { NotAllowedError, NotFoundError } from '@backstage/errors';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import express, { Request } from 'express';
import Router from 'express-promise-router';
import { AuditStore, StoredAuditRecord } from '../database/AuditStore';
import { auditLogEventsReadPermission } from '../permissions';
import { encodeCursor, parseEventsQuery } from './parseEventsQuery';

/** @public */
export interface AuditLogRouterOptions {
  store: AuditStore;
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
  /**
   * Called before each read: delivers the records still queued for the store
   * (bounded), so a query sees the records of requests answered before it.
   */
  settle?: () => Promise<void>;
}

/**
 * The stored record with its row id in front. Built from the stored JSON
 * without parsing it: the row id is a UUID, so the concatenation is valid JSON.
 */
function itemJson(row: StoredAuditRecord): string {
  return `{"id":"${row.id}",${row.json.slice(1)}`;
}

/**
 * The query API of the audit trail. Every request needs
 * `audit-log.events.read`; the audit log records each one (allowed or denied)
 * through the same HTTP capture as any audited plugin.
 *
 * @public
 */
export function createRouter(options: AuditLogRouterOptions): express.Router {
  const { store, httpAuth, permissions } = options;
  const settle = options.settle ?? (async () => {});
  const router = Router();

  async function authorize(req: Request): Promise<void> {
    const credentials = await httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    const [decision] = await permissions.authorize(
      [{ permission: auditLogEventsReadPermission }],
      { credentials },
    );
    if (decision.result !== AuthorizeResult.ALLOW) {
      throw new NotAllowedError(
        `Reading the audit trail needs the ${auditLogEventsReadPermission.name} permission`,
      );
    }
  }

  router.get('/events', async (req, res) => {
    await authorize(req);
    const query = parseEventsQuery(req.query as Record<string, unknown>);
    await settle();
    const page = await store.query(query);
    const next = page.next ? `"${encodeCursor(page.next)}"` : 'null';
    res
      .type('application/json')
      .send(
        `{"items":[${page.items.map(itemJson).join(',')}],"nextCursor":${next}}`,
      );
  });

  router.get('/events/:id', async (req, res) => {
    await authorize(req);
    await settle();
    const row = await store.get(req.params.id);
    if (!row) {
      throw new NotFoundError(`No audit record with id '${req.params.id}'`);
    }
    res.type('application/json').send(itemJson(row));
  });

  return router;
}
