/**
 * .dockerignore's rules for `npm run lint:docker`: the build context leaves out what is local,
 * large or secret, and keeps what the Dockerfile copies from it.
 */

export interface IgnoreRule {
  pattern: RegExp;
  negated: boolean;
}

/** The patterns of a .dockerignore, in order (later ones win), as the builder reads them. */
export function parseDockerignore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    if (negated) line = line.slice(1).trim();
    line = line.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
    if (line === '') continue;
    rules.push({ pattern: globToRegExp(line), negated });
  }
  return rules;
}

function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === '*' && glob[i + 1] === '*') {
      // `**/` matches any number of folders, none included.
      const slash = glob[i + 2] === '/';
      source += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else if (char === '[') {
      const end = glob.indexOf(']', i);
      if (end < 0) source += '\\[';
      else {
        source += `[${glob
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else source += char.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** Whether a context path (like `src/cli.ts`) is left out: it or a folder above it matches. */
export function isIgnored(rules: readonly IgnoreRule[], file: string): boolean {
  const parts = file
    .replace(/^(\.\/|\/)+/, '')
    .replace(/\/+$/, '')
    .split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const rule of rules) {
    if (prefixes.some((prefix) => rule.pattern.test(prefix))) ignored = !rule.negated;
  }
  return ignored;
}

/** What must never reach the builder: installed packages, local data, the repository. */
export const MUST_IGNORE = ['node_modules', 'data', '.git'];

/**
 * `sources`: the context paths the Dockerfile copies (COPY and ADD without --from), which must
 * stay in the context.
 */
export function lintDockerignoreRules(
  text: string,
  sources: readonly { path: string; line: number }[] = [],
): string[] {
  const rules = parseDockerignore(text);
  const problems = MUST_IGNORE.filter((name) => !isIgnored(rules, name)).map(
    (name) => `.dockerignore: must exclude ${name}`,
  );
  for (const source of sources) {
    if (source.path !== '.' && source.path !== '' && isIgnored(rules, source.path)) {
      problems.push(`.dockerignore: excludes ${source.path}, which Dockerfile:${source.line} copies`);
    }
  }
  return problems;
}
