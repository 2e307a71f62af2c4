/**
 * A Dockerfile reader for `npm run lint:docker`: enough of the format to check Folio's image
 * without a Docker engine. It joins continued lines, drops comments, reads heredocs, tells the
 * exec (JSON) form from the shell form, and works out each stage's state (WORKDIR, ENV, USER, …)
 * the way the builder would, expanding `${VAR}` from ARG and ENV.
 */
import path from 'node:path/posix';

export interface Instruction {
  /** 1-based line where the instruction starts. */
  line: number;
  /** Upper-case: FROM, RUN, COPY… */
  keyword: string;
  /** Leading `--name=value` options (`--name` alone is `'true'`). */
  flags: Record<string, string>;
  /** The text after the keyword and its flags, continuations joined, heredoc bodies appended. */
  args: string;
  /** The JSON array when the instruction is in exec form. */
  exec?: string[];
}

export interface Copy {
  line: number;
  /** Stage name or index, as written; undefined for the build context. */
  from?: string;
  /** Source paths as written (context-relative, or absolute in the `from` stage). */
  sources: string[];
  /** Absolute destination, resolved against WORKDIR; ends with `/` when written so. */
  dest: string;
}

export interface Stage {
  index: number;
  /** `AS name`, lower-cased as the builder does. */
  name?: string;
  /** The image as written after ARG expansion (`node:20-bookworm-slim`, or another stage's name). */
  image: string;
  /** The stage this one is built on, when `image` names one. */
  parent?: Stage;
  line: number;
  instructions: Instruction[];
  /** State at the end of the stage, inherited from `parent` where it names one. */
  workdir: string;
  env: Map<string, string>;
  user?: { value: string; line: number };
  volumes: { path: string; line: number }[];
  exposes: { port: number; line: number }[];
  healthcheck?: Instruction;
  cmd?: Instruction;
  entrypoint?: Instruction;
  copies: Copy[];
  /** Every RUN's command text, this stage's and its parents'. */
  runs: { text: string; line: number }[];
}

export interface Dockerfile {
  instructions: Instruction[];
  stages: Stage[];
}

const FLAGGED = new Set(['FROM', 'RUN', 'COPY', 'ADD', 'HEALTHCHECK']);
const HEREDOC = new Set(['RUN', 'COPY', 'ADD']);

/** Splits a line into the instructions it holds: continuations joined, comments dropped. */
export function readInstructions(text: string): Instruction[] {
  const lines = text.split(/\r?\n/);
  let escape = '\\';
  // Parser directives (`# escape=`) only count before anything else.
  for (const line of lines) {
    const directive = /^#\s*([a-z]+)\s*=\s*(\S+)\s*$/i.exec(line);
    if (!directive) break;
    if (directive[1]!.toLowerCase() === 'escape') escape = directive[2]!;
  }
  const instructions: Instruction[] = [];
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i]!;
    if (/^\s*(#|$)/.test(first)) continue;
    const start = i;
    let joined = first.trimEnd();
    while (joined.endsWith(escape) && i + 1 < lines.length) {
      joined = joined.slice(0, -escape.length);
      i++;
      // Comment and blank lines inside a continued instruction are skipped by the builder.
      while (i < lines.length - 1 && /^\s*(#|$)/.test(lines[i]!)) i++;
      joined += lines[i]!.trimEnd();
    }
    const match = /^\s*(\S+)\s*([\s\S]*)$/.exec(joined)!;
    const keyword = match[1]!.toUpperCase();
    let rest = match[2]!;
    const flags: Record<string, string> = {};
    if (FLAGGED.has(keyword)) {
      for (
        let flag = /^--([\w-]+)(?:=(\S*))?\s*/.exec(rest);
        flag;
        flag = /^--([\w-]+)(?:=(\S*))?\s*/.exec(rest)
      ) {
        flags[flag[1]!.toLowerCase()] = flag[2] ?? 'true';
        rest = rest.slice(flag[0].length);
      }
    }
    if (HEREDOC.has(keyword)) {
      for (const heredoc of rest.matchAll(/<<(-?)\s*(["']?)(\w+)\2/g)) {
        const body: string[] = [];
        const strip = heredoc[1] === '-';
        while (++i < lines.length && (strip ? lines[i]!.trim() : lines[i]) !== heredoc[3])
          body.push(lines[i]!);
        rest += `\n${body.join('\n')}`;
      }
    }
    instructions.push({ line: start + 1, keyword, flags, args: rest.trim(), exec: execForm(rest) });
  }
  return instructions;
}

function execForm(args: string): string[] | undefined {
  const trimmed = args.trim();
  if (!trimmed.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(trimmed);
    return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Shell-like words: quotes group, a backslash escapes the next character. */
export function words(text: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quote) {
      if (char === quote) quote = undefined;
      else if (char === '\\' && quote === '"' && i + 1 < text.length) word += text[++i]!;
      else word += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      word ??= '';
    } else if (char === '\\' && i + 1 < text.length) {
      word = (word ?? '') + text[++i]!;
    } else if (/\s/.test(char)) {
      if (word !== undefined) out.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + char;
    }
  }
  if (word !== undefined) out.push(word);
  return out;
}

/** `ENV a=b c="d e"` or the old `ENV a b c` form, as name/value pairs (ARG: value may be absent). */
export function assignments(args: string): { name: string; value?: string }[] {
  const parts = words(args);
  if (parts.length > 0 && !parts[0]!.includes('=')) {
    const [name, ...value] = args.trim().split(/\s+/);
    return [{ name: name!, value: value.length ? words(value.join(' ')).join(' ') : undefined }];
  }
  return parts.map((part) => {
    const equals = part.indexOf('=');
    return equals < 0 ? { name: part } : { name: part.slice(0, equals), value: part.slice(equals + 1) };
  });
}

/** `$VAR`, `${VAR}`, `${VAR:-default}` and `${VAR:+alt}` as the builder expands them. */
export function expand(text: string, vars: ReadonlyMap<string, string>): string {
  return text.replace(
    /\$(?:\{(\w+)(?::?([-+])([^}]*))?\}|(\w+))/g,
    (_, braced: string | undefined, op: string | undefined, word: string | undefined, bare: string) => {
      const value = vars.get(braced ?? bare);
      if (op === '-') return value || (word ?? '');
      if (op === '+') return value ? (word ?? '') : '';
      return value ?? '';
    },
  );
}

/** Reads a Dockerfile into its instructions and stages. */
export function parseDockerfile(text: string): Dockerfile {
  const instructions = readInstructions(text);
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  let stage: Stage | undefined;
  let vars = new Map<string, string>();
  for (const instruction of instructions) {
    const { keyword, args } = instruction;
    if (keyword === 'FROM') {
      const [image = '', as, name] = words(expand(args, globalArgs));
      const parent = stages.find((s) => s.name !== undefined && s.name === image.toLowerCase());
      stage = {
        index: stages.length,
        name: as?.toUpperCase() === 'AS' ? name?.toLowerCase() : undefined,
        image,
        parent,
        line: instruction.line,
        instructions: [],
        workdir: parent?.workdir ?? '/',
        env: new Map(parent?.env),
        user: parent?.user,
        volumes: [...(parent?.volumes ?? [])],
        exposes: [...(parent?.exposes ?? [])],
        healthcheck: parent?.healthcheck,
        cmd: parent?.cmd,
        entrypoint: parent?.entrypoint,
        copies: [...(parent?.copies ?? [])],
        runs: [...(parent?.runs ?? [])],
      };
      stages.push(stage);
      vars = new Map(stage.env);
      continue;
    }
    if (!stage) {
      // Only ARG may come before the first FROM; its defaults are visible to FROM lines.
      if (keyword === 'ARG') {
        for (const { name, value } of assignments(args)) globalArgs.set(name, value ?? '');
      }
      continue;
    }
    stage.instructions.push(instruction);
    applyToStage(stage, instruction, vars, globalArgs);
  }
  return { instructions, stages };
}

function applyToStage(
  stage: Stage,
  instruction: Instruction,
  vars: Map<string, string>,
  globalArgs: ReadonlyMap<string, string>,
): void {
  const { keyword, args, line } = instruction;
  const expanded = () => expand(args, vars);
  switch (keyword) {
    case 'ARG':
      for (const { name, value } of assignments(args)) {
        // A bare `ARG NAME` in a stage brings in the global default.
        const given = value === undefined ? globalArgs.get(name) : expand(value, vars);
        if (given !== undefined && !stage.env.has(name)) vars.set(name, given);
      }
      break;
    case 'ENV':
      for (const { name, value = '' } of assignments(args)) {
        const resolved = expand(value, vars);
        stage.env.set(name, resolved);
        vars.set(name, resolved);
      }
      break;
    case 'WORKDIR':
      stage.workdir = path.resolve(stage.workdir, expanded());
      break;
    case 'USER':
      stage.user = { value: expanded().trim(), line };
      break;
    case 'VOLUME':
      for (const volume of instruction.exec ?? words(expanded())) {
        stage.volumes.push({ path: path.resolve(stage.workdir, volume), line });
      }
      break;
    case 'EXPOSE':
      for (const port of words(expanded())) stage.exposes.push({ port: Number.parseInt(port, 10), line });
      break;
    case 'HEALTHCHECK':
      stage.healthcheck = instruction;
      break;
    case 'CMD':
      stage.cmd = instruction;
      break;
    case 'ENTRYPOINT':
      stage.entrypoint = instruction;
      break;
    case 'RUN':
      stage.runs.push({ text: instruction.exec ? instruction.exec.join(' ') : args, line });
      break;
    case 'COPY':
    case 'ADD': {
      const parts = (instruction.exec ?? words(args.split('\n')[0]!)).map((part) => expand(part, vars));
      if (parts.length < 2) break;
      const dest = parts.at(-1)!;
      const resolved = path.resolve(stage.workdir, dest);
      stage.copies.push({
        line,
        from: instruction.flags.from,
        sources: parts.slice(0, -1),
        dest: dest.endsWith('/') && resolved !== '/' ? `${resolved}/` : resolved,
      });
      break;
    }
  }
}

/** The stage whose image the builder runs: the last one. */
export function finalStage(dockerfile: Dockerfile): Stage | undefined {
  return dockerfile.stages.at(-1);
}

/** The stage a `--from=` value names (a name, or the index of an earlier stage), if any. */
export function stageNamed(dockerfile: Dockerfile, ref: string, before: number): Stage | undefined {
  if (/^\d+$/.test(ref)) {
    const index = Number(ref);
    return index < before ? dockerfile.stages[index] : undefined;
  }
  return dockerfile.stages.find((stage) => stage.index < before && stage.name === ref.toLowerCase());
}

/**
 * Where the file at `target` may come from, the latest COPY first: each copy that would put
 * something there and the absolute source path in the stage it copies from. Only the build knows
 * whether a source is a file or a folder, and what a folder holds; a name with an extension
 * (`package.json`) is read as a file, any other as a folder, whose contents (not the folder itself)
 * land in the destination, as the builder does.
 */
export function originsOf(stage: Stage, target: string): { copy: Copy; source: string }[] {
  const origins: { copy: Copy; source: string }[] = [];
  for (const copy of [...stage.copies].reverse()) {
    const intoDir = copy.dest.endsWith('/') || copy.sources.length > 1;
    const dest = copy.dest.replace(/\/$/, '') || '/';
    for (const source of copy.sources) {
      const absolute = path.resolve('/', source);
      const name = path.basename(absolute);
      if (/^[^.].*\.\w+$/.test(name)) {
        if (target === (intoDir ? path.join(dest, name) : dest)) origins.push({ copy, source: absolute });
        continue;
      }
      const inside = path.relative(dest, target);
      if (!inside.startsWith('..') && !path.isAbsolute(inside)) {
        origins.push({ copy, source: path.join(absolute, inside) });
      }
    }
  }
  return origins;
}
