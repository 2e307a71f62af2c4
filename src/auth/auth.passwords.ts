import { hash, verify, type Algorithm } from '@node-rs/argon2';

// OWASP's Argon2id minimum: 19 MiB of memory, 2 passes, one lane.
// (2 is Algorithm.Argon2id, a const enum that isolated modules cannot read.)
const PARAMS = {
  algorithm: 2 as Algorithm.Argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;
const CURRENT = `$argon2id$v=19$m=${PARAMS.memoryCost},t=${PARAMS.timeCost},p=${PARAMS.parallelism}$`;

export function hashPassword(password: string): Promise<string> {
  return hash(password, PARAMS);
}

/** True when a stored hash was made with other parameters than today's, and should be redone at sign-in. */
export function needsRehash(storedHash: string): boolean {
  return !storedHash.startsWith(CURRENT);
}

// Verified against when the user does not exist, so an unknown name costs as long as a wrong password.
let dummyHash: Promise<string> | undefined;

/** Checks a password against a stored hash, or against a dummy one when there is no user. */
export async function verifyPassword(storedHash: string | undefined, password: string): Promise<boolean> {
  const usable = storedHash?.startsWith('$argon2') ? storedHash : undefined;
  const target = usable ?? (await (dummyHash ??= hashPassword('folio-dummy-password')));
  try {
    return (await verify(target, password)) && usable !== undefined;
  } catch {
    return false;
  }
}
