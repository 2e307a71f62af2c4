import { Ajv, type Options, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import { AppError, fieldErrors, type FieldError } from '../errors.js';

/** Bodies parsed from form data: their fields are text, so they are validated with coercion. */
const formBodies = new WeakSet<object>();

export function markFormBody<T extends object>(body: T): T {
  formBodies.add(body);
  return body;
}

export function isFormBody(body: unknown): boolean {
  return typeof body === 'object' && body !== null && formBodies.has(body);
}

function makeAjv(options: Options): Ajv {
  const ajv = new Ajv({
    allErrors: true, // every bad field in one answer, not just the first
    removeAdditional: false, // unknown members are errors, never dropped silently
    useDefaults: true,
    verbose: true, // errors carry their schema, for the `x-error` messages below
    ...options,
  });
  addFormats.default(ajv);
  // RFC 3339 has leap seconds (23:59:60), which a JavaScript Date cannot hold: such a time would
  // pass here and then make `new Date(…).toISOString()` throw in a handler. Only times Folio can store.
  const rfc3339 = addFormats.default.get('date-time') as { validate: (text: string) => boolean };
  ajv.addFormat('date-time', {
    type: 'string',
    validate: (text: string) => rfc3339.validate(text) && Number.isFinite(Date.parse(text)),
  });
  // A schema's own wording for an error that Ajv would describe as a regular expression.
  ajv.addKeyword({ keyword: 'x-error', schemaType: 'string' });
  return ajv;
}

// JSON is taken as sent: "title": 123 and "pinned": "true" are errors (product.md, "Input").
const jsonAjv = makeAjv({ coerceTypes: false });
// Query strings, path parameters and form fields are text, so they are parsed into their types.
const textAjv = makeAjv({ coerceTypes: 'array' });

type Validator = ((data: unknown) => boolean | { error: Error }) & { errors?: ValidateFunction['errors'] };

// Validators are compiled on first use, not at start-up: compiling every route's schemas was a
// fifth of the time to the first answered request, and most routes wait long for their first call.

type AjvErrors = NonNullable<ValidateFunction['errors']>;

/**
 * Ajv coerces the text `Infinity` (or `1e400`) into a number and then skips its limits, which
 * only look at finite numbers: `?limit=Infinity` would pass `maximum: 100`. Text holds no such
 * number, so each one is an error of its field. (A JSON body cannot carry one past Ajv.)
 */
function infiniteNumbers(data: unknown): AjvErrors {
  const errors: AjvErrors = [];
  if (typeof data !== 'object' || data === null) return errors;
  const pointer = (name: string) => `/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
  for (const [name, value] of Object.entries(data)) {
    const values: unknown[] = Array.isArray(value) ? value : [value];
    values.forEach((item, i) => {
      if (typeof item !== 'number' || Number.isFinite(item)) return;
      const instancePath = Array.isArray(value) ? `${pointer(name)}/${i}` : pointer(name);
      errors.push({
        instancePath,
        schemaPath: '',
        keyword: 'type',
        params: {},
        message: 'must be a finite number',
      });
    });
  }
  return errors;
}

/** Runs a text validator, refusing the infinite numbers Ajv's coercion lets through. */
function checkText(fn: ValidateFunction, validate: Validator, data: unknown): boolean {
  const ok = fn(data);
  const infinite = infiniteNumbers(data);
  validate.errors = infinite.length > 0 ? [...(fn.errors ?? []), ...infinite] : fn.errors;
  return ok && infinite.length === 0;
}

function bodyValidator(schema: object): Validator {
  let json: ValidateFunction | undefined;
  let form: ValidateFunction | undefined;
  const validate: Validator = (data) => {
    // Fastify passes null when no body came at all: that is unreadable JSON, not a bad field.
    if (data === null) {
      return {
        error: new AppError(400, 'invalid_json', 'The request body is empty; a JSON document is required'),
      };
    }
    if (isFormBody(data)) return checkText((form ??= textAjv.compile(schema)), validate, data);
    const fn = (json ??= jsonAjv.compile(schema));
    const ok = fn(data);
    validate.errors = fn.errors;
    return ok;
  };
  return validate;
}

function textValidator(schema: object): Validator {
  let fn: ValidateFunction | undefined;
  const validate: Validator = (data) => checkText((fn ??= textAjv.compile(schema)), validate, data);
  return validate;
}

/** Installs Folio's validation: strict JSON bodies, parsed text elsewhere, all errors reported. */
export function installValidation(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? bodyValidator(schema) : textValidator(schema),
  );
}

/** Validates data outside a request (the CLI) with the same rules; the errors as the API would list them. */
export function checkAgainst(schema: object, data: unknown): FieldError[] {
  const validate = jsonAjv.compile(schema);
  return validate(data) ? [] : fieldErrors(validate.errors ?? [], 'body');
}
