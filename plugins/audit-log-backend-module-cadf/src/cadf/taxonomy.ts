/**
 * The CADF vocabularies pycadf validates against (`pycadf.cadftaxonomy`,
 * DMTF DSP0262). Kept as data so config values can be checked at start-up:
 * pycadf rejects an event with an action or typeURI outside them.
 */

/** `typeURI` of every CADF event. @public */
export const CADF_EVENT_TYPE_URI =
  'http://schemas.dmtf.org/cloud/audit/1.0/event';

/** Top-level actions; `<action>/<refinement>` refines one of them. @public */
export const CADF_ACTIONS: readonly string[] = [
  'backup',
  'capture',
  'create',
  'configure',
  'read',
  'read/list',
  'update',
  'delete',
  'monitor',
  'start',
  'stop',
  'deploy',
  'undeploy',
  'enable',
  'disable',
  'send',
  'receive',
  'authenticate',
  'authenticate/login',
  'revoke',
  'renew',
  'restore',
  'evaluate',
  'allow',
  'deny',
  'notify',
  'unknown',
];

/** Outcomes. @public */
export type CadfOutcome = 'success' | 'failure' | 'pending' | 'unknown';

/** Roots of the resource taxonomy; a typeURI extends one of them with `/...`. @public */
export const CADF_RESOURCE_ROOTS: readonly string[] = [
  'storage',
  'compute',
  'network',
  'service',
  'data',
  'unknown',
];

function extendsOneOf(value: string, roots: readonly string[]): boolean {
  return roots.some(root => value === root || value.startsWith(`${root}/`));
}

/**
 * Whether `value` is a CADF action: one of {@link CADF_ACTIONS}, or one of
 * them refined with `/<word>` (`update/refresh`). Stricter than pycadf, which
 * accepts any string that merely starts with an action (`readme`).
 *
 * @public
 */
export function isCadfAction(value: string): boolean {
  return /^[a-z][a-z0-9/_-]*$/.test(value) && extendsOneOf(value, CADF_ACTIONS);
}

/** Whether `value` is a resource typeURI of the CADF taxonomy (`service/catalog/entity`). @public */
export function isCadfResourceType(value: string): boolean {
  return (
    /^[A-Za-z0-9][A-Za-z0-9/._-]*$/.test(value) &&
    !value.endsWith('/') &&
    extendsOneOf(value, CADF_RESOURCE_ROOTS)
  );
}
