import crypto from 'node:crypto';

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

// One-shot hashing (Node 20.12+) costs half of createHash() for inputs this small.
const oneShot = typeof crypto.hash === 'function';

function sha1Hex(namespace: Buffer, name: string): string {
  const data = Buffer.concat([namespace, Buffer.from(name, 'utf8')]);
  return oneShot
    ? crypto.hash('sha1', data, 'hex')
    : crypto.createHash('sha1').update(data).digest('hex');
}

const VARIANT = ['8', '9', 'a', 'b'];

/**
 * A version 5 (SHA-1, name-based) UUID, RFC 9562: the same name always gives
 * the same id, so a record rendered twice (or a batch delivered twice) carries
 * the same ids.
 *
 * @public
 */
export function nameUuid(namespace: UuidNamespace, name: string): string {
  const hex = sha1Hex(NAMESPACE_BYTES[namespace], name);
  const variant = VARIANT[parseInt(hex[16], 16) & 0x3];
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
