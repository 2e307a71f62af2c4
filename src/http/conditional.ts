import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Note } from '../notes/notes.schemas.js';

// Conditional requests (RFC 9110 §13) on notes, whose strong validator is "<id>-<version>".

/** A strong validator: the version changes with every change of the note. */
export function noteEtag(note: Pick<Note, 'id' | 'version'>): string {
  return `"${note.id}-${note.version}"`;
}

function tags(header: string): string[] {
  return header
    .split(',')
    .map((tag) => tag.trim())
    .filter(Boolean);
}

/** If-None-Match: true when the client's copy is current (answer 304). Weak comparison. */
export function notModified(request: FastifyRequest, etag: string): boolean {
  const header = request.headers['if-none-match'];
  if (!header) return false;
  return tags(header).some((tag) => tag === '*' || tag.replace(/^W\//, '') === etag);
}

/** If-Match: a check of the note as it is inside the write, or undefined without the header. Strong comparison. */
export function ifMatch(request: FastifyRequest): ((current: Note) => boolean) | undefined {
  const header = request.headers['if-match'];
  if (!header) return undefined;
  const wanted = tags(header);
  return (current) => wanted.some((tag) => tag === '*' || tag === noteEtag(current));
}

/**
 * An onSend hook that gives a JSON answer a strong ETag from its bytes, and answers 304 when the
 * client already has them (lists, whose content has no single version).
 */
export async function etagFromBody(
  request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
): Promise<unknown> {
  if (reply.statusCode !== 200 || typeof payload !== 'string') return payload;
  const etag = `"${createHash('sha256').update(payload).digest('base64url').slice(0, 27)}"`;
  reply.header('ETag', etag);
  if (!notModified(request, etag)) return payload;
  reply.code(304);
  return null; // no body, and so no Content-Length (RFC 9110 §8.6)
}
