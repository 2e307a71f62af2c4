import fc from 'fast-check';

// Reads the operations out of Folio's own OpenAPI document and turns a request-body or parameter
// schema into a generator of values that satisfy it ("valid-ish": the fuzzer mutates them after).

/** A JSON Schema as @fastify/swagger writes it (only the keywords Folio's routes use). */
export interface Schema {
  $ref?: string;
  type?: string;
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  examples?: unknown[];
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: Schema;
}

export interface Operation {
  method: string;
  /** The path as the document writes it: `/api/notes/{id}`. */
  path: string;
  parameters: Parameter[];
  body: Schema | undefined;
  /** Whether the route asks for a credential (the document lists its security schemes). */
  secured: boolean;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, Schema> };
}

interface OpenApiOperation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  security?: unknown[];
}

/** Every operation of the document, with `$ref`s in its schemas resolved. */
export function operationsOf(document: unknown): Operation[] {
  const doc = document as OpenApiDocument;
  const components = doc.components?.schemas ?? {};
  const resolve = (schema: Schema, depth = 0): Schema => {
    if (depth > 20) return {};
    if (schema.$ref) {
      const name = schema.$ref.replace(/^#\/components\/schemas\//, '');
      return resolve(components[name] ?? {}, depth + 1);
    }
    const out: Schema = { ...schema };
    if (schema.items) out.items = resolve(schema.items, depth + 1);
    if (schema.properties) {
      out.properties = Object.fromEntries(
        Object.entries(schema.properties).map(([name, value]) => [name, resolve(value, depth + 1)]),
      );
    }
    if (schema.anyOf) out.anyOf = schema.anyOf.map((s) => resolve(s, depth + 1));
    if (schema.oneOf) out.oneOf = schema.oneOf.map((s) => resolve(s, depth + 1));
    return out;
  };
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const content = operation.requestBody?.content ?? {};
      const bodySchema = Object.values(content)[0]?.schema;
      operations.push({
        method: method.toUpperCase(),
        path,
        parameters: (operation.parameters ?? []).map((p) => ({ ...p, schema: resolve(p.schema) })),
        body: bodySchema && resolve(bodySchema),
        secured: (operation.security ?? []).length > 0,
      });
    }
  }
  return operations;
}

/** Values for members the fuzzer knows more about than a schema says (which user, which password). */
export type Hints = Record<string, fc.Arbitrary<unknown>>;

const word = fc.stringMatching(/^[a-z][a-z0-9]{0,11}$/);

function stringFor(schema: Schema): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = Math.min(schema.maxLength ?? 40, 40);
  if (schema.enum) return fc.constantFrom(...(schema.enum as string[]));
  switch (schema.format) {
    case 'date-time':
      return fc
        .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
        .map((d) => d.toISOString());
    case 'email':
      return word.map((w) => `${w}@example.com`);
    case 'uri':
      // `.invalid` never resolves: a webhook the fuzzer registers can never reach anything.
      return word.map((w) => `https://${w}.invalid/hook`);
  }
  const text = fc.string({ minLength: Math.max(min, 1), maxLength: Math.max(max, min, 1), unit: 'grapheme' });
  const examples = (schema.examples ?? []).filter((e): e is string => typeof e === 'string');
  const base = examples.length > 0 ? fc.oneof(fc.constantFrom(...examples), text) : text;
  if (!schema.pattern) return base;
  const pattern = new RegExp(schema.pattern, 'u');
  // A filter, not a generator of the pattern: fast-check's stringMatching knows no \p{…}.
  return fc.oneof(base, word).filter((s) => pattern.test(s) && [...s].length >= min);
}

/** Values that satisfy `schema` (what a careful client would send), with `hints` for named members. */
export function valueOf(schema: Schema, hints: Hints = {}, depth = 0): fc.Arbitrary<unknown> {
  if (depth > 8) return fc.constant(null);
  if (schema.anyOf ?? schema.oneOf) {
    return fc.oneof(...(schema.anyOf ?? schema.oneOf)!.map((s) => valueOf(s, hints, depth + 1)));
  }
  if (schema.enum) return fc.constantFrom(...schema.enum);
  switch (schema.type) {
    case 'object': {
      const properties = schema.properties ?? {};
      const record = Object.fromEntries(
        Object.entries(properties).map(([name, value]) => [
          name,
          hints[name] ?? valueOf(value, hints, depth + 1),
        ]),
      );
      return fc.record(record, { requiredKeys: (schema.required ?? []).filter((k) => k in properties) });
    }
    case 'array': {
      const items = valueOf(schema.items ?? {}, hints, depth + 1);
      const constraints = { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 5, 5) };
      return schema.uniqueItems ? fc.uniqueArray(items, constraints) : fc.array(items, constraints);
    }
    case 'string':
      return stringFor(schema);
    case 'integer':
      return fc.integer({
        min: Math.max(schema.minimum ?? -1000, Number.MIN_SAFE_INTEGER),
        max: Math.min(schema.maximum ?? 1000, Number.MAX_SAFE_INTEGER),
      });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1000, max: schema.maximum ?? 1000, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** A query or path parameter's value as text, the way a client would put it in a URL. */
export function textOf(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
