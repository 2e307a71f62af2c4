/**
 * Checks the packaging files without a Docker engine: Dockerfile, compose.yaml, .dockerignore.
 *
 *   npm run lint:docker              the project's files; exit 1 with one line per problem
 *   tsx scripts/lint-docker.ts DIR   the files in DIR instead (the tests lint broken copies)
 *
 * The rules live in scripts/lint-docker/, one module per file checked, each rule exported.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.js';
import { parseCompose, lintComposeRules } from './lint-docker/compose-rules.js';
import { finalStage, parseDockerfile } from './lint-docker/dockerfile.js';
import { FOLIO, lintDockerfileRules, type FolioFacts } from './lint-docker/dockerfile-rules.js';
import { lintDockerignoreRules } from './lint-docker/dockerignore-rules.js';

export * from './lint-docker/compose-rules.js';
export * from './lint-docker/dockerfile.js';
export * from './lint-docker/dockerfile-rules.js';
export * from './lint-docker/dockerignore-rules.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Folio's own facts, read from the code so the rules follow it: the bundle's path, the defaults. */
export function folioFacts(root: string = ROOT): FolioFacts {
  const bundle = /outfile:\s*'([^']+)'/.exec(
    readFileSync(path.join(root, 'scripts/bundle.mjs'), 'utf8'),
  )?.[1];
  const defaults = loadConfig({});
  return {
    bundle: bundle ?? FOLIO.bundle,
    defaultPort: defaults.port,
    defaultDatabaseUrl: defaults.databaseUrl,
  };
}

function read(dir: string, file: string): string | undefined {
  try {
    return readFileSync(path.join(dir, file), 'utf8');
  } catch {
    return undefined;
  }
}

/** Every problem with the packaging files in `dir`, one line each; empty when they pass. */
export function lintProject(dir: string = ROOT, facts: FolioFacts = folioFacts()): string[] {
  const dockerfileText = read(dir, 'Dockerfile');
  const composeText = read(dir, 'compose.yaml');
  const ignoreText = read(dir, '.dockerignore');
  const problems: string[] = [];
  let imagePort = facts.defaultPort;
  let contextSources: { path: string; line: number }[] = [];
  if (dockerfileText === undefined) problems.push('Dockerfile: not found');
  else {
    const dockerfile = parseDockerfile(dockerfileText);
    problems.push(...lintDockerfileRules(dockerfile, facts));
    const port = finalStage(dockerfile)?.env.get('FOLIO_PORT');
    if (port) imagePort = Number(port);
    contextSources = dockerfile.stages.flatMap((stage) =>
      stage.copies
        .filter((copy) => copy.from === undefined && stage.instructions.some((i) => i.line === copy.line))
        .flatMap((copy) => copy.sources.map((source) => ({ path: source, line: copy.line }))),
    );
  }
  if (composeText === undefined) problems.push('compose.yaml: not found');
  else problems.push(...lintComposeRules(parseCompose(composeText), imagePort));
  if (ignoreText === undefined) problems.push('.dockerignore: not found');
  else problems.push(...lintDockerignoreRules(ignoreText, contextSources));
  return problems;
}

function main(args: string[]): number {
  const problems = lintProject(path.resolve(args[0] ?? ROOT));
  if (problems.length === 0) {
    console.log('lint:docker: ok (Dockerfile, compose.yaml, .dockerignore)');
    return 0;
  }
  for (const problem of problems) console.error(problem);
  console.error(`lint:docker: ${problems.length} problem${problems.length === 1 ? '' : 's'}`);
  return 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
