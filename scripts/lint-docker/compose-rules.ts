/**
 * compose.yaml's rules for `npm run lint:docker`: Folio on PostgreSQL, started only once the
 * database is healthy, its secrets taken from the environment. Messages read
 * `compose.yaml:LINE: what is wrong`.
 */
import { LineCounter, parseDocument, isMap } from 'yaml';
import { imageParts, SECRET_NAME } from './dockerfile-rules.js';

export interface Compose {
  /** The document as plain data. */
  data: Record<string, unknown>;
  /** The line of the node at a path of keys, for messages. */
  lineOf(keys: (string | number)[]): number | undefined;
  /** Problems reading the file at all. */
  errors: string[];
}

type Service = Record<string, unknown>;

/** Reads compose.yaml, keeping where each node sits. */
export function parseCompose(text: string): Compose {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter });
  const errors = document.errors.map(
    (error) =>
      `compose.yaml:${error.linePos?.[0].line ?? '?'}: not valid YAML: ${error.message.split('\n')[0]}`,
  );
  const data: unknown = errors.length ? {} : document.toJS();
  return {
    data:
      isMap(document.contents) && data && typeof data === 'object' ? (data as Record<string, unknown>) : {},
    lineOf(keys) {
      const node = document.getIn(keys, true) as { range?: [number, number, number] } | undefined;
      return node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
    },
    errors:
      errors.length || isMap(document.contents) ? errors : ['compose.yaml: must be a mapping with services:'],
  };
}

const record = (value: unknown): Record<string, unknown> | undefined =>
  value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;

function at(compose: Compose, keys: (string | number)[]): string {
  const line = compose.lineOf(keys);
  return line === undefined ? 'compose.yaml' : `compose.yaml:${line}`;
}

function services(compose: Compose): Record<string, Service> {
  const all = record(compose.data.services) ?? {};
  return Object.fromEntries(Object.entries(all).map(([name, service]) => [name, record(service) ?? {}]));
}

/** A service's environment as name → value (`null`: passed through from the shell, no value). */
export function environmentOf(service: Service): Map<string, string | null> {
  const env = new Map<string, string | null>();
  const given = service.environment;
  if (Array.isArray(given)) {
    for (const item of given) {
      const text = String(item);
      const equals = text.indexOf('=');
      if (equals < 0) env.set(text, null);
      else env.set(text.slice(0, equals), text.slice(equals + 1));
    }
  } else {
    for (const [name, value] of Object.entries(record(given) ?? {})) {
      env.set(name, value === null || value === undefined ? null : String(value));
    }
  }
  return env;
}

/**
 * Whether a value comes from the environment rather than from this file: `${VAR}`, `${VAR:?…}`
 * or `${VAR?…}`, or no value at all (passed through). A default (`${VAR:-x}`) is a literal.
 */
export function fromEnvironment(value: string | null): boolean {
  return value === null || /^\$\{\w+(:?\?[^}]*)?\}$/.test(value);
}

/** The services folio and postgres exist, and the obsolete `version:` key does not. */
export function checkServices(compose: Compose): string[] {
  const all = services(compose);
  const problems =
    compose.data.version !== undefined
      ? [`${at(compose, ['version'])}: drop the obsolete version: key (the Compose spec ignores it)`]
      : [];
  for (const name of ['folio', 'postgres']) {
    if (!(name in all)) problems.push(`compose.yaml: needs a service named ${name}`);
  }
  return problems;
}

/** folio starts only once postgres is healthy. */
export function checkDependsOn(compose: Compose): string[] {
  const folio = services(compose).folio;
  if (!folio) return [];
  const condition = record(record(folio.depends_on)?.postgres)?.condition;
  if (condition === 'service_healthy') return [];
  return [
    `${at(compose, ['services', 'folio', 'depends_on'])}: folio must depend on postgres with condition: service_healthy (it migrates the database at start)`,
  ];
}

/** postgres has a healthcheck that tests something, for folio to wait on. */
export function checkPostgresHealthcheck(compose: Compose): string[] {
  const postgres = services(compose).postgres;
  if (!postgres) return [];
  const healthcheck = record(postgres.healthcheck);
  const test = healthcheck?.test;
  const empty = test === undefined || (Array.isArray(test) && (test.length === 0 || test[0] === 'NONE'));
  return !healthcheck || healthcheck.disable === true || empty
    ? [
        `${at(compose, ['services', 'postgres'])}: postgres needs a healthcheck (test: pg_isready …) for folio to wait on`,
      ]
    : [];
}

/** folio runs in production, on the postgres service, with FOLIO_SECRET from the environment. */
export function checkFolioEnvironment(compose: Compose): string[] {
  const folio = services(compose).folio;
  const postgres = services(compose).postgres;
  if (!folio) return [];
  const env = environmentOf(folio);
  const where = (name: string) => at(compose, ['services', 'folio', 'environment', name]);
  const problems: string[] = [];
  const url = env.get('FOLIO_DATABASE_URL');
  const host = url ? /^postgres(?:ql)?:\/\/(?:([^@/]*)@)?([^:/?#]+)/.exec(url) : null;
  const hostnames = [
    'postgres',
    ...(postgres && typeof postgres.hostname === 'string' ? [postgres.hostname] : []),
  ];
  if (!host) {
    problems.push(
      `${where('FOLIO_DATABASE_URL')}: folio's FOLIO_DATABASE_URL must be postgres://…@postgres:5432/… (got ${url ?? 'nothing'})`,
    );
  } else if (!hostnames.includes(host[2]!)) {
    problems.push(
      `${where('FOLIO_DATABASE_URL')}: folio's FOLIO_DATABASE_URL must point at the postgres service (host postgres, got ${host[2]})`,
    );
  } else {
    const userinfo = host[1] ?? '';
    const password = userinfo.includes(':') ? userinfo.slice(userinfo.indexOf(':') + 1) : undefined;
    if (password !== undefined && !fromEnvironment(password)) {
      problems.push(
        `${where('FOLIO_DATABASE_URL')}: FOLIO_DATABASE_URL holds a literal password: use \${POSTGRES_PASSWORD}`,
      );
    }
  }
  if (env.get('FOLIO_ENV') !== 'production') {
    problems.push(
      `${where('FOLIO_ENV')}: folio must set FOLIO_ENV: production (got ${env.get('FOLIO_ENV') ?? 'nothing'})`,
    );
  }
  if (!env.has('FOLIO_SECRET')) {
    problems.push(
      `${at(compose, ['services', 'folio'])}: folio must take FOLIO_SECRET from the environment: FOLIO_SECRET: \${FOLIO_SECRET:?…}`,
    );
  }
  return problems;
}

/** No service may carry a secret-looking variable whose value is written in the file. */
export function checkComposeSecrets(compose: Compose): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(services(compose))) {
    for (const [variable, value] of environmentOf(service)) {
      if (SECRET_NAME.test(variable) && !fromEnvironment(value)) {
        problems.push(
          `${at(compose, ['services', name, 'environment', variable])}: ${name}'s ${variable} is written in the file: take it from the environment, \${${variable}:?…}`,
        );
      }
    }
  }
  return problems;
}

/** Every named volume a service mounts is declared at the top level. */
export function checkVolumes(compose: Compose): string[] {
  const declared = record(compose.data.volumes) ?? {};
  const problems: string[] = [];
  for (const [name, service] of Object.entries(services(compose))) {
    const volumes = Array.isArray(service.volumes) ? service.volumes : [];
    volumes.forEach((volume: unknown, index) => {
      const long = record(volume);
      const source = long
        ? long.type === 'volume' || long.type === undefined
          ? long.source
          : undefined
        : String(volume).split(':').length > 1
          ? String(volume).split(':')[0]
          : undefined;
      // Bind mounts start with a path; a volume without a source is anonymous.
      if (typeof source !== 'string' || /^[./~$]/.test(source)) return;
      if (!(source in declared)) {
        problems.push(
          `${at(compose, ['services', name, 'volumes', index])}: ${name} uses volume ${source}, which the top-level volumes: does not declare`,
        );
      }
    });
  }
  return problems;
}

/** The container port of a `ports:` entry: `8080`, `80:8080`, `127.0.0.1:80:8080/tcp`, or long syntax. */
export function containerPort(entry: unknown): number | undefined {
  const long = record(entry);
  if (long) return Number(long.target);
  const text = String(entry).replace(/\/(tcp|udp)$/, '');
  return Number(text.slice(text.lastIndexOf(':') + 1));
}

/** folio publishes a port, and each one maps to the container's FOLIO_PORT. */
export function checkPorts(compose: Compose, imagePort: number): string[] {
  const folio = services(compose).folio;
  if (!folio) return [];
  const configured = environmentOf(folio).get('FOLIO_PORT');
  const port = configured ? Number(configured) : imagePort;
  const ports = Array.isArray(folio.ports) ? folio.ports : [];
  if (ports.length === 0)
    return [`${at(compose, ['services', 'folio'])}: folio publishes no port: ports: ['${port}:${port}']`];
  return ports.flatMap((entry: unknown, index) =>
    containerPort(entry) === port
      ? []
      : [
          `${at(compose, ['services', 'folio', 'ports', index])}: folio's port ${String(entry)} must map to the container's FOLIO_PORT ${port}`,
        ],
  );
}

/** Every image a service pulls names a version (or a digest), never `latest`. */
export function checkImages(compose: Compose): string[] {
  return Object.entries(services(compose)).flatMap(([name, service]) => {
    if (typeof service.image !== 'string' || service.build !== undefined) return [];
    const { tag, digest } = imageParts(service.image);
    return !digest && (tag === undefined || tag === 'latest')
      ? [
          `${at(compose, ['services', name, 'image'])}: ${name}'s image ${service.image} floats on "latest": pin a version tag`,
        ]
      : [];
  });
}

/** Every compose rule; `imagePort` is FOLIO_PORT as the image sets it. */
export function lintComposeRules(compose: Compose, imagePort: number): string[] {
  if (compose.errors.length) return compose.errors;
  return [
    ...checkServices(compose),
    ...checkDependsOn(compose),
    ...checkPostgresHealthcheck(compose),
    ...checkFolioEnvironment(compose),
    ...checkComposeSecrets(compose),
    ...checkVolumes(compose),
    ...checkPorts(compose, imagePort),
    ...checkImages(compose),
  ];
}
