import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from '../http/schemas.js';

export const Username = Type.String({
  minLength: 3,
  maxLength: 32,
  pattern: '^[A-Za-z0-9_.-]+$',
  'x-error': 'may only contain letters a-z, digits and _ . -',
  examples: ['ada'],
});
export const Email = Type.String({ format: 'email', maxLength: 254, examples: ['ada@example.com'] });
export const Password = Type.String({ minLength: 8, maxLength: 256, examples: ['correct horse battery'] });

export const User = Type.Object(
  {
    id: Type.Integer(),
    username: Username,
    email: Email,
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'User', title: 'User' },
);
export type User = Static<typeof User>;

const CurrentPassword = Type.String({ minLength: 1, maxLength: 256, description: 'Your password now' });

export const AccountPatch = Type.Object(
  {
    email: Type.Optional(Email),
    password: Type.Optional(Password),
    current_password: Type.Optional(CurrentPassword),
  },
  {
    additionalProperties: false,
    title: 'AccountPatch',
    description: 'A new password needs current_password',
  },
);

export const AccountDeletion = Type.Object(
  { password: Type.Optional(CurrentPassword) },
  { additionalProperties: false, title: 'AccountDeletion', description: 'Your password, to confirm' },
);

export const SessionInfo = Type.Object(
  {
    id: Type.Integer(),
    created_at: Timestamp,
    last_used_at: Timestamp,
    user_agent: Type.Union([Type.String(), Type.Null()]),
    current: Type.Boolean({ description: 'The session this request was made with' }),
  },
  { title: 'Session' },
);
