import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type FieldError } from '../errors.js';
import { noteEtag, notModified } from '../http/conditional.js';
import { MAX_ID } from '../http/schemas.js';
import { checkAgainst } from '../http/validation.js';
import { listNotes, listTags } from '../notes/notes.list.store.js';
import { renderSnippet } from '../notes/notes.paging.js';
import { NoteInput, type Note } from '../notes/notes.schemas.js';
import {
  createNote,
  getNote,
  normalizeTags,
  restoreNote,
  trashNote,
  updateNote,
  type NoteFields,
} from '../notes/notes.store.js';
import { searchWords } from '../db/search.js';
import { getUser } from '../users/users.store.js';
import { html, trusted, type Html } from './html.js';
import { renderMarkdown } from './markdown.js';
import { csrfField, describedBy, fieldError, layout } from './web.layout.js';
import { sendPage, type WebOptions } from './web.plugin.js';
import { checkCsrf, csrfToken } from './web.session.js';

type Form = Record<string, string | string[] | undefined>;
const PAGE_SIZE = 20;

function text(form: Form, name: string): string {
  const value = form[name];
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

/** A form's fields as a note: tags typed comma-separated, checkboxes present or not. */
function formFields(form: Form): NoteFields {
  return {
    title: text(form, 'title').trim(),
    content: text(form, 'content').replace(/\r\n/g, '\n'),
    tags: text(form, 'tags')
      .split(',')
      .map((tag) => tag.trim())
      .filter(Boolean),
    pinned: form.pinned !== undefined,
    archived: form.archived !== undefined,
  };
}

function when(iso: string): Html {
  return html`<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>`;
}

function tagList(tags: readonly string[]): Html {
  return tags.length
    ? html`<ul class="tags">
        ${tags.map((tag) => html`<li><a href="/?tag=${encodeURIComponent(tag)}">${tag}</a></li>`)}
      </ul>`
    : html``;
}

function noteItem(note: Note, action?: Html): Html {
  return html`<li>
    <a class="title" href="/notes/${note.id}">${note.pinned ? '📌 ' : ''}${note.title}</a>
    ${note.snippet ? html`<div class="snippet">${trusted(renderSnippet(note.snippet))}</div>` : ''}
    ${tagList(note.tags)}
    <div class="meta">Changed ${when(note.updated_at)}${note.archived ? ' · archived' : ''}</div>
    ${action ?? ''}
  </li>`;
}

function wantsJson(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return /application\/(problem\+)?json/.test(accept) && !/text\/html/.test(accept);
}

/** The notes pages: the list with search, tags and pages; one note; new, edit, delete; the trash. */
export async function notesPages(app: FastifyInstance, { db, cookies }: WebOptions): Promise<void> {
  const owner = (request: FastifyRequest) => request.auth!.userId;
  const username = async (request: FastifyRequest) => (await getUser(db, owner(request)))?.username;

  function noteForm(
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    options: {
      action: string;
      heading: string;
      values: NoteFields;
      errors: FieldError[];
      version?: number;
      user?: string | undefined;
      conflict?: Html;
    },
  ) {
    const { values, errors } = options;
    const token = csrfToken(request, reply, cookies);
    return sendPage(
      reply,
      status,
      layout(
        { title: options.heading, username: options.user },
        html`<h1>${options.heading}</h1>
          ${options.conflict ?? ''}
          <form method="post" action="${options.action}" novalidate>
            ${csrfField(token)}
            ${options.version !== undefined ? html`<input type="hidden" name="version" value="${options.version}" />` : ''}
            <label for="title">Title</label>
            <input
              type="text"
              id="title"
              name="title"
              value="${values.title}"
              maxlength="200"
              ${describedBy(errors, 'title')}
            />
            ${fieldError(errors, 'title')}
            <label for="content">Content (Markdown)</label>
            <textarea id="content" name="content" ${describedBy(errors, 'content')}>${values.content}</textarea>
            ${fieldError(errors, 'content')}
            <label for="tags">Tags, separated by commas</label>
            <input
              type="text"
              id="tags"
              name="tags"
              value="${values.tags.join(', ')}"
              ${describedBy(errors, 'tags')}
            />
            ${fieldError(errors, 'tags')}
            <div class="check"><input type="checkbox" id="pinned" name="pinned"${values.pinned ? ' checked' : ''}><label for="pinned">Pinned</label></div>
            <div class="check"><input type="checkbox" id="archived" name="archived"${values.archived ? ' checked' : ''}><label for="archived">Archived</label></div>
            <button type="submit">Save</button>
          </form>`,
      ),
    );
  }

  app.get<{ Querystring: { q?: string | string[]; tag?: string | string[]; page?: string | string[] } }>(
    '/',
    { schema: { hide: true } },
    async (request, reply) => {
      // A repeated parameter (?q=a&q=b) arrives as a list: the first one counts, as in forms.
      const q = text(request.query, 'q').trim() || undefined;
      const tag = normalizeTags([text(request.query, 'tag').trim()])[0] || undefined;
      const page = Math.max(
        1,
        Math.min(100_000, Number.parseInt(text(request.query, 'page') || '1', 10) || 1),
      );
      const words = q ? searchWords(q) : undefined;
      const filters = { tags: tag ? [tag] : [], archived: false, ...(words && { match: words }) };
      const sort = { key: words ? ('relevance' as const) : ('updated_at' as const), descending: !words };
      // Pinned notes lead the first page of the plain list; searches rank by relevance instead.
      const pinned =
        !words && page === 1
          ? await listNotes(db, owner(request), {
              filters: { ...filters, pinned: true },
              sort,
              limit: 100,
              page: 1,
            })
          : undefined;
      const rest = await listNotes(db, owner(request), {
        filters: { ...filters, ...(!words && { pinned: false }) },
        sort,
        limit: PAGE_SIZE,
        page,
      });
      const tags = await listTags(db, owner(request));
      const link = (n: number) =>
        `/?${new URLSearchParams({ ...(q && { q }), ...(tag && { tag }), page: String(n) })}`;
      const totalPages = Math.ceil((rest.total ?? 0) / PAGE_SIZE);
      return sendPage(
        reply,
        200,
        layout(
          { title: q ? `Search: ${q}` : 'Your notes', username: await username(request) },
          html`<h1>${q ? html`Notes matching “${q}”` : tag ? html`Notes tagged ${tag}` : 'Your notes'}</h1>
            <form class="search" method="get" action="/" role="search">
              <div style="flex:1">
                <label for="q">Search</label><input type="search" id="q" name="q" value="${q ?? ''}" />
              </div>
              ${tag ? html`<input type="hidden" name="tag" value="${tag}" />` : ''}
              <button type="submit">Search</button>
            </form>
            ${
              tags.length
                ? html`<h2>Tags</h2>
                    <ul class="tags">
                      ${tags.map((t) => html`<li><a href="/?tag=${encodeURIComponent(t.name)}" ${t.name === tag ? html` aria-current="page"` : ''}>${t.name} (${t.count})</a></li>`)}
                    </ul>`
                : ''
            }
            ${tag || q ? html`<p><a href="/">Show all notes</a></p>` : ''}
            ${
              pinned && pinned.items.length
                ? html`<h2>Pinned</h2>
                    <ul class="notes">
                      ${pinned.items.map(({ note }) => noteItem(note))}
                    </ul>`
                : ''
            }
            ${pinned && pinned.items.length ? html`<h2>Notes</h2>` : ''}
            ${
              rest.items.length
                ? html`<ul class="notes">
                    ${rest.items.map(({ note }) => noteItem(note))}
                  </ul>`
                : pinned?.items.length
                  ? ''
                  : html`<p>No notes here yet. <a href="/notes/new">Write one</a>.</p>`
            }
            <nav class="pages" aria-label="Pages">
              ${page > 1 ? html`<a rel="prev" href="${link(page - 1)}">← Newer</a>` : html`<span></span>`}
              ${page < totalPages ? html`<a rel="next" href="${link(page + 1)}">Older →</a>` : html`<span></span>`}
            </nav>`,
        ),
      );
    },
  );

  app.get('/notes/new', { schema: { hide: true } }, async (request, reply) =>
    noteForm(request, reply, 200, {
      action: '/notes',
      heading: 'New note',
      values: { title: '', content: '', tags: [], pinned: false, archived: false },
      errors: [],
      user: await username(request),
    }),
  );

  app.post('/notes', { config: { forms: true }, schema: { hide: true } }, async (request, reply) => {
    const form = (request.body ?? {}) as Form;
    checkCsrf(request, form._csrf);
    const values = formFields(form);
    const errors = checkAgainst(NoteInput, values);
    if (errors.length > 0) {
      return noteForm(request, reply, 400, {
        action: '/notes',
        heading: 'New note',
        values,
        errors,
        user: await username(request),
      });
    }
    const note = await createNote(db, owner(request), values);
    return reply.redirect(`/notes/${note.id}`, 303);
  });

  app.get<{ Params: { id: string } }>('/notes/:id', { schema: { hide: true } }, async (request, reply) => {
    const note = await getNote(db, owner(request), noteId(request.params.id));
    // One URL, two hats: a program asking for JSON gets the API's answer.
    if (wantsJson(request)) {
      const etag = noteEtag(note);
      reply.header('ETag', etag).header('Vary', 'Accept');
      if (notModified(request, etag)) return reply.code(304).send();
      return reply.type('application/json').send(note);
    }
    return sendPage(
      reply.header('Vary', 'Accept'),
      200,
      layout(
        { title: note.title, username: await username(request) },
        html`<h1>${note.pinned ? '📌 ' : ''}${note.title}</h1>
          ${tagList(note.tags)}
          <p class="meta">
            Created ${when(note.created_at)} · changed ${when(note.updated_at)} · version
            ${note.version}${note.archived ? ' · archived' : ''}
          </p>
          <div class="markdown">${renderMarkdown(note.content)}</div>
<div class="actions">
            <a class="button" href="/notes/${note.id}/edit">Edit</a>
            <a class="button quiet" href="/notes/${note.id}/delete">Delete</a>
          </div>`,
      ),
    );
  });

  app.get<{ Params: { id: string } }>(
    '/notes/:id/edit',
    { schema: { hide: true } },
    async (request, reply) => {
      const note = await getNote(db, owner(request), noteId(request.params.id));
      return noteForm(request, reply, 200, {
        action: `/notes/${note.id}/edit`,
        heading: `Edit ${note.title}`,
        values: note,
        errors: [],
        version: note.version,
        user: await username(request),
      });
    },
  );

  app.post<{ Params: { id: string } }>(
    '/notes/:id/edit',
    { config: { forms: true }, schema: { hide: true } },
    async (request, reply) => {
      const form = (request.body ?? {}) as Form;
      checkCsrf(request, form._csrf);
      const id = noteId(request.params.id);
      const values = formFields(form);
      const errors = checkAgainst(NoteInput, values);
      const version = Number(text(form, 'version'));
      const user = await username(request);
      if (errors.length > 0) {
        return noteForm(request, reply, 400, {
          action: `/notes/${id}/edit`,
          heading: 'Edit note',
          values,
          errors,
          version,
          user,
        });
      }
      try {
        await updateNote(db, owner(request), id, values, (current) => current.version === version);
        return reply.redirect(`/notes/${id}`, 303);
      } catch (error) {
        if (!(error instanceof AppError) || error.code !== 'precondition_failed') throw error;
        // Someone saved in between: show both, and let the person decide (saving again overwrites).
        const saved = await getNote(db, owner(request), id);
        const conflict = html`<div class="notice" role="alert">
            This note was changed (now version ${saved.version}) while you were editing. Compare, then save
            again to keep yours.
          </div>
          <div class="versions">
            <section>
              <h2>Saved version</h2>
              <p><strong>${saved.title}</strong></p>
              ${tagList(saved.tags)}
              <pre>${saved.content}</pre>
            </section>
            <section>
              <h2>Your version</h2>
              <p><strong>${values.title}</strong></p>
              ${tagList(values.tags)}
              <pre>${values.content}</pre>
            </section>
          </div>`;
        return noteForm(request, reply, 409, {
          action: `/notes/${id}/edit`,
          heading: 'Edit note',
          values,
          errors: [],
          version: saved.version,
          user,
          conflict,
        });
      }
    },
  );

  app.get<{ Params: { id: string } }>(
    '/notes/:id/delete',
    { schema: { hide: true } },
    async (request, reply) => {
      const note = await getNote(db, owner(request), noteId(request.params.id));
      const token = csrfToken(request, reply, cookies);
      return sendPage(
        reply,
        200,
        layout(
          { title: `Delete ${note.title}`, username: await username(request) },
          html`<h1>Delete “${note.title}”?</h1>
            <p>It goes to the trash, where you can restore it for ${30} days.</p>
            <form method="post" action="/notes/${note.id}/delete" class="actions">
              ${csrfField(token)}<button type="submit" class="danger">Delete</button>
              <a class="button quiet" href="/notes/${note.id}">Keep it</a>
            </form>`,
        ),
      );
    },
  );

  app.post<{ Params: { id: string } }>(
    '/notes/:id/delete',
    { config: { forms: true }, schema: { hide: true } },
    async (request, reply) => {
      checkCsrf(request, ((request.body ?? {}) as Form)._csrf);
      await trashNote(db, owner(request), noteId(request.params.id));
      return reply.redirect('/', 303);
    },
  );

  app.get('/trash', { schema: { hide: true } }, async (request, reply) => {
    const trash = await listNotes(db, owner(request), {
      filters: { tags: [], archived: false, deleted: true },
      sort: { key: 'updated_at', descending: true },
      limit: 100,
      page: 1,
    });
    const token = csrfToken(request, reply, cookies);
    return sendPage(
      reply,
      200,
      layout(
        { title: 'Trash', username: await username(request) },
        html`<h1>Trash</h1>
          ${
            trash.items.length
              ? html`<ul class="notes">
                  ${trash.items.map(({ note }) =>
                    noteItem(
                      note,
                      html`<form method="post" action="/notes/${note.id}/restore">
                        ${csrfField(token)}<button type="submit" class="quiet">Restore</button>
                      </form>`,
                    ),
                  )}
                </ul>`
              : html`<p>The trash is empty.</p>`
          }`,
      ),
    );
  });

  app.post<{ Params: { id: string } }>(
    '/notes/:id/restore',
    { config: { forms: true }, schema: { hide: true } },
    async (request, reply) => {
      checkCsrf(request, ((request.body ?? {}) as Form)._csrf);
      const note = await restoreNote(db, owner(request), noteId(request.params.id));
      return reply.redirect(`/notes/${note.id}`, 303);
    },
  );
}

function noteId(raw: string): number {
  const id = Number(raw);
  // Ids are PostgreSQL integers: a larger number names no note (and would overflow the query).
  if (!/^\d{1,10}$/.test(raw) || id < 1 || id > MAX_ID) {
    throw new AppError(404, 'not_found', 'There is no such note');
  }
  return id;
}
