import { createHash, randomBytes } from 'node:crypto';
import type { Request } from 'express';
import { tokenFingerprint } from './tokenFingerprint';

const request = (authorization?: string) =>
  ({
    headers: authorization === undefined ? {} : { authorization },
  }) as Request;

describe('tokenFingerprint', () => {
  it('is sha256: and the first 16 hex digits of the SHA-256 of the bearer token', () => {
    for (let i = 0; i < 200; i++) {
      const token = randomBytes(1 + (i % 700)).toString('base64url');
      const expected = createHash('sha256').update(token).digest('hex');
      expect(tokenFingerprint(request(`Bearer ${token}`))).toBe(
        `sha256:${expected.slice(0, 16)}`,
      );
      expect(tokenFingerprint(request(`bearer  ${token}`))).toBe(
        `sha256:${expected.slice(0, 16)}`,
      );
    }
  });

  it('hashes non-ASCII tokens as UTF-8, as createHash does', () => {
    const token = 'tökén-✓';
    expect(tokenFingerprint(request(`Bearer ${token}`))).toBe(
      `sha256:${createHash('sha256').update(token).digest('hex').slice(0, 16)}`,
    );
  });

  it('gives nothing without a bearer token', () => {
    expect(tokenFingerprint(request())).toBeUndefined();
    expect(tokenFingerprint(request('Basic dXNlcjpwYXNz'))).toBeUndefined();
    expect(tokenFingerprint(request('Bearer'))).toBeUndefined();
  });
});
