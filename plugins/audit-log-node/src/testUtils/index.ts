/**
 * Test utilities for plugins that emit audit records, as Backstage ships
 * `mockServices`: an in-memory audit log and a recording sink type.
 *
 * @packageDocumentation
 */
export * from './mockAuditLog';
export * from './recordingSinkType';
