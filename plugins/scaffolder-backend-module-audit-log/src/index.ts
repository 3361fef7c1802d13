/**
 * The scaffolder's audit route table, and the module that registers it and
 * records the scaffolder's task lifecycle.
 *
 * @packageDocumentation
 */
export {
  scaffolderModuleAuditLog as default,
  scaffolderAuditRouteTableServiceFactory,
  scaffolderTaskLifecycleAuditModule,
} from './module';
export { scaffolderAuditRoutes } from './scaffolderAuditRoutes';
export { ScaffolderLifecycleEvents } from './lifecycle/eventNames';
export {
  readScaffolderLifecycleConfig,
  DEFAULT_PARAMETER_MAX_LENGTH,
} from './lifecycle/config';
export type { ScaffolderLifecycleConfig } from './lifecycle/config';
export { ScaffolderInternalsError } from './lifecycle/internals';
