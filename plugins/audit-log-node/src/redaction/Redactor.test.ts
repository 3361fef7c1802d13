import { REDACTED } from '../record';
import {
  DEFAULT_REDACTED_QUERY_PARAMS,
  Redactor,
  TruncationMarker,
} from './Redactor';

type Json = Record<string, unknown>;

function isTruncationMarker(value: unknown): value is TruncationMarker {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Json).truncated === true &&
    typeof (value as Json).originalBytes === 'number' &&
    typeof (value as Json).preview === 'string'
  );
}

describe('Redactor', () => {
  const redactor = Redactor.create();

  describe('credential-like keys', () => {
    const sensitiveKeys = [
      'authorization',
      'Authorization',
      'authorizationToken',
      'password',
      'clientSecret',
      'x-api-key',
      'apiKey',
      'access_token',
      'cookie',
      'privateKey',
      'sessionId',
    ];

    it.each(sensitiveKeys)('redacts %s at the top level', key => {
      const value = `value-of-${key}`;
      const out = redactor.copy({ [key]: value, other: 'kept' }) as Json;
      expect(out).toEqual({ [key]: REDACTED, other: 'kept' });
      expect(JSON.stringify(out)).not.toContain(value);
    });

    it.each(sensitiveKeys)('redacts %s deep inside objects and arrays', key => {
      const value = `deep-${key}-value`;
      const input = {
        level1: { list: [{ level3: { [key]: value, name: 'n' } }] },
      };
      const out = redactor.copy(input) as {
        level1: { list: { level3: Json }[] };
      };
      expect(out.level1.list[0].level3).toEqual({
        [key]: REDACTED,
        name: 'n',
      });
      expect(JSON.stringify(out)).not.toContain(value);
    });

    it('reports sensitive keys through isSensitiveKey', () => {
      for (const key of sensitiveKeys) {
        expect(redactor.isSensitiveKey(key)).toBe(true);
      }
      for (const key of ['name', 'kind', 'namespace', 'description', 'id']) {
        expect(redactor.isSensitiveKey(key)).toBe(false);
      }
    });

    it('redacts non-string values under a sensitive key', () => {
      const out = redactor.copy({
        password: 12345,
        token: true,
        secret: null,
      }) as Json;
      expect(out).toEqual({
        password: REDACTED,
        token: REDACTED,
        secret: null,
      });
    });

    it('keeps the shape of a secrets object and redacts every leaf', () => {
      const input = {
        secrets: {
          githubToken: 'ghp_abc',
          plain: 'also-secret',
          nested: { deeper: 'x', count: 3, list: ['a', { b: 'c' }] },
        },
        name: 'my-template',
      };
      const out = redactor.copy(input) as Json;
      expect(out).toEqual({
        secrets: {
          githubToken: REDACTED,
          plain: REDACTED,
          nested: {
            deeper: REDACTED,
            count: REDACTED,
            list: [REDACTED, { b: REDACTED }],
          },
        },
        name: 'my-template',
      });
      const json = JSON.stringify(out);
      for (const leaked of ['ghp_abc', 'also-secret', '"x"', '"c"']) {
        expect(json).not.toContain(leaked);
      }
    });

    it('leaves non-sensitive keys and values untouched', () => {
      const input = {
        kind: 'Component',
        metadata: { name: 'svc', labels: { team: 'a' }, tags: ['x', 'y'] },
        count: 3,
        flag: false,
        nothing: null,
      };
      expect(redactor.copy(input)).toEqual(input);
    });

    it('does not mutate its input', () => {
      const input = { password: 'p', nested: { token: 't' } };
      const before = JSON.stringify(input);
      redactor.copy(input);
      expect(JSON.stringify(input)).toBe(before);
    });

    it('adds a custom keyPattern to the built-in rules, never replacing them', () => {
      const custom = Redactor.create({ keyPattern: '^ssn$' });
      const out = custom.copy({
        ssn: '123-45-6789',
        SSN: '987',
        password: 'still covered',
        ssnSuffix: 'kept',
      }) as Json;
      expect(out).toEqual({
        ssn: REDACTED,
        SSN: REDACTED,
        password: REDACTED,
        ssnSuffix: 'kept',
      });
    });

    it('supports extra exact keys, case-insensitively, besides the pattern', () => {
      const custom = Redactor.create({ keys: ['Employee-Number'] });
      const out = custom.copy({
        'employee-number': '42',
        'EMPLOYEE-NUMBER': '43',
        'employee-numbers': 'kept (not an exact match)',
        password: 'still redacted by the default pattern',
      } as Json) as Json;
      expect(out).toEqual({
        'employee-number': REDACTED,
        'EMPLOYEE-NUMBER': REDACTED,
        'employee-numbers': 'kept (not an exact match)',
        password: REDACTED,
      });
    });

    it('exports the default query params', () => {
      expect(DEFAULT_REDACTED_QUERY_PARAMS).toEqual(
        expect.arrayContaining(['token', 'access_token', 'api_key']),
      );
    });
  });

  describe('secretValues', () => {
    it('scrubs a secret embedded anywhere in any string', () => {
      const out = redactor.copy(
        {
          message: 'deploy with KEY-123 now',
          list: ['KEY-123', 'prefixKEY-123suffix'],
          nested: { text: 'a KEY-123 b KEY-123 c' },
        },
        { secretValues: ['KEY-123'] },
      );
      expect(out).toEqual({
        message: `deploy with ${REDACTED} now`,
        list: [REDACTED, `prefix${REDACTED}suffix`],
        nested: { text: `a ${REDACTED} b ${REDACTED} c` },
      });
    });

    it('removes the longest secret whole when one contains another', () => {
      const out = redactor.copy('x abc-long-secret y abc z', {
        secretValues: ['abc', 'abc-long-secret'],
      });
      expect(out).toBe(`x ${REDACTED} y ${REDACTED} z`);
      expect(out).not.toContain('long-secret');
    });

    it('treats regular expression characters in secrets literally', () => {
      const out = redactor.copy('a.b+c a-b+c (x)', {
        secretValues: ['a.b+c', '(x)'],
      });
      expect(out).toBe(`${REDACTED} a-b+c ${REDACTED}`);
    });

    it('accepts any iterable and ignores empty values', () => {
      const out = redactor.copy('one two three', {
        secretValues: new Set(['two', '']),
      });
      expect(out).toBe(`one ${REDACTED} three`);
    });

    it('scrubs secrets before long strings are cut', () => {
      const short = Redactor.create({ maxStringLength: 10 });
      const out = short.copy('0123456SECRETVALUEtail', {
        secretValues: ['SECRETVALUE'],
      }) as string;
      expect(out).not.toContain('SEC');
      expect(out).toContain('[truncated 4 chars]');
      expect(out.startsWith(`0123456${REDACTED}`)).toBe(true);
    });
  });

  describe('text() memo of clean strings', () => {
    it('gives a warm redactor the same answers as a fresh one, credentials included, past the memo bound', () => {
      let seed = 7;
      const rand = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed % n;
      };
      const jwt =
        'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlX3ZhbHVl';
      const risky = [
        `Bearer ${jwt}`,
        'GET /x?token=abc123secret&x=1',
        '{"password":"hunter2-secret"}',
        'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
        'postgres://app:s3cretpass@db.internal/app',
        jwt,
      ];
      const corpus: string[] = [];
      for (let i = 0; i < 6000; i++) {
        const clean = `/api/catalog/entities/by-name/component/default/c-${rand(9000)}`;
        corpus.push(
          rand(4) === 0 ? `${clean} ${risky[rand(risky.length)]}` : clean,
        );
      }
      const warm = Redactor.create();
      for (let pass = 0; pass < 3; pass++) {
        for (let i = 0; i < 2000; i++) {
          const s = corpus[rand(corpus.length)];
          expect(warm.text(s)).toBe(Redactor.create().text(s));
        }
      }
      for (const s of risky) {
        for (let i = 0; i < 3; i++) {
          expect(warm.text(s)).not.toBe(s);
          expect(warm.text(s)).toContain(REDACTED);
        }
      }
    });
  });

  describe('url()', () => {
    it('redacts token but keeps other parameters', () => {
      expect(redactor.url('/x?token=abc&y=1')).toBe(`/x?token=${REDACTED}&y=1`);
    });

    it('redacts access_token and api_key', () => {
      expect(redactor.url('/x?a=1&access_token=s3cr3t')).toBe(
        `/x?a=1&access_token=${REDACTED}`,
      );
      expect(redactor.url('/x?api_key=k&b=2#frag')).toBe(
        `/x?api_key=${REDACTED}&b=2#frag`,
      );
    });

    it('redacts parameters whose names match the key pattern', () => {
      expect(redactor.url('/cb?code=1&client_secret=abc')).toBe(
        `/cb?code=1&client_secret=${REDACTED}`,
      );
    });

    it('decodes parameter names before matching them', () => {
      expect(redactor.url('/x?%74oken=abc&y=1')).toBe(
        `/x?%74oken=${REDACTED}&y=1`,
      );
      expect(redactor.url('/x?API%5FKEY=abc')).toBe(`/x?API%5FKEY=${REDACTED}`);
    });

    it('is not fooled by malformed percent-encoding', () => {
      expect(redactor.url('/x?%E0%A4%A=1&token=abc')).toBe(
        `/x?%E0%A4%A=1&token=${REDACTED}`,
      );
    });

    it('honours a custom queryParams option', () => {
      const custom = Redactor.create({ queryParams: ['sig'] });
      expect(custom.url('/x?sig=abc&token=def&page=2')).toBe(
        `/x?sig=${REDACTED}&token=${REDACTED}&page=2`,
      );
      expect(custom.url('/x?code=abc')).toBe('/x?code=abc');
    });

    it('returns the very same string when there is no "="', () => {
      const input = `/entities/by-name/component/default/${'x'.repeat(3)}`;
      expect(redactor.url(input)).toBe(input);
    });

    it('leaves urls without sensitive parameters unchanged', () => {
      expect(redactor.url('/x?filter=kind=component&limit=5')).toBe(
        '/x?filter=kind=component&limit=5',
      );
    });

    it('redacts urls found inside copied strings', () => {
      expect(redactor.copy({ location: 'https://h/p?token=abc&y=1' })).toEqual({
        location: `https://h/p?token=${REDACTED}&y=1`,
      });
    });

    it('matches the regular-expression definition on random strings', () => {
      // The definition url() implements with a character scan.
      const reference = (r: Redactor, url: string) =>
        url.indexOf('=') === -1
          ? url
          : url.replace(
              /([?&;])([^=&#;\s]+)=([^&#;\s]*)/g,
              (whole, sep: string, name: string, value: string) => {
                if (value === REDACTED || value === '') {
                  return whole;
                }
                let decoded = name;
                try {
                  decoded = decodeURIComponent(name.replace(/\+/g, ' '));
                } catch {
                  // keep the raw name
                }
                return r.isSensitiveQueryParam(decoded)
                  ? `${sep}${name}=${REDACTED}`
                  : whole;
              },
            );
      const pieces = [
        '?',
        '&',
        ';',
        '=',
        '#',
        ' ',
        '\t',
        '\n',
        '\u00a0',
        '\u2028',
        '\ufeff',
        '\u3000',
        '+',
        '%',
        '%74',
        '%E0%A4%A',
        'token',
        'TOKEN',
        'api_key',
        'x-api-key',
        'password',
        'page',
        'a',
        'b',
        '*',
        '***',
        '/x',
        'é',
        '\ud83d\ude00',
      ];
      let seed = 42;
      const random = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed % n;
      };
      const custom = Redactor.create({ queryParams: ['sig', 'a'] });
      for (let i = 0; i < 20000; i++) {
        let input = '';
        const length = 1 + random(14);
        for (let j = 0; j < length; j++) {
          input += pieces[random(pieces.length)];
        }
        for (const r of [redactor, custom]) {
          expect([input, r.url(input)]).toEqual([input, reference(r, input)]);
        }
      }
    });
  });

  describe('query()', () => {
    it('redacts sensitive parameters including array values', () => {
      const out = redactor.query({
        token: ['a', 'b'],
        access_token: 'c',
        filter: ['kind=component', 'spec.type=service'],
        limit: '10',
      });
      expect(out).toEqual({
        token: [REDACTED, REDACTED],
        access_token: REDACTED,
        filter: ['kind=component', 'spec.type=service'],
        limit: '10',
      });
    });

    it('redacts nested objects under sensitive parameters', () => {
      expect(redactor.query({ api_key: { a: 'x', b: ['y'] } })).toEqual({
        api_key: { a: REDACTED, b: [REDACTED] },
      });
    });

    it('scrubs secret values from non-sensitive parameters', () => {
      expect(
        redactor.query({ q: 'find KEY-1 please' }, { secretValues: ['KEY-1'] }),
      ).toEqual({ q: `find ${REDACTED} please` });
    });

    it('returns undefined for empty or non-object input', () => {
      expect(redactor.query({})).toBeUndefined();
      expect(redactor.query(undefined)).toBeUndefined();
      expect(redactor.query('token=abc')).toBeUndefined();
    });
  });

  describe('copy() robustness', () => {
    it('marks circular references', () => {
      const a: Json = { name: 'a' };
      a.self = a;
      a.children = [a];
      const out = redactor.copy(a) as Json;
      expect(out).toEqual({
        name: 'a',
        self: '[Circular]',
        children: ['[Circular]'],
      });
    });

    it('copies a shared but non-circular object every time it appears', () => {
      const shared = { id: 1, label: 'shared' };
      const out = redactor.copy({ a: shared, b: shared, list: [shared] });
      expect(out).toEqual({ a: shared, b: shared, list: [shared] });
      expect((out as Json).a).not.toBe(shared);
    });

    it('truncates values nested deeper than maxDepth', () => {
      const shallow = Redactor.create({ maxDepth: 2 });
      const out = shallow.copy({ a: { b: { c: 1 } }, n: 1, s: { v: 'x' } });
      expect(out).toEqual({
        a: { b: '[Truncated: too deep]' },
        n: 1,
        s: { v: 'x' },
      });
    });

    it('truncates deep nesting with the default maxDepth', () => {
      let deep: Json = { leaf: 'bottom' };
      for (let i = 0; i < 50; i++) {
        deep = { child: deep };
      }
      const json = JSON.stringify(redactor.copy(deep));
      expect(json).toContain('[Truncated: too deep]');
      expect(json).not.toContain('bottom');
    });

    it('replaces values beyond maxNodes by a marker', () => {
      const small = Redactor.create({ maxNodes: 5 });
      const input = Array.from({ length: 10 }, (_, i) => i);
      const out = small.copy(input) as unknown[];
      expect(out).toHaveLength(10);
      // The array itself is one value, so four elements fit.
      expect(out.slice(0, 4)).toEqual([0, 1, 2, 3]);
      expect(out.slice(4)).toEqual(
        Array(6).fill('[Truncated: too many values]'),
      );
    });

    it('replaces a throwing getter by "[Unreadable]"', () => {
      const input: Json = { ok: 1 };
      Object.defineProperty(input, 'bad', {
        enumerable: true,
        get() {
          throw new Error('boom');
        },
      });
      expect(() => redactor.copy(input)).not.toThrow();
      expect(redactor.copy(input)).toEqual({ ok: 1, bad: '[Unreadable]' });
    });

    it('replaces a throwing array element getter by "[Unreadable]"', () => {
      const input: unknown[] = ['a', 'b'];
      Object.defineProperty(input, 1, {
        enumerable: true,
        get() {
          throw new Error('boom');
        },
      });
      expect(redactor.copy(input)).toEqual(['a', '[Unreadable]']);
      const redacted = redactor.copy({ secrets: input });
      expect(JSON.parse(JSON.stringify(redacted))).toEqual({
        secrets: [REDACTED, null],
      });
    });

    it('does not expose a throwing getter under a sensitive key', () => {
      const secrets: Json = {};
      Object.defineProperty(secrets, 'x', {
        enumerable: true,
        get() {
          throw new Error('boom');
        },
      });
      expect(() => redactor.copy({ secrets })).not.toThrow();
    });

    it('converts exotic values to JSON-safe ones', () => {
      const date = new Date('2024-05-06T07:08:09.010Z');
      const out = redactor.copy({
        big: BigInt('12345678901234567890'),
        date,
        invalidDate: new Date('nope'),
        buf: Buffer.from('hello'),
        typed: new Uint16Array(4),
        fn: () => 1,
        sym: Symbol('s'),
        undef: undefined,
        nan: NaN,
        inf: Infinity,
        negInf: -Infinity,
        list: [() => 1, Symbol('t'), 1],
        map: new Map([[1, 2]]),
        set: new Set([1, 2, 3]),
        err: new TypeError('bad input'),
      }) as Json;
      expect(out).toEqual({
        big: '12345678901234567890',
        date: '2024-05-06T07:08:09.010Z',
        invalidDate: null,
        buf: '[Binary 5 bytes]',
        typed: '[Binary 8 bytes]',
        nan: 'NaN',
        inf: 'Infinity',
        negInf: '-Infinity',
        list: [null, null, 1],
        map: '[Map size=1]',
        set: '[Set size=3]',
        err: { name: 'TypeError', message: 'bad input' },
      });
      for (const dropped of ['fn', 'sym', 'undef']) {
        expect(Object.prototype.hasOwnProperty.call(out, dropped)).toBe(false);
      }
      expect(() => JSON.stringify(out)).not.toThrow();
    });

    it('cuts long strings with a marker that says how much was cut', () => {
      const short = Redactor.create({ maxStringLength: 10 });
      const out = short.copy('z'.repeat(25)) as string;
      expect(out.startsWith('z'.repeat(10))).toBe(true);
      expect(out.slice(10)).not.toContain('z');
      expect(out).toContain('[truncated 15 chars]');
      expect(short.copy('b'.repeat(10))).toBe('b'.repeat(10));
    });

    it('never throws on hostile input', () => {
      const hostile: Json = { big: BigInt(1) };
      hostile.self = hostile;
      Object.defineProperty(hostile, 'getter', {
        enumerable: true,
        get() {
          throw new Error('x');
        },
      });
      let out: unknown;
      expect(() => {
        out = redactor.copy(hostile, { maxBytes: 10 });
      }).not.toThrow();
      expect(() => JSON.stringify(out)).not.toThrow();
    });
  });

  describe('maxBytes', () => {
    it('returns a copy under the cap as-is', () => {
      const input = { name: 'small', list: [1, 2, 3] };
      const out = redactor.copy(input, { maxBytes: 1000 });
      expect(out).toEqual(input);
    });

    it('replaces a larger copy by a truncation marker', () => {
      const input = { password: 'hunter2-canary', data: 'x'.repeat(5000) };
      const exact = Buffer.byteLength(JSON.stringify(redactor.copy(input)));
      const out = redactor.copy(input, { maxBytes: 100 });
      expect(isTruncationMarker(out)).toBe(true);
      const marker = out as TruncationMarker;
      expect(marker.originalBytes).toBe(exact);
      expect(marker.originalBytes).toBeGreaterThan(100);
      expect(marker.preview.length).toBeLessThanOrEqual(100);
      expect(marker.preview.length).toBeGreaterThan(0);
      expect(marker.preview).toContain(`"password":"${REDACTED}"`);
      expect(marker.preview).not.toContain('hunter2-canary');
    });

    it('keeps redacted secrets out of the preview', () => {
      const out = redactor.copy(
        {
          note: 'the value CANARY-SECRET-42 is here',
          secrets: { token: 'CANARY-SECRET-42' },
          padding: 'p'.repeat(2000),
        },
        { maxBytes: 200, secretValues: ['CANARY-SECRET-42'] },
      ) as TruncationMarker;
      expect(out.truncated).toBe(true);
      expect(out.preview.length).toBeLessThanOrEqual(200);
      expect(out.preview).toContain(REDACTED);
      expect(out.preview).not.toContain('CANARY');
    });

    it('is exact at the boundary', () => {
      const input = { v: 'y'.repeat(50) };
      const size = Buffer.byteLength(JSON.stringify(input));
      expect(redactor.copy(input, { maxBytes: size })).toEqual(input);
      expect(
        isTruncationMarker(redactor.copy(input, { maxBytes: size - 1 })),
      ).toBe(true);
    });

    it.each<[string, unknown]>([
      ['many dates', { d: Array.from({ length: 50 }, () => new Date(0)) }],
      ['a large secrets array', { secrets: Array(200).fill('x') }],
      ['multi-byte characters', { v: '€'.repeat(100) }],
      ['characters JSON escapes', { v: '"'.repeat(100) }],
      [
        'binary values',
        { b: Array.from({ length: 20 }, () => Buffer.alloc(1)) },
      ],
    ])('caps the serialized size for %s', (_name, input) => {
      const max = 120;
      const full = redactor.copy(input);
      expect(Buffer.byteLength(JSON.stringify(full))).toBeGreaterThan(max);
      const out = redactor.copy(input, { maxBytes: max });
      expect(isTruncationMarker(out)).toBe(true);
      expect((out as TruncationMarker).originalBytes).toBe(
        Buffer.byteLength(JSON.stringify(full)),
      );
      expect((out as TruncationMarker).preview.length).toBeLessThanOrEqual(max);
    });
  });
});
