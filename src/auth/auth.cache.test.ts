import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { buildTestApp, expectProblem, signUp, TEST_DIALECT } from '../../test/helpers.js';
import { openDatabase } from '../db/database.js';

// A credential check is kept between requests (SQLite), so these tests make each request twice
// before revoking: the second is answered from what was kept, and must not outlive a revocation.

function get(app: FastifyInstance, headers: Record<string, string>) {
  return app.inject({ method: 'GET', url: '/api/notes', headers });
}

/** Another connection to the same database: what another process (or the sqlite3 shell) is. */
async function fromElsewhere(
  url: string,
  change: (other: ReturnType<typeof openDatabase>) => Promise<unknown>,
) {
  const other = openDatabase(url);
  try {
    await change(other);
  } finally {
    await other.close();
  }
  // SQLite's data_version is read once per turn of the event loop: the next request is on a later one.
  await new Promise((resolve) => setImmediate(resolve));
}

describe(`credential checks kept between requests (${TEST_DIALECT})`, () => {
  it('stop an API key deleted through the API at its next request', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    const created = await app.inject({
      method: 'POST',
      url: '/api/keys',
      headers: user.headers,
      payload: { name: 'k' },
    });
    const key = { authorization: `Bearer ${(created.json() as { key: string }).key}` };
    expect((await get(app, key)).statusCode).toBe(200);
    expect((await get(app, key)).statusCode).toBe(200);
    const id = (created.json() as { id: number }).id;
    expect(
      (await app.inject({ method: 'DELETE', url: `/api/keys/${id}`, headers: user.headers })).statusCode,
    ).toBe(204);
    expectProblem(await get(app, key), 401, 'invalid_token');
  });

  it('stop an API key another process deleted at the next request', async () => {
    const { app, url } = await buildTestApp();
    const user = await signUp(app);
    const created = await app.inject({
      method: 'POST',
      url: '/api/keys',
      headers: user.headers,
      payload: { name: 'k' },
    });
    const key = { 'x-api-key': (created.json() as { key: string }).key };
    expect((await get(app, key)).statusCode).toBe(200);
    expect((await get(app, key)).statusCode).toBe(200);
    await fromElsewhere(url, (other) => other.db.deleteFrom('api_keys').execute());
    expectProblem(await get(app, key), 401, 'invalid_token');
  });

  it('stop an access token whose session another process revoked at the next request', async () => {
    const { app, url } = await buildTestApp();
    const user = await signUp(app);
    expect((await get(app, user.headers)).statusCode).toBe(200);
    expect((await get(app, user.headers)).statusCode).toBe(200);
    await fromElsewhere(url, (other) =>
      other.db
        .updateTable('sessions')
        .set({ revoked_at: new Date().toISOString() })
        .where('user_id', '=', user.id)
        .execute(),
    );
    expectProblem(await get(app, user.headers), 401, 'invalid_token');
  });

  it('stop an access token at once when its session signs out', async () => {
    const { app } = await buildTestApp();
    const user = await signUp(app);
    expect((await get(app, user.headers)).statusCode).toBe(200);
    expect((await get(app, user.headers)).statusCode).toBe(200);
    const logout = await app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: user.headers,
      payload: {},
    });
    expect(logout.statusCode).toBeLessThan(300);
    expectProblem(await get(app, user.headers), 401, 'invalid_token');
  });
});
