import { hashPassword } from '../auth/auth.passwords.js';
import { RegisterInput } from '../auth/auth.schemas.js';
import type { Config } from '../config.js';
import { openDatabase } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { AppError } from '../errors.js';
import { checkAgainst } from '../http/validation.js';
import { createUser } from '../users/users.store.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** `folio user create`: how accounts are made when sign-up is closed. */
export async function createUserCommand(
  config: Config,
  options: { username?: string | undefined; email?: string | undefined; password?: string | undefined },
): Promise<number> {
  if (options.password === undefined && process.stdin.isTTY) {
    console.error('folio: give --password, or pipe the password on standard input');
    return 2;
  }
  const input = {
    username: options.username,
    email: options.email,
    password: options.password ?? (await readStdin()),
  };
  const errors = checkAgainst(RegisterInput, input);
  if (errors.length > 0) {
    for (const error of errors) console.error(`folio: --${error.field} ${error.message}`);
    return 2;
  }
  const { username, email, password } = input as { username: string; email: string; password: string };
  const database = openDatabase(config.databaseUrl);
  try {
    await migrateToLatest(database.db);
    const user = await createUser(database.db, {
      username,
      email,
      passwordHash: await hashPassword(password),
    });
    console.log(`created user ${user.username} (id ${user.id})`);
    return 0;
  } catch (error) {
    if (error instanceof AppError) {
      console.error(`folio: ${error.detail}`);
      return 1;
    }
    throw error;
  } finally {
    await database.close();
  }
}
