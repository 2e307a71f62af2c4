import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { AppError } from '../errors.js';

/** Verifies bearer JWTs of an external identity provider (Auth0, Keycloak, …) against its JWKS. */
export interface OidcVerifier {
  readonly issuer: string;
  verify(token: string): Promise<JWTPayload & { sub: string }>;
}

/** Finds the provider's key set by OpenID discovery, falling back to the Auth0 convention. */
async function jwksUrl(issuer: string): Promise<URL> {
  const base = issuer.replace(/\/+$/, '');
  try {
    const response = await fetch(`${base}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
    if (response.ok) {
      const { jwks_uri: uri } = (await response.json()) as { jwks_uri?: unknown };
      if (typeof uri === 'string') return new URL(uri);
    }
  } catch {
    // fall back below
  }
  return new URL(`${base}/.well-known/jwks.json`);
}

export function oidcVerifier(issuer: string, audience: string): OidcVerifier {
  let keys: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;
  const keySet = () =>
    (keys ??= jwksUrl(issuer).then((url) =>
      // jose caches the keys and refetches (at most every 30 s) when a token names an unknown kid.
      createRemoteJWKSet(url, { cacheMaxAge: 600_000, cooldownDuration: 30_000, timeoutDuration: 5000 }),
    ));
  return {
    issuer,
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, await keySet(), {
          issuer,
          audience,
          algorithms: ['RS256', 'ES256'],
          requiredClaims: ['sub', 'exp'],
        });
        return payload as JWTPayload & { sub: string };
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired) {
          throw new AppError(401, 'token_expired', 'The identity token has expired');
        }
        if (error instanceof joseErrors.JWKSTimeout || (error instanceof TypeError && /fetch/i.test(error.message))) {
          keys = undefined; // try discovery again next time
          throw new AppError(503, 'unavailable', 'The identity provider cannot be reached', {
            headers: { 'Retry-After': '30' },
          });
        }
        throw new AppError(401, 'invalid_token', 'The identity token is not valid for this server');
      }
    },
  };
}
