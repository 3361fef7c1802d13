import type { AuditEventInput } from '../../plugins/audit-log-node/src';

/**
 * The representative request of the micro-benchmark: a browser fetching one
 * catalog entity by name with a field selection, as the entity page does.
 * Its completion record is ~1.1 KB of JSON.
 */
export const ACTOR_ID = 'user:default/alice.johnson';
export const CLIENT_IP = '::ffff:10.128.4.17';
export const USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
export const FIELDS =
  'kind,metadata.name,metadata.namespace,metadata.title,metadata.description,metadata.annotations,metadata.tags,spec.type,spec.lifecycle,spec.owner,spec.system,relations';
export const PARAMS = {
  kind: 'component',
  namespace: 'default',
  name: 'payments-service-0042',
};
export const ENTITY_REF = 'component:default/payments-service-0042';
export const BASE_URL = '/api/catalog';
export const PATH = '/entities/by-name/component/default/payments-service-0042';
export const ORIGINAL_URL = `${BASE_URL}${PATH}?fields=${FIELDS}`;
export const QUERY = { fields: FIELDS };
/** What the catalog answers (by reference only: the by-name row records no response body). */
export const RESPONSE_BODY = JSON.stringify({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: PARAMS.name, namespace: 'default' },
  spec: {
    type: 'service',
    lifecycle: 'production',
    owner: 'group:default/payments',
  },
});

/** The fixture request's completion, as the capture hands it to `emit()`. */
export function fixtureCompletionEvent(): AuditEventInput {
  return {
    plugin: 'catalog',
    eventName: 'CatalogEntityFetchByName',
    stage: 'completion',
    status: 'succeeded',
    actor: {
      actorId: ACTOR_ID,
      ip: CLIENT_IP,
      hostname: CLIENT_IP,
      client: USER_AGENT,
    },
    meta: { entityRef: ENTITY_REF },
    request: { method: 'GET', url: ORIGINAL_URL, query: QUERY, params: PARAMS },
    response: { status: 200 },
  };
}
