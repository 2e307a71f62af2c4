import { Type, type Static } from '@sinclair/typebox';
import { Nullable, StringEnum, Timestamp } from '../http/schemas.js';

export const SCOPES = ['notes:read', 'notes:write'] as const;
export type Scope = (typeof SCOPES)[number];

export const ApiKey = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String({ examples: ['backup script'] }),
    prefix: Type.String({
      description: 'The first characters of the key, to tell keys apart',
      examples: ['folio_Xa3k'],
    }),
    scopes: Type.Array(StringEnum(SCOPES)),
    created_at: Timestamp,
    expires_at: Nullable(Timestamp),
    last_used_at: Nullable(Timestamp),
  },
  { $id: 'ApiKey', title: 'ApiKey' },
);
export type ApiKey = Static<typeof ApiKey>;

export const ApiKeyInput = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: 100,
      // Unpaired surrogates too: the database would store U+FFFD instead.
      pattern: '^[^\\p{Cc}\\p{Cs}]*$',
      'x-error': 'must not contain control characters or unpaired surrogates',
    }),
    scopes: Type.Optional(
      Type.Array(StringEnum(SCOPES), {
        minItems: 1,
        uniqueItems: true,
        description: 'Defaults to both; notes:write includes reading',
      }),
    ),
    expires_at: Type.Optional(Type.String({ format: 'date-time', description: 'A time in the future' })),
  },
  { additionalProperties: false, title: 'ApiKeyInput' },
);
export type ApiKeyInput = Static<typeof ApiKeyInput>;

export const NewApiKey = Type.Composite(
  [
    Type.Omit(ApiKey, []),
    Type.Object({
      key: Type.String({ description: 'The secret: shown this once only', examples: ['folio_…'] }),
    }),
  ],
  { title: 'NewApiKey' },
);
