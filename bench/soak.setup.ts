import { randomBytes } from 'node:crypto';
import { seedNote } from './data.js';

// The soak's user, key and notes on a server, over the API: for --url, where the soak cannot
// seed the database through the stores, and to learn the ids and the first keyset cursor.

async function api<T>(url: string, method: string, route: string, auth: string, body?: unknown): Promise<T> {
  const response = await fetch(`${url}${route}`, {
    method,
    headers: {
      ...(auth && { authorization: auth }),
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** A throwaway user on a running server, with an API key; `remove` deletes it and its notes. */
export async function signUpOverApi(url: string): Promise<{ key: string; remove: () => Promise<void> }> {
  const username = `soak-${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('base64url');
  const response = await fetch(`${url}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, email: `${username}@example.com`, password }),
  });
  if (!response.ok) throw new Error(`sign-up failed: ${response.status} ${await response.text()}`);
  const { access_token: jwt } = (await response.json()) as { access_token: string };
  const { key } = await api<{ key: string }>(url, 'POST', '/api/keys', `Bearer ${jwt}`, { name: 'soak' });
  process.stderr.write(`signed up ${username} on ${url}\n`);
  const remove = async () => {
    // A fresh access token: the first may have expired during a long run.
    const login = await api<{ access_token: string }>(url, 'POST', '/api/auth/login', '', {
      username,
      password,
    });
    await api(url, 'DELETE', '/api/me', `Bearer ${login.access_token}`, { password });
  };
  return { key, remove };
}

/** The ids of the key owner's notes and the first keyset cursor, creating notes up to `count`. */
export async function notesOverApi(
  url: string,
  key: string,
  count: number,
): Promise<{ ids: number[]; first: string }> {
  const auth = `Bearer ${key}`;
  const list = async () => {
    const ids: number[] = [];
    let first = '';
    for (let after: string | null = ''; after !== null;) {
      const page: { data: { id: number }[]; meta: { next_cursor: string | null } } = await api(
        url,
        'GET',
        `/api/notes?limit=100${after ? `&after=${after}` : ''}`,
        auth,
      );
      ids.push(...page.data.map((note) => note.id));
      first ||= page.meta.next_cursor ?? '';
      after = page.meta.next_cursor;
    }
    return { ids, first };
  };
  const have = await list();
  for (let i = have.ids.length; i < count; i += 8) {
    const batch = Array.from({ length: Math.min(8, count - i) }, (_, j) => seedNote(i + j));
    await Promise.all(batch.map((note) => api(url, 'POST', '/api/notes', auth, note)));
  }
  const all = have.ids.length >= count ? have : await list();
  // A first page of 100 ends past most of a small list: start the keyset walk after 20 instead.
  const start = await api<{ meta: { next_cursor: string | null } }>(url, 'GET', '/api/notes?limit=20', auth);
  return { ids: all.ids, first: start.meta.next_cursor ?? all.first };
}
