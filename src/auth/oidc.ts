import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { AppError } from '../errors.js';

/** Verifies bearer JWTs of an external identity provider (Auth0, Keycloak, …) against its JWKS. */
export interface OidcVerifier {
  readonly issuer: string;
  verify(token: string): Promise<JWTPayload & { sub: string }>;
}

function unreachable(): AppError {
  return new AppError(503, 'unavailable', 'The identity provider cannot be reached', {
    headers: { 'Retry-After': '30' },
  });
}

/**
 * Finds the provider's key set by OpenID discovery; a provider without a discovery document (404)
 * gets the Auth0 convention. A provider that is down is 503, and nothing is remembered of it.
 */
async function jwksUrl(issuer: string): Promise<URL> {
  const base = issuer.replace(/\/+$/, '');
  const fallback = new URL(`${base}/.well-known/jwks.json`);
  let response: Response;
  try {
    response = await fetch(`${base}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
  } catch {
    throw unreachable();
  }
  if (response.status === 404) return fallback;
  if (!response.ok) throw unreachable();
  const document = (await response.json().catch(() => ({}))) as { jwks_uri?: unknown };
  return typeof document.jwks_uri === 'string' ? new URL(document.jwks_uri) : fallback;
}

// Errors of fetching keys, as opposed to a token failing verification.
const FETCH_ERRORS = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID', 'ERR_JOSE_GENERIC']);

export function oidcVerifier(issuer: string, audience: string): OidcVerifier {
  let keys: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;
  const keySet = () =>
    (keys ??= jwksUrl(issuer).then(
      // jose caches the keys and refetches (at most every 30 s) when a token names an unknown kid.
      (url) =>
        createRemoteJWKSet(url, { cacheMaxAge: 600_000, cooldownDuration: 30_000, timeoutDuration: 5000 }),
      (error: unknown) => {
        keys = undefined;
        throw error;
      },
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
        if (error instanceof AppError) throw error;
        if (error instanceof joseErrors.JWTExpired) {
          throw new AppError(401, 'token_expired', 'The identity token has expired');
        }
        const code = error instanceof joseErrors.JOSEError ? error.code : undefined;
        if ((code !== undefined && FETCH_ERRORS.has(code)) || error instanceof TypeError) {
          keys = undefined; // look the provider up again next time
          throw unreachable();
        }
        throw new AppError(401, 'invalid_token', 'The identity token is not valid for this server');
      }
    },
  };
}
