import { AuditRouteMatcher } from './AuditRouteMatcher';
import { AuditRoute, defineAuditRoutes } from './types';

function matcherFor(routes: AuditRoute[]): AuditRouteMatcher {
  return AuditRouteMatcher.create(defineAuditRoutes('test', routes));
}

describe('AuditRouteMatcher', () => {
  const routes: AuditRoute[] = [
    { method: 'GET', path: '/locations/:id', eventName: 'LocationFetch' },
    {
      method: 'GET',
      path: '/locations/by-entity/:kind/:namespace/:name',
      eventName: 'LocationFetchByEntity',
    },
    {
      method: 'GET',
      path: '/locations/by-query',
      eventName: 'LocationQuery',
    },
    { method: 'DELETE', path: '/locations/:id', eventName: 'LocationDelete' },
    {
      method: 'GET',
      path: '/entities/by-name/:kind/:namespace/:name',
      eventName: 'EntityFetchByName',
    },
    {
      method: 'GET',
      path: '/entities/by-uid/:uid',
      eventName: 'EntityFetchByUid',
    },
    { method: 'POST', path: '/v2/tasks', eventName: 'TaskCreate' },
    {
      method: 'POST',
      path: '/v2/tasks/:taskId/cancel',
      eventName: 'TaskCancel',
    },
  ];
  const matcher = matcherFor(routes);

  it('extracts named parameters', () => {
    const match = matcher.match(
      'GET',
      '/entities/by-name/component/default/my-service',
    );
    expect(match?.route.eventName).toBe('EntityFetchByName');
    expect(match?.params).toEqual({
      kind: 'component',
      namespace: 'default',
      name: 'my-service',
    });
    expect(match?.route).toBe(routes[4]);
  });

  it('decodes parameters', () => {
    const match = matcher.match('GET', '/locations/url%3Ahttps%2F%2Fx%2Fy');
    expect(match?.route.eventName).toBe('LocationFetch');
    expect(match?.params).toEqual({ id: 'url:https//x/y' });
    expect(matcher.match('GET', '/entities/by-uid/a%2Fb%20c')?.params.uid).toBe(
      'a/b c',
    );
  });

  it('keeps a malformed encoding raw instead of failing', () => {
    expect(matcher.match('GET', '/entities/by-uid/%E0%A4%A')?.params).toEqual({
      uid: '%E0%A4%A',
    });
  });

  it('ignores a trailing slash', () => {
    expect(matcher.match('GET', '/locations/abc/')?.params).toEqual({
      id: 'abc',
    });
    expect(matcher.match('POST', '/v2/tasks/')?.route.eventName).toBe(
      'TaskCreate',
    );
  });

  it('matches static segments case-insensitively and keeps param case', () => {
    const match = matcher.match('GET', '/Entities/BY-NAME/Component/Default/X');
    expect(match?.route.eventName).toBe('EntityFetchByName');
    expect(match?.params).toEqual({
      kind: 'Component',
      namespace: 'Default',
      name: 'X',
    });
  });

  it('prefers the most specific row', () => {
    expect(
      matcher.match('GET', '/locations/by-entity/component/default/svc'),
    ).toEqual({
      route: routes[1],
      params: { kind: 'component', namespace: 'default', name: 'svc' },
    });
    expect(matcher.match('GET', '/locations/by-query')).toEqual({
      route: routes[2],
      params: {},
    });
    expect(matcher.match('GET', '/locations/some-id')).toEqual({
      route: routes[0],
      params: { id: 'some-id' },
    });
  });

  it('prefers a static segment over a param whatever the declaration order', () => {
    const paramFirst: AuditRoute[] = [
      { method: 'GET', path: '/a/:x/c', eventName: 'ParamThenStatic' },
      { method: 'GET', path: '/a/b/:y', eventName: 'StaticThenParam' },
      { method: 'GET', path: '/:p/:q/:r', eventName: 'AllParams' },
    ];
    for (const order of [paramFirst, [...paramFirst].reverse()]) {
      const m = matcherFor(order);
      expect(m.match('GET', '/a/b/c')?.route.eventName).toBe('StaticThenParam');
      expect(m.match('GET', '/a/z/c')?.route.eventName).toBe('ParamThenStatic');
      expect(m.match('GET', '/a/b/z')?.route.eventName).toBe('StaticThenParam');
      expect(m.match('GET', '/x/y/z')?.route.eventName).toBe('AllParams');
    }
  });

  it('distinguishes methods', () => {
    expect(matcher.match('DELETE', '/locations/abc')?.route.eventName).toBe(
      'LocationDelete',
    );
    expect(matcher.match('GET', '/locations/abc')?.route.eventName).toBe(
      'LocationFetch',
    );
    expect(matcher.match('PUT', '/locations/abc')).toBeUndefined();
    expect(matcher.match('GET', '/v2/tasks')).toBeUndefined();
  });

  it('returns undefined when nothing matches', () => {
    expect(matcher.match('GET', '/unknown')).toBeUndefined();
    expect(matcher.match('GET', '/locations')).toBeUndefined();
    expect(matcher.match('GET', '/locations/a/b')).toBeUndefined();
    expect(matcher.match('POST', '/v2/tasks/abc/retry')).toBeUndefined();
    expect(matcher.match('GET', '/')).toBeUndefined();
  });

  it('matches a root route', () => {
    const m = matcherFor([{ method: 'GET', path: '/', eventName: 'Root' }]);
    expect(m.match('GET', '/')?.route.eventName).toBe('Root');
    expect(m.match('GET', '/x')).toBeUndefined();
  });
});

describe('defineAuditRoutes', () => {
  it('returns the table', () => {
    const routes: AuditRoute[] = [
      { method: 'GET', path: '/a', eventName: 'A' },
      { method: 'POST', path: '/a', eventName: 'B' },
    ];
    expect(defineAuditRoutes('p', routes)).toEqual({ pluginId: 'p', routes });
  });

  it('rejects a duplicate method and path', () => {
    expect(() =>
      defineAuditRoutes('p', [
        { method: 'GET', path: '/a/:id', eventName: 'A' },
        { method: 'GET', path: '/a/:id', eventName: 'B' },
      ]),
    ).toThrow(/GET \/a\/:id.*listed twice/);
  });

  it('rejects a path that does not start with a slash', () => {
    expect(() =>
      defineAuditRoutes('p', [
        { method: 'GET', path: 'entities', eventName: 'EntityList' },
      ]),
    ).toThrow(/EntityList.*'entities' must start with '\/'/);
  });
});
