/**
 * Compiles `auditLog.ignore.paths` prefixes into one test. `*` matches within
 * one path segment, `**` across segments; a pattern matches a path it is a
 * prefix of.
 */
export function compilePathPrefixes(
  patterns: string[],
): (path: string) => boolean {
  if (patterns.length === 0) {
    return () => false;
  }
  const sources = patterns.map(p =>
    p
      .split(/(\*\*|\*)/)
      .map(part => {
        if (part === '**') return '.*';
        if (part === '*') return '[^/]*';
        return part.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
      })
      .join(''),
  );
  const re = new RegExp(`^(?:${sources.join('|')})`);
  return path => re.test(path);
}
