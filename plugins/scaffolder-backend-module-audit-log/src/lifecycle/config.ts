import { Config } from '@backstage/config';

/** Parsed `auditLog.scaffolder` configuration. @public */
export interface ScaffolderLifecycleConfig {
  /** Whether task-lifecycle records are produced (the task broker is decorated). */
  enabled: boolean;
  /** Longer strings in recorded parameters, step inputs and iteration values are cut; -1 disables. */
  parameterMaxLength: number;
}

/** Default for `auditLog.scaffolder.parameterMaxLength`, as upstream's own task auditor. */
export const DEFAULT_PARAMETER_MAX_LENGTH = 256;

/**
 * Reads `auditLog.scaffolder` once at start-up; a bad value fails start-up
 * with an error naming the full key.
 *
 * @public
 */
export function readScaffolderLifecycleConfig(
  config: Config,
): ScaffolderLifecycleConfig {
  const key = 'auditLog.scaffolder.parameterMaxLength';
  const max = config.getOptionalNumber(key) ?? DEFAULT_PARAMETER_MAX_LENGTH;
  if (!Number.isSafeInteger(max) || max < -1) {
    throw new Error(
      `Invalid config at ${key}: expected a non-negative integer or -1 (no limit), got ${max}`,
    );
  }
  // A disabled audit log records nothing: leave the scaffolder untouched then.
  const auditLogEnabled = config.getOptionalBoolean('auditLog.enabled') ?? true;
  const lifecycle =
    config.getOptionalBoolean('auditLog.scaffolder.taskLifecycle') ?? true;
  return { enabled: auditLogEnabled && lifecycle, parameterMaxLength: max };
}
