import { createHash } from 'node:crypto';
import type { Request } from 'express';

/**
 * `sha256:` and 16 hex digits of the SHA-256 of the bearer token a request
 * presents, or undefined without one. Tells sessions apart without keeping
 * any part of the token: pycadf's masking, by contrast, keeps up to 32
 * characters at each end, which for a JWT is much of its signature.
 */
export function tokenFingerprint(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string' || header.length < 8) {
    return undefined;
  }
  const match = /^bearer\s+(\S+)/i.exec(header);
  if (!match) {
    return undefined;
  }
  return `sha256:${createHash('sha256')
    .update(match[1])
    .digest('hex')
    .slice(0, 16)}`;
}
