import { compilePathPrefixes } from './requestFilter';

describe('compilePathPrefixes', () => {
  it('never matches with an empty list', () => {
    const test = compilePathPrefixes([]);
    for (const path of ['', '/', '/api/catalog/entities', '.*']) {
      expect(test(path)).toBe(false);
    }
  });

  it('matches paths the pattern is a prefix of, anchored at the start', () => {
    const test = compilePathPrefixes(['/healthcheck']);
    expect(test('/healthcheck')).toBe(true);
    expect(test('/healthcheck/deep')).toBe(true);
    expect(test('/healthcheckz')).toBe(true);
    expect(test('/api/healthcheck')).toBe(false);
    expect(test('/health')).toBe(false);
  });

  it('lets * match within exactly one segment', () => {
    const test = compilePathPrefixes(['/api/*/.backstage/']);
    expect(test('/api/catalog/.backstage/health/v1/readiness')).toBe(true);
    expect(test('/api/scaffolder/.backstage/')).toBe(true);
    expect(test('/api//.backstage/')).toBe(true);
    expect(test('/api/a/b/.backstage/')).toBe(false);
    expect(test('/api/catalog/entities')).toBe(false);
    expect(test('/api/catalog/.backstage')).toBe(false);
  });

  it('lets * stand for part of a segment', () => {
    const test = compilePathPrefixes(['/api/cat*/x']);
    expect(test('/api/catalog/x')).toBe(true);
    expect(test('/api/cat/x')).toBe(true);
    expect(test('/api/dog/x')).toBe(false);
    expect(test('/api/cat/a/x')).toBe(false);
  });

  it('lets ** match across segments', () => {
    const test = compilePathPrefixes(['/api/**/metrics']);
    expect(test('/api/a/metrics')).toBe(true);
    expect(test('/api/a/b/c/metrics')).toBe(true);
    expect(test('/api/a/b/c/metrics/extra')).toBe(true);
    expect(test('/api/a/b/c/other')).toBe(false);
    expect(test('/other/a/metrics')).toBe(false);
  });

  it('escapes regular expression characters in patterns', () => {
    const test = compilePathPrefixes(['/api/v1.0/(x)+[y]?$^{z}|w\\']);
    expect(test('/api/v1.0/(x)+[y]?$^{z}|w\\')).toBe(true);
    expect(test('/api/v1x0/(x)+[y]?$^{z}|w\\')).toBe(false);
    expect(test('/api/v1.0/xx')).toBe(false);
    expect(test('w\\')).toBe(false);
  });

  it('does not let a dot match any character', () => {
    const test = compilePathPrefixes(['/api/*/.backstage/']);
    expect(test('/api/catalog/xbackstage/')).toBe(false);
  });

  it('matches when any of several patterns matches', () => {
    const test = compilePathPrefixes(['/a/', '/b/*/c']);
    expect(test('/a/1')).toBe(true);
    expect(test('/b/x/c/d')).toBe(true);
    expect(test('/c')).toBe(false);
    expect(test('/b/x/y/c')).toBe(false);
  });
});
