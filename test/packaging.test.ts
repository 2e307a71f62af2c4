import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  checkBuiltAndCopied,
  checkNoLatest,
  containerPort,
  fromEnvironment,
  isIgnored,
  lintProject,
  parseDockerfile,
  parseDockerignore,
  readInstructions,
} from '../scripts/lint-docker.js';
import { tempDir } from './helpers.js';

// The image cannot be built on the development machine (no Docker engine), so
// scripts/lint-docker.ts checks the packaging files as text: the real files must pass, and each
// broken copy below must fail with the message that names its mistake.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FILES = ['Dockerfile', 'compose.yaml', '.dockerignore'] as const;
type File = (typeof FILES)[number];

/** Replaces text that must be in the real file, so a test cannot go stale silently. */
function swap(text: string, from: string | RegExp, to: string): string {
  const changed = text.replace(from, to);
  if (changed === text) throw new Error(`the file no longer contains ${String(from)}`);
  return changed;
}

/** The project's three files in a temporary folder, one of them edited. */
function brokenCopy(file: File, edit: (text: string) => string): string {
  const dir = tempDir();
  for (const name of FILES) {
    const text = readFileSync(path.join(ROOT, name), 'utf8');
    writeFileSync(path.join(dir, name), name === file ? edit(text) : text);
  }
  return dir;
}

const one = (fragment: string) => [expect.stringContaining(fragment)];

async function runCli(dir?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = ['--import', 'tsx', 'scripts/lint-docker.ts', ...(dir ? [dir] : [])];
  return promisify(execFile)(process.execPath, args, { cwd: ROOT }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

describe('npm run lint:docker', () => {
  it('passes the project’s Dockerfile, compose.yaml and .dockerignore', async () => {
    expect(lintProject(ROOT)).toEqual([]);
    const { code, stdout } = await runCli();
    expect(code).toBe(0);
    expect(stdout.trim()).toBe('lint:docker: ok (Dockerfile, compose.yaml, .dockerignore)');
  });

  it('exits 1 with one line per problem', async () => {
    const dir = brokenCopy('Dockerfile', (text) =>
      swap(swap(text, /^USER node$/m, 'USER root'), /^EXPOSE 8080$/m, 'EXPOSE 3000'),
    );
    const { code, stderr } = await runCli(dir);
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^Dockerfile:\d+: USER root runs the server as root/),
      'Dockerfile: EXPOSE must include FOLIO_PORT 8080 (exposes 3000)',
      'lint:docker: 2 problems',
    ]);
  });
});

describe('lint:docker on the Dockerfile', () => {
  // The message each mistake must give; a list when it leads to others too (all of them, in order).
  const cases: [string, (text: string) => string, string | string[]][] = [
    [
      'one stage only',
      (t) => swap(t, /^FROM node:20-bookworm AS build$[\s\S]*?(?=^FROM )/m, ''),
      ['needs at least two stages', ...Array(3).fill('COPY --from=build names no earlier stage (none)')],
    ],
    [
      'a runtime on Node 18',
      (t) => swap(t, 'FROM node:20-bookworm-slim', 'FROM node:18-bookworm-slim'),
      'must pin a Node major version ≥ 20',
    ],
    [
      'a runtime that is not slim',
      (t) => swap(t, 'FROM node:20-bookworm-slim', 'FROM node:20-bookworm'),
      'final stage must be a slim image',
    ],
    [
      'a latest tag',
      (t) => swap(t, 'FROM node:20-bookworm AS build', 'FROM node:latest AS build'),
      'FROM node:latest floats on "latest"',
    ],
    ['running as root', (t) => swap(t, /^USER node$/m, 'USER root'), 'USER root runs the server as root'],
    ['running as uid 0', (t) => swap(t, /^USER node$/m, 'USER 0:0'), 'USER 0:0 runs the server as root'],
    ['no USER', (t) => swap(t, /^USER node\n/m, ''), 'final stage runs as root: add USER'],
    [
      'no HEALTHCHECK',
      (t) => swap(t, /^HEALTHCHECK[^\n]*\\\n[^\n]*\n/m, ''),
      'final stage has no HEALTHCHECK',
    ],
    [
      'HEALTHCHECK NONE',
      (t) => swap(t, /^HEALTHCHECK[^\n]*\\\n[^\n]*\n/m, 'HEALTHCHECK NONE\n'),
      'HEALTHCHECK NONE checks nothing',
    ],
    [
      'a HEALTHCHECK elsewhere',
      (t) => swap(t, "'/api/status'", "'/'"),
      'HEALTHCHECK does not request /api/status',
    ],
    [
      'a HEALTHCHECK on another port',
      (t) =>
        swap(
          t,
          "'http://127.0.0.1:'+(process.env.FOLIO_PORT||8080)+'/api/status'",
          "'http://127.0.0.1:3000/api/status'",
        ),
      'HEALTHCHECK requests port 3000, but FOLIO_PORT is 8080',
    ],
    [
      'no VOLUME',
      (t) => swap(t, /^VOLUME \/data\n/m, ''),
      'the SQLite database /data/folio.db (FOLIO_DATABASE_URL) is in no VOLUME',
    ],
    [
      'a database outside the volume',
      (t) => swap(t, 'sqlite:/data/folio.db', 'sqlite:./data/folio.db'),
      'the SQLite database /app/data/folio.db (FOLIO_DATABASE_URL) is in no VOLUME',
    ],
    [
      'the volume owned by root',
      (t) => swap(t, ' && chown node:node /data', ''),
      'VOLUME /data is not given to the runtime user',
    ],
    [
      'chown after VOLUME',
      (t) =>
        swap(
          swap(t, /^RUN mkdir -p \/data && chown node:node \/data\n/m, ''),
          /^VOLUME \/data$/m,
          'VOLUME /data\nRUN chown node:node /data',
        ),
      'VOLUME /data is not given to the runtime user',
    ],
    [
      'EXPOSE on another port',
      (t) => swap(t, /^EXPOSE 8080$/m, 'EXPOSE 3000'),
      'EXPOSE must include FOLIO_PORT 8080 (exposes 3000)',
    ],
    [
      'CMD in shell form',
      (t) => swap(t, /^CMD \[.*\]$/m, 'CMD node dist/server/folio.js serve'),
      'CMD must use the exec form',
    ],
    ['ENTRYPOINT in shell form', (t) => `${t}ENTRYPOINT node\n`, 'ENTRYPOINT must use the exec form'],
    [
      'ADD of a URL',
      (t) => swap(t, 'COPY tsconfig.json ./', 'ADD https://example.com/tsconfig.json ./'),
      'ADD fetches a remote URL',
    ],
    [
      'a secret in ENV',
      (t) =>
        swap(t, 'FOLIO_PORT=8080 \\', 'FOLIO_PORT=8080 FOLIO_SECRET=0123456789abcdef0123456789abcdef \\'),
      'ENV FOLIO_SECRET bakes a secret into the image',
    ],
    [
      'a password in an ARG default',
      (t) => swap(t, 'WORKDIR /app\nCOPY package', 'WORKDIR /app\nARG NPM_TOKEN=npm_abc\nCOPY package'),
      'ARG NPM_TOKEN bakes a secret into the image',
    ],
    [
      'a password in a URL',
      (t) => swap(t, /^USER node$/m, 'ENV HTTPS_PROXY=http://me:hunter2@proxy:3128\nUSER node'),
      'ENV HTTPS_PROXY bakes a password into the image (in its URL)',
    ],
    [
      'COPY --from a stage that does not exist',
      (t) => swap(t, 'COPY --from=build /app/package.json', 'COPY --from=bulid /app/package.json'),
      'COPY --from=bulid names no earlier stage (stages: build)',
    ],
    [
      'no npm run build',
      (t) => swap(t, 'RUN npm run build && ', 'RUN '),
      'but stage build never runs npm run build',
    ],
    [
      'the bundle not copied',
      (t) => swap(t, /^COPY --from=build \/app\/dist \.\/dist\n/m, ''),
      'CMD runs /app/dist/server/folio.js, which no COPY --from=<build stage> brings',
    ],
    [
      'dist copied from the context',
      (t) => swap(t, 'COPY --from=build /app/dist ./dist', 'COPY dist ./dist'),
      ['which no COPY --from=<build stage> brings', '.dockerignore: excludes dist, which Dockerfile:'],
    ],
    [
      'the wrong folder copied',
      (t) => swap(t, 'COPY --from=build /app/dist ./dist', 'COPY --from=build /app/src ./dist'),
      'COPY --from=build takes /app/src/server/folio.js, but npm run build writes /app/dist/server/folio.js',
    ],
    [
      'node_modules spilled into the app folder',
      (t) =>
        swap(
          t,
          'COPY --from=build /app/node_modules ./node_modules',
          'COPY --from=build /app/node_modules ./',
        ),
      'the final stage needs /app/node_modules',
    ],
    [
      'no package.json',
      (t) => swap(t, /^COPY --from=build \/app\/package.json \.\/\n/m, ''),
      'the final stage needs /app/package.json',
    ],
    [
      'development packages kept',
      (t) => swap(t, ' && npm prune --omit=dev --no-audit --no-fund', ''),
      'run npm prune --omit=dev there',
    ],
  ];
  it.each(cases)('fails on %s', (_, edit, messages) => {
    expect(lintProject(brokenCopy('Dockerfile', edit))).toEqual(
      [messages].flat().map((message) => expect.stringContaining(message)),
    );
  });
});

describe('lint:docker on compose.yaml', () => {
  const cases: [string, (text: string) => string, string][] = [
    ['a version key', (t) => `version: '3.8'\n${t}`, 'drop the obsolete version: key'],
    [
      'no postgres service',
      (t) => swap(t, /^ {2}postgres:\n[\s\S]*?(?=^ {2}folio:)/m, ''),
      'needs a service named postgres',
    ],
    [
      'depends_on without a condition',
      (t) =>
        swap(t, /depends_on:\n\s+postgres:\n\s+condition: service_healthy/, 'depends_on:\n      - postgres'),
      'folio must depend on postgres with condition: service_healthy',
    ],
    [
      'depends_on service_started',
      (t) => swap(t, 'condition: service_healthy', 'condition: service_started'),
      'folio must depend on postgres with condition: service_healthy',
    ],
    [
      'no postgres healthcheck',
      (t) => swap(t, /^ {4}healthcheck:\n(?: {6}.*\n)+/m, ''),
      'postgres needs a healthcheck',
    ],
    [
      'a database on another host',
      (t) => swap(t, '@postgres:5432/folio', '@localhost:5432/folio'),
      'must point at the postgres service (host postgres, got localhost)',
    ],
    [
      'a SQLite database',
      (t) => swap(t, /FOLIO_DATABASE_URL: .*/, 'FOLIO_DATABASE_URL: sqlite:/data/folio.db'),
      "folio's FOLIO_DATABASE_URL must be postgres://",
    ],
    [
      'a literal password in the URL',
      (t) => swap(t, /\$\{POSTGRES_PASSWORD:\?set POSTGRES_PASSWORD\}@/, 'hunter2@'),
      'FOLIO_DATABASE_URL holds a literal password',
    ],
    [
      'FOLIO_ENV development',
      (t) => swap(t, 'FOLIO_ENV: production', 'FOLIO_ENV: development'),
      'folio must set FOLIO_ENV: production (got development)',
    ],
    [
      'a literal FOLIO_SECRET',
      (t) => swap(t, /FOLIO_SECRET: .*/, "FOLIO_SECRET: 'a-secret-written-into-the-compose-file'"),
      "folio's FOLIO_SECRET is written in the file",
    ],
    [
      'a default FOLIO_SECRET',
      (t) =>
        swap(
          t,
          /FOLIO_SECRET: .*/,
          "FOLIO_SECRET: '${FOLIO_SECRET:-change-me-change-me-change-me-change-me}'",
        ),
      "folio's FOLIO_SECRET is written in the file",
    ],
    [
      'no FOLIO_SECRET',
      (t) => swap(t, /^ {6}FOLIO_SECRET: .*\n/m, ''),
      'folio must take FOLIO_SECRET from the environment',
    ],
    [
      'a literal database password',
      (t) => swap(t, /POSTGRES_PASSWORD: .*/, 'POSTGRES_PASSWORD: hunter2'),
      "postgres's POSTGRES_PASSWORD is written in the file",
    ],
    [
      'an undeclared volume',
      (t) => swap(t, /^volumes:\n {2}postgres-data:\n/m, ''),
      'postgres uses volume postgres-data, which the top-level volumes: does not declare',
    ],
    [
      'a port that misses FOLIO_PORT',
      (t) => swap(t, "'8080:8080'", "'8080:3000'"),
      "folio's port 8080:3000 must map to the container's FOLIO_PORT 8080",
    ],
    ['no published port', (t) => swap(t, /^ {4}ports:\n {6}- .*\n/m, ''), 'folio publishes no port'],
    [
      'an unpinned postgres',
      (t) => swap(t, 'image: postgres:17', 'image: postgres'),
      'postgres\'s image postgres floats on "latest"',
    ],
    ['broken YAML', (t) => `${t}\n  : [\n`, 'not valid YAML'],
  ];
  it.each(cases)('fails on %s', (_, edit, message) => {
    expect(lintProject(brokenCopy('compose.yaml', edit))).toEqual(
      message === 'not valid YAML' ? expect.arrayContaining(one(message)) : one(message),
    );
  });
});

describe('lint:docker on .dockerignore', () => {
  it.each(['node_modules', 'data', '.git'])('fails when %s is not excluded', (name) => {
    const dir = brokenCopy('.dockerignore', (t) =>
      swap(t, new RegExp(`^${name.replace('.', '\\.')}$`, 'm'), ''),
    );
    expect(lintProject(dir)).toEqual([`.dockerignore: must exclude ${name}`]);
  });

  it('fails when it excludes what the Dockerfile copies', () => {
    expect(lintProject(brokenCopy('.dockerignore', (t) => `${t}src/\n`))).toEqual(
      one('.dockerignore: excludes src, which Dockerfile:'),
    );
  });

  it('reads patterns as the builder does: folders, **, and ! exceptions', () => {
    const rules = parseDockerignore('# comment\n/node_modules/\n**/*.log\n*.md\n!README.md\n');
    expect(isIgnored(rules, 'node_modules/better-sqlite3/package.json')).toBe(true);
    expect(isIgnored(rules, 'bench/results/run.log')).toBe(true);
    expect(isIgnored(rules, 'docs.md')).toBe(true);
    expect(isIgnored(rules, 'README.md')).toBe(false);
    expect(isIgnored(rules, 'src/node_modules')).toBe(false);
  });
});

describe('lint:docker’s Dockerfile reader', () => {
  it('joins continued lines, skips comments inside them, and tells exec from shell form', () => {
    const instructions = readInstructions(
      'FROM node:20-slim\nRUN apt-get update \\\n# a comment\n    && true\nCMD ["node", "a.js"]\nCMD node a.js\n',
    );
    expect(instructions.map((i) => [i.line, i.keyword, i.args, i.exec])).toEqual([
      [1, 'FROM', 'node:20-slim', undefined],
      [2, 'RUN', 'apt-get update     && true', undefined],
      [5, 'CMD', '["node", "a.js"]', ['node', 'a.js']],
      [6, 'CMD', 'node a.js', undefined],
    ]);
  });

  it('reads heredocs, the escape directive, and ARGs in FROM', () => {
    const dockerfile = parseDockerfile(
      '# escape=`\nARG NODE=20\nFROM node:${NODE}-bookworm-slim AS base\nRUN <<EOF\nchown node /data\nEOF\nENV A=1 `\n  B="two words"\nENV C old form\n',
    );
    const stage = dockerfile.stages[0]!;
    expect(stage.image).toBe('node:20-bookworm-slim');
    expect(stage.name).toBe('base');
    expect(stage.runs[0]!.text).toContain('chown node /data');
    expect([...stage.env]).toEqual([
      ['A', '1'],
      ['B', 'two words'],
      ['C', 'old form'],
    ]);
  });

  it('follows a stage built on another, and digests count as pinned', () => {
    const dockerfile = parseDockerfile(
      'FROM node:20@sha256:abc AS build\nWORKDIR /app\nRUN npm ci && npm run build && npm prune --omit=dev\nFROM build AS runtime\nCOPY --from=0 /app/dist ./dist\nCOPY --from=0 /app/node_modules /app/package.json ./\nCMD ["node", "dist/server/folio.js"]\n',
    );
    expect(checkNoLatest(dockerfile)).toEqual([]);
    expect(dockerfile.stages[1]!.workdir).toBe('/app');
    // Two sources into ./: node_modules' contents spill into /app, not /app/node_modules.
    expect(checkBuiltAndCopied(dockerfile)).toEqual(one('the final stage needs /app/node_modules'));
  });

  it('reads compose values from the environment only without a default', () => {
    expect(fromEnvironment('${FOLIO_SECRET}')).toBe(true);
    expect(fromEnvironment('${FOLIO_SECRET:?set it}')).toBe(true);
    expect(fromEnvironment(null)).toBe(true);
    expect(fromEnvironment('${FOLIO_SECRET:-x}')).toBe(false);
    expect(fromEnvironment('plain')).toBe(false);
    expect([
      containerPort('8080'),
      containerPort('127.0.0.1:80:8080/tcp'),
      containerPort({ target: 8080 }),
    ]).toEqual([8080, 8080, 8080]);
  });
});
