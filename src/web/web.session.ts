import { randomBytes } from 'node:crypto';
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Auth } from '../auth/auth.credentials.js';
import { sameSecret } from '../auth/secrets.js';
import { revokeSession, sessionUser, startSession, touchSession } from '../auth/sessions.store.js';
import type { DB } from '../db/tables.js';
import { AppError } from '../errors.js';
import { SCOPES } from '../keys/keys.schemas.js';

// Pages sign in with a cookie that names a session of the same kind as the API's (visible in
// /api/me/sessions, ended by logout); forms carry a CSRF token checked against a second cookie.

export const SESSION_COOKIE = 'folio_session';
const CSRF_COOKIE = 'folio_csrf';
const THIRTY_DAYS = 30 * 86_400;
const TOUCH_MS = 60_000;
const touched = new Map<number, number>();

export interface CookieOptions {
  secure: boolean;
}

function cookieOptions({ secure }: CookieOptions, maxAge = THIRTY_DAYS) {
  return { path: '/', httpOnly: true, sameSite: 'lax' as const, secure, signed: true, maxAge };
}

/** Signs a person in: a new session and its cookie. */
export async function signIn(
  db: Kysely<DB>,
  request: FastifyRequest,
  reply: FastifyReply,
  userId: number,
  options: CookieOptions,
): Promise<void> {
  const { sessionId } = await startSession(db, userId, request.headers['user-agent']);
  reply.setCookie(SESSION_COOKIE, String(sessionId), cookieOptions(options));
}

/** The signed-in person of a page request, from the session cookie; null when there is none. */
export async function cookieAuth(db: Kysely<DB>, request: FastifyRequest): Promise<Auth | null> {
  const raw = request.cookies[SESSION_COOKIE];
  if (!raw) return null;
  const unsigned = request.unsignCookie(raw);
  const sessionId = Number(unsigned.value);
  if (!unsigned.valid || !Number.isSafeInteger(sessionId)) return null;
  const userId = await sessionUser(db, sessionId);
  if (userId === undefined) return null;
  // last_used_at for /api/me/sessions, written at most once a minute per session.
  const now = Date.now();
  if (now - (touched.get(sessionId) ?? 0) > TOUCH_MS) {
    touched.set(sessionId, now);
    if (touched.size > 10_000) touched.clear();
    await touchSession(db, sessionId);
  }
  return { userId, via: 'session', sessionId, keyId: null, token: null, scopes: new Set(SCOPES) };
}

/** Signs out: the session ends (its cookie stops working everywhere) and the cookie goes. */
export async function signOut(
  db: Kysely<DB>,
  reply: FastifyReply,
  auth: Auth,
  options: CookieOptions,
): Promise<void> {
  if (auth.sessionId !== null) await revokeSession(db, auth.userId, auth.sessionId);
  reply.clearCookie(SESSION_COOKIE, { path: '/', secure: options.secure, sameSite: 'lax', httpOnly: true });
}

/** The CSRF token for this browser's forms, set as a signed cookie the first time it is needed. */
export function csrfToken(request: FastifyRequest, reply: FastifyReply, options: CookieOptions): string {
  const raw = request.cookies[CSRF_COOKIE];
  const unsigned = raw ? request.unsignCookie(raw) : undefined;
  if (unsigned?.valid && unsigned.value) return unsigned.value;
  const token = randomBytes(24).toString('base64url');
  reply.setCookie(CSRF_COOKIE, token, cookieOptions(options, 365 * 86_400));
  // Later reads in this request see the new cookie too.
  request.cookies[CSRF_COOKIE] = reply.signCookie(token);
  return token;
}

/** A form must send back the token of its browser's cookie (signed double submit): 403 otherwise. */
export function checkCsrf(request: FastifyRequest, sent: unknown): void {
  const raw = request.cookies[CSRF_COOKIE];
  const unsigned = raw ? request.unsignCookie(raw) : undefined;
  if (!unsigned?.valid || !unsigned.value || typeof sent !== 'string' || !sameSecret(unsigned.value, sent)) {
    throw new AppError(
      403,
      'csrf_failed',
      'This form has expired or did not come from Folio; reload the page and try again',
    );
  }
}
