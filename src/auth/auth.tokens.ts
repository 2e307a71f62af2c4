import { randomUUID } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { AppError } from '../errors.js';

/** Access tokens live 15 minutes; a client refreshes them rather than keeping one long-lived secret. */
export const ACCESS_TOKEN_SECONDS = 900;
const ISSUER = 'folio';

export interface AccessClaims {
  userId: number;
  sessionId: number;
  jti: string;
  expiresAt: number;
}

export interface TokenSigner {
  sign(userId: number, sessionId: number): Promise<string>;
  verify(token: string): Promise<AccessClaims>;
}

/** Signs and checks Folio's own access tokens (HS256 JWTs naming their user and session). */
export function tokenSigner(secret: string): TokenSigner {
  const key = new TextEncoder().encode(secret);
  return {
    sign(userId, sessionId) {
      return new SignJWT({ sid: sessionId })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer(ISSUER)
        .setSubject(String(userId))
        .setJti(randomUUID())
        .setIssuedAt()
        .setExpirationTime(`${ACCESS_TOKEN_SECONDS}s`)
        .sign(key);
    },
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, key, { issuer: ISSUER, algorithms: ['HS256'] });
        const userId = Number(payload.sub);
        if (
          !Number.isSafeInteger(userId) ||
          typeof payload.sid !== 'number' ||
          !payload.jti ||
          !payload.exp
        ) {
          throw new AppError(401, 'invalid_token', 'The access token is not one Folio issued');
        }
        return { userId, sessionId: payload.sid, jti: payload.jti, expiresAt: payload.exp };
      } catch (error) {
        if (error instanceof AppError) throw error;
        if (error instanceof joseErrors.JWTExpired) {
          throw new AppError(
            401,
            'token_expired',
            'The access token has expired; refresh it or sign in again',
          );
        }
        throw new AppError(401, 'invalid_token', 'The access token is not valid');
      }
    },
  };
}
