/**
 * The scaffolder's audit route table and the module that registers it.
 *
 * @packageDocumentation
 */
export { scaffolderModuleAuditLog as default } from './module';
export { scaffolderAuditRoutes } from './scaffolderAuditRoutes';
