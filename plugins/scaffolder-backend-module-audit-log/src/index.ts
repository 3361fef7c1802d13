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
