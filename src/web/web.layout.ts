import type { FieldError } from '../errors.js';
import { html, type Html } from './html.js';

export interface PageContext {
  title: string;
  /** The signed-in person's name, for the header; none on sign-in pages. */
  username?: string | undefined;
}

/** The whole document around a page's content. */
export function layout({ title, username }: PageContext, body: Html): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · Folio</title>
        <link rel="stylesheet" href="/static/folio.css" />
      </head>
      <body>
        <header>
          <a class="brand" href="/">Folio</a>
          <nav>
            ${
              username
                ? html`<a href="/notes/new">New note</a> <a href="/trash">Trash</a>
                    <a href="/logout">Sign out (${username})</a>`
                : html`<a href="/login">Sign in</a> <a href="/register">Create account</a>`
            }
          </nav>
        </header>
        <main>${body}</main>
        <footer>Folio · <a href="/docs">API</a></footer>
      </body>
    </html> `.value;
}

export function csrfField(token: string): Html {
  return html`<input type="hidden" name="_csrf" value="${token}" />`;
}

/** The message for one field, linked from the input by aria-describedby. */
export function fieldError(errors: readonly FieldError[], field: string): Html {
  const error = errors.find((e) => e.field === field || e.field.startsWith(`${field}[`));
  return error ? html`<p class="error" id="${field}-error">${error.message}</p>` : html``;
}

export function describedBy(errors: readonly FieldError[], field: string): Html {
  return errors.some((e) => e.field === field || e.field.startsWith(`${field}[`))
    ? html` aria-invalid="true" aria-describedby="${field}-error"`
    : html``;
}

/** A page for an error: its status, what happened, and a way on. */
export function errorPage(title: string, detail: string, username?: string): string {
  return layout(
    { title, username },
    html`<h1>${title}</h1>
      <p>${detail}</p>
      <p><a href="/">Back to your notes</a></p>`,
  );
}
