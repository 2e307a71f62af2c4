import { expect } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildTestApp, createNote, signUp, type SignedUp } from './helpers.js';

// Helpers shared by the src/notes/notes.*.test.ts files.

/** A note as /api/notes answers it. */
export interface NoteBody {
  id: number;
  title: string;
  content: string;
  tags: string[];
  pinned: boolean;
  archived: boolean;
  version: number;
  created_at: string;
  updated_at: string;
}

/** A note in a list answer, which carries a snippet only when the list is a search. */
export interface ListedNote extends NoteBody {
  snippet?: string;
}

/** The body of GET /api/notes. */
export interface ListBody {
  data: ListedNote[];
  meta: { limit: number; page?: number; total?: number; total_pages?: number; next_cursor: string | null };
  links: Record<string, string | null>;
}

/** A GET /api/notes answer with its body already parsed. */
export interface Listed {
  response: LightMyRequestResponse;
  body: ListBody;
}

/** The content-type header of a form body. */
export const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** A fresh app on its own database, with one signed-up user. */
export async function setup(): Promise<{ app: FastifyInstance; user: SignedUp }> {
  const { app } = await buildTestApp();
  return { app, user: await signUp(app) };
}

/** Sends `payload` as JSON to POST /api/notes and returns the raw answer. */
export function post(
  app: FastifyInstance,
  user: SignedUp,
  payload: unknown,
): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/api/notes', headers: user.headers, payload: payload as object });
}

/** Lists the user's notes with `query`, expecting a 200. */
export async function list(app: FastifyInstance, user: SignedUp, query = ''): Promise<Listed> {
  const response = await app.inject({ url: `/api/notes${query ? `?${query}` : ''}`, headers: user.headers });
  expect(response.statusCode, response.body).toBe(200);
  return { response, body: response.json<ListBody>() };
}

/** The titles of a list answer, in order. */
export function titles(body: ListBody): string[] {
  return body.data.map((note) => note.title);
}

/** The ids of a list answer, in order. */
export function ids(body: ListBody): number[] {
  return body.data.map((note) => note.id);
}

/** The fields a validation problem names, in order. */
export function fieldsOf(problem: { errors?: { field: string }[] }): string[] {
  return (problem.errors ?? []).map((error) => error.field);
}

/** Waits until the clock has passed `iso`, so the next write gets a strictly later time. */
export async function clockPast(iso: string): Promise<void> {
  while (Date.now() <= Date.parse(iso) + 1) await new Promise((resolve) => setTimeout(resolve, 2));
}

/** Creates notes one after another, each with a strictly later time than the one before. */
export async function createInTimeOrder(
  app: FastifyInstance,
  user: SignedUp,
  notes: Record<string, unknown>[],
) {
  const created = [];
  for (const note of notes) {
    if (created.length > 0) await clockPast(created.at(-1)!.updated_at);
    created.push(await createNote(app, user, note));
  }
  return created;
}
