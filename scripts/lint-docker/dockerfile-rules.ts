/**
 * The Dockerfile's rules for `npm run lint:docker`. Each takes the parsed file and returns its
 * problems as one-line messages, `Dockerfile:LINE: what is wrong`; none means the rule holds.
 */
import path from 'node:path/posix';
import { assignments, finalStage, originsOf, stageNamed, type Dockerfile, type Stage } from './dockerfile.js';

/** What the rules need to know about Folio itself. */
export interface FolioFacts {
  /** The bundle `npm run build` writes, relative to the project (scripts/bundle.mjs's outfile). */
  bundle: string;
  /** FOLIO_PORT when unset (src/config.ts). */
  defaultPort: number;
  /** FOLIO_DATABASE_URL when unset, relative to the working directory (src/config.ts). */
  defaultDatabaseUrl: string;
}

export const FOLIO: FolioFacts = {
  bundle: 'dist/server/folio.js',
  defaultPort: 8080,
  defaultDatabaseUrl: 'sqlite:./data/folio.db',
};

/** Names of variables whose value must never be written into an image or a compose file. */
export const SECRET_NAME = /SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL/i;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const at = (line: number | undefined) => (line === undefined ? 'Dockerfile' : `Dockerfile:${line}`);

/** The image a stage finally rests on, following `FROM <earlier stage>`. */
function baseImage(stage: Stage): { image: string; line: number } {
  let current = stage;
  while (current.parent) current = current.parent;
  return { image: current.image, line: current.line };
}

/** `registry/name:tag@digest` → its parts (name without registry and `library/`). */
export function imageParts(ref: string): { name: string; tag?: string; digest?: string } {
  const [withoutDigest = '', digest] = ref.split('@');
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  const tag = colon > slash ? withoutDigest.slice(colon + 1) : undefined;
  let name = colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
  name = name
    .replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, '')
    .replace(/^library\//, '');
  return { name, tag, digest };
}

/** A build stage and a runtime stage at least, so build tools stay out of the image. */
export function checkStages(dockerfile: Dockerfile): string[] {
  const count = dockerfile.stages.length;
  return count >= 2
    ? []
    : [`Dockerfile: needs at least two stages (build, then a slim runtime); found ${count} FROM`];
}

/** The runtime rests on a slim official node image of a pinned major version, 20 or later. */
export function checkRuntimeBase(dockerfile: Dockerfile): string[] {
  const stage = finalStage(dockerfile);
  if (!stage) return [];
  const { image, line } = baseImage(stage);
  const { name, tag = '' } = imageParts(image);
  if (name !== 'node')
    return [`${at(line)}: final stage must be based on the official node image (got "${image}")`];
  const problems: string[] = [];
  const major = /^(\d+)(?:[.-]|$)/.exec(tag);
  if (!major || Number(major[1]) < 20) {
    problems.push(
      `${at(line)}: final stage must pin a Node major version ≥ 20, like node:20-bookworm-slim (got "${image}")`,
    );
  }
  if (!/(^|-)slim($|-)/.test(tag)) {
    problems.push(
      `${at(line)}: final stage must be a slim image, like node:20-bookworm-slim (got "${image}")`,
    );
  }
  return problems;
}

/** Every base image names a version (or a digest), never an implicit or explicit `latest`. */
export function checkNoLatest(dockerfile: Dockerfile): string[] {
  const problems: string[] = [];
  for (const stage of dockerfile.stages) {
    if (stage.parent || stage.image === 'scratch') continue;
    const { tag, digest } = imageParts(stage.image);
    if (!digest && (tag === undefined || tag === 'latest')) {
      problems.push(`${at(stage.line)}: FROM ${stage.image} floats on "latest": pin a version tag`);
    }
  }
  return problems;
}

/** The runtime stage ends on a USER that is not root. */
export function checkUser(dockerfile: Dockerfile): string[] {
  const stage = finalStage(dockerfile);
  if (!stage) return [];
  if (!stage.user)
    return ['Dockerfile: final stage runs as root: add USER node (a non-root user) before CMD'];
  const user = stage.user.value.split(':')[0]!;
  return user === '' || user === 'root' || user === '0'
    ? [`${at(stage.user.line)}: USER ${stage.user.value} runs the server as root: use a non-root user (node)`]
    : [];
}

function folioPort(stage: Stage, facts: FolioFacts): number {
  const port = stage.env.get('FOLIO_PORT');
  return port ? Number(port) : facts.defaultPort;
}

/** The runtime stage has a HEALTHCHECK that requests /api/status, on FOLIO_PORT when it names a port. */
export function checkHealthcheck(dockerfile: Dockerfile, facts: FolioFacts = FOLIO): string[] {
  const stage = finalStage(dockerfile);
  if (!stage) return [];
  const healthcheck = stage.healthcheck;
  if (!healthcheck) return ['Dockerfile: final stage has no HEALTHCHECK: add one that requests /api/status'];
  const command = /^CMD\s+([\s\S]*)$/i.exec(healthcheck.args)?.[1];
  if (command === undefined) {
    return [
      `${at(healthcheck.line)}: HEALTHCHECK ${healthcheck.args.split(/\s/)[0]} checks nothing: use HEALTHCHECK CMD … /api/status`,
    ];
  }
  if (!command.includes('/api/status'))
    return [`${at(healthcheck.line)}: HEALTHCHECK does not request /api/status`];
  const literal = /:(\d+)\/api\/status/.exec(command);
  const port = folioPort(stage, facts);
  return literal && Number(literal[1]) !== port
    ? [`${at(healthcheck.line)}: HEALTHCHECK requests port ${literal[1]}, but FOLIO_PORT is ${port}`]
    : [];
}

/** The SQLite file lies inside a VOLUME that is handed to the runtime user before it is declared. */
export function checkDataVolume(dockerfile: Dockerfile, facts: FolioFacts = FOLIO): string[] {
  const stage = finalStage(dockerfile);
  if (!stage) return [];
  const url = stage.env.get('FOLIO_DATABASE_URL') ?? facts.defaultDatabaseUrl;
  if (!url.startsWith('sqlite:')) {
    return [`Dockerfile: FOLIO_DATABASE_URL must default to a SQLite file inside a VOLUME (got "${url}")`];
  }
  const file = path.resolve(stage.workdir, url.slice('sqlite:'.length));
  const volume = stage.volumes.find((v) => file.startsWith(`${v.path.replace(/\/$/, '')}/`));
  if (!volume) {
    return [
      `Dockerfile: the SQLite database ${file} (FOLIO_DATABASE_URL) is in no VOLUME: add VOLUME ${path.dirname(file)}`,
    ];
  }
  // Changes a build step makes inside a declared volume are discarded, so the owner must be set first.
  const owner = stage.user?.value.split(':')[0];
  // Root owns it already; checkUser reports running as root.
  if (owner === undefined || owner === '' || owner === 'root' || owner === '0') return [];
  const dir = volume.path.replace(/\/$/, '');
  const chowned = stage.runs.some(
    (run) =>
      run.line < volume.line &&
      /\bchown\b/.test(run.text) &&
      new RegExp(`\\b${escapeRegExp(owner)}\\b`).test(run.text) &&
      new RegExp(`(^|[\\s'"])${escapeRegExp(dir)}/?($|[\\s'";&|])`).test(run.text),
  );
  return chowned
    ? []
    : [
        `${at(volume.line)}: VOLUME ${dir} is not given to the runtime user: RUN mkdir -p ${dir} && chown ${owner}:${owner} ${dir} before VOLUME`,
      ];
}

/** EXPOSE names the port Folio listens on (FOLIO_PORT). */
export function checkExpose(dockerfile: Dockerfile, facts: FolioFacts = FOLIO): string[] {
  const stage = finalStage(dockerfile);
  if (!stage) return [];
  const port = folioPort(stage, facts);
  if (stage.exposes.some((e) => e.port === port)) return [];
  const exposed = stage.exposes.map((e) => e.port).join(', ');
  return [`Dockerfile: EXPOSE must include FOLIO_PORT ${port}${exposed ? ` (exposes ${exposed})` : ''}`];
}

/** CMD (and ENTRYPOINT, if any) use the exec form, so node itself gets the stop signal. */
export function checkCmd(dockerfile: Dockerfile): string[] {
  const stage = finalStage(dockerfile);
  if (!stage) return [];
  const problems: string[] = [];
  if (!stage.cmd)
    problems.push('Dockerfile: final stage has no CMD: add CMD ["node", "dist/server/folio.js", "serve"]');
  else if (!stage.cmd.exec) {
    problems.push(
      `${at(stage.cmd.line)}: CMD must use the exec form (a JSON array), so node gets SIGTERM directly`,
    );
  }
  if (stage.entrypoint && !stage.entrypoint.exec) {
    problems.push(`${at(stage.entrypoint.line)}: ENTRYPOINT must use the exec form (a JSON array)`);
  }
  return problems;
}

/** ADD never fetches a URL (no checksum, no cache control): download in RUN or COPY instead. */
export function checkAdd(dockerfile: Dockerfile): string[] {
  return dockerfile.instructions
    .filter(
      (i) =>
        i.keyword === 'ADD' &&
        (i.exec ?? i.args.split(/\s+/)).slice(0, -1).some((s) => /^[a-z][\w+.-]*:\/\/|^git@/i.test(s)),
    )
    .map(
      (i) =>
        `${at(i.line)}: ADD fetches a remote URL: download in a RUN step with a checksum, or COPY a file`,
    );
}

/** No ENV or ARG gives a value to a secret-looking name, or a URL with a password. */
export function checkDockerfileSecrets(dockerfile: Dockerfile): string[] {
  const problems: string[] = [];
  for (const instruction of dockerfile.instructions) {
    if (instruction.keyword !== 'ENV' && instruction.keyword !== 'ARG') continue;
    for (const { name, value = '' } of assignments(instruction.args)) {
      const where = `${at(instruction.line)}: ${instruction.keyword} ${name}`;
      if (SECRET_NAME.test(name) && value !== '') {
        problems.push(
          `${where} bakes a secret into the image: pass it at run time (docker run -e ${name}=…)`,
        );
      } else if (/:\/\/[^/@\s]*:[^/@\s]+@/.test(value)) {
        problems.push(`${where} bakes a password into the image (in its URL): pass it at run time`);
      }
    }
  }
  return problems;
}

/** Every `COPY --from=` names an earlier stage, by name or index. */
export function checkCopyFrom(dockerfile: Dockerfile): string[] {
  const problems: string[] = [];
  for (const stage of dockerfile.stages) {
    for (const copy of stage.copies) {
      if (copy.from === undefined || !stage.instructions.some((i) => i.line === copy.line)) continue;
      if (!stageNamed(dockerfile, copy.from, stage.index)) {
        const names = dockerfile.stages
          .filter((s) => s.index < stage.index)
          .map((s) => s.name ?? String(s.index));
        problems.push(
          `Dockerfile:${copy.line}: COPY --from=${copy.from} names no earlier stage (${names.length ? `stages: ${names.join(', ')}` : 'none'})`,
        );
      }
    }
  }
  return problems;
}

const BUILDS = /\bnpm\s+(run(-script)?\s+build|run-script\s+build)\b|\bnode\s+scripts\/bundle\.mjs\b/;
const INSTALLS = /\bnpm\s+(ci|install|i)\b/;
const PRUNES = /\bnpm\s+prune\b[^;&|]*--omit[= ]dev|\bnpm\s+(ci|install)\b[^;&|]*--omit[= ]dev/;

/**
 * The file CMD runs is the bundle, built by `npm run build` in an earlier stage and copied in;
 * beside it the runtime finds package.json (read by /api/status) and node_modules (the packages
 * the bundle leaves outside), without the development packages.
 */
export function checkBuiltAndCopied(dockerfile: Dockerfile, facts: FolioFacts = FOLIO): string[] {
  const stage = finalStage(dockerfile);
  if (!stage?.cmd?.exec) return [];
  const script = stage.cmd.exec.find((arg, i) => i > 0 && /\.[cm]?js$/.test(arg) && !arg.startsWith('-'));
  if (!script) return [`${at(stage.cmd.line)}: CMD runs no .js file: expected node ${facts.bundle} serve`];
  const target = path.resolve(stage.workdir, script);
  if (!target.endsWith(`/${facts.bundle}`)) {
    return [`${at(stage.cmd.line)}: CMD runs ${script}, but npm run build writes ${facts.bundle}`];
  }
  const root = target.slice(0, -facts.bundle.length - 1) || '/';
  // A file is fine when some COPY --from brings the source stage's own one (a later copy of a
  // folder may not hold it at all).
  const copied = (file: string) =>
    originsOf(stage, path.join(root, file)).map((origin) => {
      const from =
        origin.copy.from === undefined ? undefined : stageNamed(dockerfile, origin.copy.from, stage.index);
      return { ...origin, from, own: from !== undefined && origin.source === path.join(from.workdir, file) };
    });
  // A COPY --from an unknown stage is checkCopyFrom's to report; what it would bring is unknown.
  const unknown = (origins: ReturnType<typeof copied>) =>
    origins.some((origin) => origin.copy.from !== undefined && !origin.from);
  const problems: string[] = [];
  const bundles = copied(facts.bundle);
  const bundle = bundles.find((origin) => origin.own) ?? bundles.find((origin) => origin.from);
  if (!bundle?.from) {
    if (!unknown(bundles)) {
      problems.push(
        `${at(stage.cmd.line)}: CMD runs ${target}, which no COPY --from=<build stage> brings into the final stage`,
      );
    }
  } else {
    const label = bundle.from.name ?? String(bundle.from.index);
    const where = `Dockerfile:${bundle.copy.line}: COPY --from=${label} takes ${bundle.source}`;
    if (!bundle.from.runs.some((run) => BUILDS.test(run.text))) {
      problems.push(`${where}, but stage ${label} never runs npm run build`);
    } else if (!bundle.own) {
      problems.push(`${where}, but npm run build writes ${path.join(bundle.from.workdir, facts.bundle)}`);
    }
  }
  const manifests = copied('package.json');
  if (!manifests.some((origin) => origin.own) && !unknown(manifests)) {
    problems.push(
      `Dockerfile: the final stage needs ${path.join(root, 'package.json')} beside dist/ (/api/status reads its version): COPY --from=<build stage> <workdir>/package.json ./`,
    );
  }
  const allModules = copied('node_modules');
  const modules = allModules.find((origin) => origin.own);
  if (!modules?.from) {
    if (!unknown(allModules)) {
      problems.push(
        `Dockerfile: the final stage needs ${path.join(root, 'node_modules')} (the bundle leaves native add-ons and drivers outside): COPY --from=<build stage> <workdir>/node_modules ./node_modules`,
      );
    }
  } else if (!modules.from.runs.some((run) => INSTALLS.test(run.text))) {
    problems.push(
      `Dockerfile:${modules.copy.line}: node_modules comes from stage ${modules.from.name ?? modules.from.index}, which never runs npm ci`,
    );
  } else if (!modules.from.runs.some((run) => PRUNES.test(run.text))) {
    problems.push(
      `Dockerfile:${modules.copy.line}: node_modules comes from stage ${modules.from.name ?? modules.from.index} with its development packages: run npm prune --omit=dev there`,
    );
  }
  return problems;
}

/** Every Dockerfile rule, in the order their messages are printed. */
export function lintDockerfileRules(dockerfile: Dockerfile, facts: FolioFacts = FOLIO): string[] {
  return [
    ...checkStages(dockerfile),
    ...checkRuntimeBase(dockerfile),
    ...checkNoLatest(dockerfile),
    ...checkUser(dockerfile),
    ...checkHealthcheck(dockerfile, facts),
    ...checkDataVolume(dockerfile, facts),
    ...checkExpose(dockerfile, facts),
    ...checkCmd(dockerfile),
    ...checkAdd(dockerfile),
    ...checkDockerfileSecrets(dockerfile),
    ...checkCopyFrom(dockerfile),
    ...checkBuiltAndCopied(dockerfile, facts),
  ];
}
