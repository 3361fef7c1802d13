/**
 * The catalog's audit route table and the module that registers it.
 *
 * @packageDocumentation
 */
export { catalogModuleAuditLog as default } from './module';
export { catalogAuditRoutes } from './catalogAuditRoutes';
