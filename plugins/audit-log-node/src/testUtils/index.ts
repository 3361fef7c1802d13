/**
 * Test utilities for plugin authors (`@backstage-audit/plugin-audit-log-node/testUtils`).
 *
 * Placeholder: the subpath is declared in package.json (`exports`,
 * `typesVersions`) and the build needs an entry file; the mock audit log
 * service factory lands here.
 *
 * @packageDocumentation
 */
export {};
