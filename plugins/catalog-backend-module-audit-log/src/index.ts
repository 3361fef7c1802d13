/**
 * The catalog's audit route table, and the feature that registers it.
 *
 * @packageDocumentation
 */
export {
  catalogModuleAuditLog as default,
  catalogAuditRouteTableServiceFactory,
} from './module';
export { catalogAuditRoutes } from './catalogAuditRoutes';
