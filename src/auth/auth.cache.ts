import type { Auth } from './auth.credentials.js';

// Checking a credential costs two database round trips' worth of work per request (hashing a key
// and finding it, or verifying a JWT and checking its session and the denylist): more than the
// request's own query. The answer only changes when something is revoked, so it is kept, and
// dropped the moment anything might have been revoked:
// - in this process, every revocation (session, token, key, account) calls authChanged();
// - in another process on the same SQLite file, any commit changes SQLite's data_version.
// On PostgreSQL there is no such cheap signal from other instances, so nothing is kept there.

let generation = 0;

/** Forget every kept credential check (call on any revocation, before or as it commits). */
export function authChanged(): void {
  generation += 1;
}

interface Entry {
  auth: Auth;
  generation: number;
  dataVersion: number;
  /** Epoch milliseconds after which the credential is expired anyway; null: no expiry. */
  expiresAt: number | null;
  /** API keys: when last_used_at was last written. */
  touchedAt: number;
}

export interface AuthCache {
  /** The check made for this credential, if nothing was revoked since and it has not expired. */
  get(credential: string): Entry | undefined;
  /** Keeps a check; `from` is the generation read before the check began, so a revocation during it wins. */
  set(credential: string, auth: Auth, from: Mark, expiresAt: number | null, touchedAt?: number): void;
  /** The state to compare against later: take it before looking anything up. */
  mark(): Mark;
}

export interface Mark {
  generation: number;
  dataVersion: number;
}

/** Credentials kept at most; past this the cache starts over (a flood of bad keys cannot grow it). */
const MAX_ENTRIES = 10_000;

/** A cache of credential checks, or undefined where it cannot know about others' revocations. */
export function authCache(dataVersion: (() => number) | undefined): AuthCache | undefined {
  if (!dataVersion) return undefined;
  const entries = new Map<string, Entry>();
  return {
    mark: () => ({ generation, dataVersion: dataVersion() }),
    get(credential) {
      const entry = entries.get(credential);
      if (!entry) return undefined;
      if (
        entry.generation !== generation ||
        entry.dataVersion !== dataVersion() ||
        (entry.expiresAt !== null && entry.expiresAt <= Date.now())
      ) {
        entries.delete(credential);
        return undefined;
      }
      return entry;
    },
    set(credential, auth, from, expiresAt, touchedAt = 0) {
      if (entries.size >= MAX_ENTRIES) entries.clear();
      entries.set(credential, { auth, ...from, expiresAt, touchedAt });
    },
  };
}
