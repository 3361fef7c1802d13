import { HttpAuthService } from '@backstage/backend-plugin-api';
import { Request } from 'express';
import proxyAddr from 'proxy-addr';

/** How `actor.ip` is derived: the socket, or X-Forwarded-For when trusted. */
export type ClientAddressResolver = (req: Request) => string | undefined;

export function createClientAddressResolver(
  trustProxy: boolean | number | string[],
): ClientAddressResolver {
  if (
    trustProxy === false ||
    (Array.isArray(trustProxy) && trustProxy.length === 0)
  ) {
    return req => req.socket?.remoteAddress;
  }
  let trust: (addr: string, i: number) => boolean;
  if (trustProxy === true) {
    trust = () => true;
  } else if (typeof trustProxy === 'number') {
    const hops = trustProxy;
    trust = (_addr, i) => i < hops;
  } else {
    trust = proxyAddr.compile(trustProxy);
  }
  return req => {
    try {
      return proxyAddr(req, trust);
    } catch {
      return req.socket?.remoteAddress;
    }
  };
}

interface PrincipalLike {
  type?: string;
  userEntityRef?: string;
  subject?: string;
}

/**
 * The actor of a request as the wrapped plugin itself sees it, through the
 * plugin's own httpAuth (which caches per request, so the plugin's credentials
 * barrier reuses this lookup). Unauthenticated or invalid credentials give null.
 */
export async function resolveActorId(
  httpAuth: HttpAuthService,
  req: Request,
): Promise<string | null> {
  try {
    let credentials = await httpAuth.credentials(req);
    let principal = credentials.principal as PrincipalLike;
    if (principal.type === 'none' && req.headers.cookie) {
      credentials = await httpAuth.credentials(req, {
        allowLimitedAccess: true,
      });
      principal = credentials.principal as PrincipalLike;
    }
    if (principal.type === 'user') {
      return principal.userEntityRef ?? null;
    }
    if (principal.type === 'service') {
      return principal.subject ?? null;
    }
    return null;
  } catch {
    return null;
  }
}
