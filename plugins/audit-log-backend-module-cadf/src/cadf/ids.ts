import { createHash } from 'node:crypto';

/**
 * Namespaces of the name-based (version 5) UUIDs this package derives. Fixed
 * forever: a change would give the same record a different id.
 */
const NAMESPACES = {
  event: 'c8f3f5b0-6d2e-4c5a-9f47-2b1d7e0a9c31',
  account: '4e0b1d6a-93c2-4f1e-8a57-6c2d9b3e7f10',
  service: '9a7c2e41-5b3d-4d8f-b6a0-1e2f3c4d5e6f',
  message: 'f1d2c3b4-a596-4788-99aa-bbccddeeff00',
} as const;

/** A namespace of {@link nameUuid}. @public */
export type UuidNamespace = keyof typeof NAMESPACES;

const NAMESPACE_BYTES = Object.fromEntries(
  Object.entries(NAMESPACES).map(([k, v]) => [
    k,
    Buffer.from(v.replace(/-/g, ''), 'hex'),
  ]),
) as Record<UuidNamespace, Buffer>;

/**
 * A version 5 (SHA-1, name-based) UUID, RFC 9562: the same name always gives
 * the same id, so a record rendered twice (or a batch delivered twice) carries
 * the same ids.
 *
 * @public
 */
export function nameUuid(namespace: UuidNamespace, name: string): string {
  const hash = createHash('sha1')
    .update(NAMESPACE_BYTES[namespace])
    .update(name, 'utf8')
    .digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
