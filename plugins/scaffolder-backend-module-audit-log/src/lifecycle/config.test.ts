import { ConfigReader } from '@backstage/config';
import { readScaffolderLifecycleConfig } from './config';

const read = (data: object) =>
  readScaffolderLifecycleConfig(new ConfigReader(data));

describe('readScaffolderLifecycleConfig', () => {
  it('is enabled with a 256-character cap by default', () => {
    expect(read({})).toEqual({ enabled: true, parameterMaxLength: 256 });
  });

  it('reads the cap and the switch', () => {
    expect(
      read({
        auditLog: {
          scaffolder: { parameterMaxLength: -1, taskLifecycle: false },
        },
      }),
    ).toEqual({ enabled: false, parameterMaxLength: -1 });
  });

  it('stays off when the whole audit log is disabled', () => {
    expect(read({ auditLog: { enabled: false } }).enabled).toBe(false);
  });

  it.each([-2, 1.5])('rejects parameterMaxLength %p naming the key', value => {
    expect(() =>
      read({ auditLog: { scaffolder: { parameterMaxLength: value } } }),
    ).toThrow(
      `Invalid config at auditLog.scaffolder.parameterMaxLength: expected a non-negative integer or -1 (no limit), got ${value}`,
    );
  });
});
