import type { Config } from '@backstage/config';

/** `scaffolder.defaultEnvironment`, which templates see as `environment`. @public */
export interface DefaultEnvironment {
  parameters: Record<string, string>;
  /** Values only scrub records; templates are rendered with their names masked. */
  secrets: Record<string, string>;
}

/** Reads `scaffolder.defaultEnvironment` as upstream's runner does. */
export function readDefaultEnvironment(config: Config): DefaultEnvironment {
  const env = config.getOptionalConfig('scaffolder.defaultEnvironment');
  const read = (key: string) => {
    const section = env?.getOptionalConfig(key);
    const out: Record<string, string> = {};
    for (const name of section?.keys() ?? []) {
      out[name] = section!.getString(name);
    }
    return out;
  };
  return { parameters: read('parameters'), secrets: read('secrets') };
}
