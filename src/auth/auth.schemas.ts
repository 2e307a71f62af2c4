import { Type, type Static } from '@sinclair/typebox';
import { StringEnum } from '../http/schemas.js';
import { Email, Password, User, Username } from '../users/users.schemas.js';

export const RegisterInput = Type.Object(
  { username: Username, email: Email, password: Password },
  { additionalProperties: false, title: 'RegisterInput' },
);
export type RegisterInput = Static<typeof RegisterInput>;

/** JSON, or the OAuth2 password form (RFC 6749 §4.3) so that /docs can sign in. */
export const LoginInput = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 254, description: 'Username or email' }),
    password: Type.String({ minLength: 1, maxLength: 256 }),
    grant_type: Type.Optional(StringEnum(['password'] as const)),
    scope: Type.Optional(Type.String({ maxLength: 200 })),
    client_id: Type.Optional(Type.String({ maxLength: 200 })),
    client_secret: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false, title: 'LoginInput' },
);
export type LoginInput = Static<typeof LoginInput>;

/** JSON, or the OAuth2 refresh form (RFC 6749 §6). */
export const RefreshInput = Type.Object(
  {
    refresh_token: Type.String({ minLength: 1, maxLength: 200 }),
    grant_type: Type.Optional(StringEnum(['refresh_token'] as const)),
    client_id: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false, title: 'RefreshInput' },
);

export const Tokens = Type.Object(
  {
    access_token: Type.String(),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer({ description: 'Seconds until the access token expires', examples: [900] }),
    refresh_token: Type.String({ description: 'Spent by its first use; lives 30 days' }),
  },
  { title: 'Tokens' },
);
export type Tokens = Static<typeof Tokens>;

export const RegisterResult = Type.Composite([Type.Object({ user: Type.Ref(User) }), Tokens], {
  title: 'RegisterResult',
});
