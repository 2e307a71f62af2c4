import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hashPassword, verifyPassword } from '../auth/auth.passwords.js';
import { RegisterInput } from '../auth/auth.schemas.js';
import { AppError, type FieldError } from '../errors.js';
import { checkAgainst } from '../http/validation.js';
import { createUser, findUserByLogin, getUser } from '../users/users.store.js';
import { html } from './html.js';
import { csrfField, describedBy, fieldError, layout } from './web.layout.js';
import { sendPage, type WebOptions } from './web.plugin.js';
import { checkCsrf, csrfToken, signIn, signOut } from './web.session.js';

type Form = Record<string, string | string[] | undefined>;

function text(form: Form, name: string): string {
  const value = form[name];
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

/**
 * Only a path on this site, never another site: not `//evil.example`, `/\\evil.example`, nor one
 * hiding either behind a tab or line break (browsers drop those from URLs), nor any control character.
 */
export function safeNext(next: string | undefined): string {
  return next && /^\/(?![/\\])[^\s\p{Cc}]*$/u.test(next) ? next : '/';
}

/** Sign-up, sign-in and sign-out pages. */
export async function accountPages(
  app: FastifyInstance,
  { db, cookies, guard, signUps }: WebOptions,
): Promise<void> {
  function registerPage(
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    form: Form,
    errors: FieldError[],
  ) {
    const token = csrfToken(request, reply, cookies);
    return sendPage(
      reply,
      status,
      layout(
        { title: 'Create an account' },
        html`<h1>Create an account</h1>
          ${errors.some((e) => e.field === 'form') ? html`<p class="notice" role="alert">${errors.find((e) => e.field === 'form')!.message}</p>` : ''}
          <form method="post" action="/register" novalidate>
            ${csrfField(token)}
            <label for="username">Username</label>
            <input
              type="text"
              id="username"
              name="username"
              autocomplete="username"
              value="${text(form, 'username')}"
              ${describedBy(errors, 'username')}
            />
            ${fieldError(errors, 'username')}
            <label for="email">Email</label>
            <input
              type="email"
              id="email"
              name="email"
              autocomplete="email"
              value="${text(form, 'email')}"
              ${describedBy(errors, 'email')}
            />
            ${fieldError(errors, 'email')}
            <label for="password">Password (8 characters or more)</label>
            <input
              type="password"
              id="password"
              name="password"
              autocomplete="new-password"
              ${describedBy(errors, 'password')}
            />
            ${fieldError(errors, 'password')}
            <button type="submit">Create account</button>
          </form>
          <p>Have an account? <a href="/login">Sign in</a>.</p>`,
      ),
    );
  }

  function loginPage(
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    form: Form,
    problem?: string,
  ) {
    const token = csrfToken(request, reply, cookies);
    return sendPage(
      reply,
      status,
      layout(
        { title: 'Sign in' },
        html`<h1>Sign in</h1>
          ${problem ? html`<p class="notice" role="alert">${problem}</p>` : ''}
          <form method="post" action="/login">
            ${csrfField(token)}
            <input type="hidden" name="next" value="${safeNext(text(form, 'next'))}" />
            <label for="username">Username or email</label>
            <input
              type="text"
              id="username"
              name="username"
              autocomplete="username"
              value="${text(form, 'username')}"
              required
            />
            <label for="password">Password</label>
            <input type="password" id="password" name="password" autocomplete="current-password" required />
            <button type="submit">Sign in</button>
          </form>
          <p>New here? <a href="/register">Create an account</a>.</p>`,
      ),
    );
  }

  app.get('/register', { config: { publicPage: true }, schema: { hide: true } }, async (request, reply) =>
    registerPage(request, reply, 200, {}, []),
  );

  app.post(
    '/register',
    { config: { publicPage: true, forms: true }, schema: { hide: true } },
    async (request, reply) => {
      const form = (request.body ?? {}) as Form;
      checkCsrf(request, form._csrf);
      await signUps(request);
      const input = {
        username: text(form, 'username'),
        email: text(form, 'email'),
        password: text(form, 'password'),
      };
      const errors = checkAgainst(RegisterInput, input);
      if (errors.length > 0) return registerPage(request, reply, 400, form, errors);
      try {
        const user = await createUser(db, { ...input, passwordHash: await hashPassword(input.password) });
        await signIn(db, request, reply, user.id, cookies);
        return reply.redirect('/', 303);
      } catch (error) {
        if (error instanceof AppError && error.status === 409) {
          const field = error.code === 'username_taken' ? 'username' : 'email';
          return registerPage(request, reply, 409, form, [{ field, message: error.detail }]);
        }
        throw error;
      }
    },
  );

  app.get<{ Querystring: { next?: string } }>(
    '/login',
    { config: { publicPage: true }, schema: { hide: true } },
    async (request, reply) => loginPage(request, reply, 200, { next: request.query.next }),
  );

  app.post(
    '/login',
    { config: { publicPage: true, forms: true }, schema: { hide: true } },
    async (request, reply) => {
      const form = (request.body ?? {}) as Form;
      checkCsrf(request, form._csrf);
      const user = await findUserByLogin(db, text(form, 'username'));
      try {
        await guard.check(request, user ?? text(form, 'username'));
      } catch (error) {
        if (error instanceof AppError && error.status === 429) {
          for (const [name, value] of Object.entries(error.extra.headers ?? {})) reply.header(name, value);
          return loginPage(
            request,
            reply,
            429,
            form,
            'Too many failed sign-ins. Wait a few minutes and try again.',
          );
        }
        throw error;
      }
      if (!(await verifyPassword(user?.password_hash, text(form, 'password'))) || !user) {
        await guard.fail(request, user ?? text(form, 'username'));
        return loginPage(request, reply, 401, form, 'The username or password is wrong.');
      }
      await signIn(db, request, reply, user.id, cookies);
      return reply.redirect(safeNext(text(form, 'next')), 303);
    },
  );

  app.get('/logout', { schema: { hide: true } }, async (request, reply) => {
    const user = await getUser(db, request.auth!.userId);
    const token = csrfToken(request, reply, cookies);
    return sendPage(
      reply,
      200,
      layout(
        { title: 'Sign out', username: user?.username },
        html`<h1>Sign out?</h1>
          <form method="post" action="/logout">
            ${csrfField(token)}<button type="submit">Sign out</button>
            <a class="button quiet" href="/">Stay</a>
          </form>`,
      ),
    );
  });

  app.post('/logout', { config: { forms: true }, schema: { hide: true } }, async (request, reply) => {
    checkCsrf(request, ((request.body ?? {}) as Form)._csrf);
    await signOut(db, reply, request.auth!, cookies);
    return reply.redirect('/login', 303);
  });
}
