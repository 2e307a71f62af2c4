import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';

// Drives a server with one scenario: wrk when it is installed (light on the CPU it shares with
// the server), else autocannon from npm. Both keep `connections` requests in flight.

export interface Scenario {
  name: string;
  method: 'GET' | 'POST' | 'PATCH';
  /** Taken in turn, one per request. */
  paths: readonly string[];
  headers: Readonly<Record<string, string>>;
  body?: string;
  /** PATCH: send If-Match with the version of the note's last answer ("<id>-<version>"). */
  ifMatch?: boolean;
}

export interface LoadResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  /** Non-2xx answers, timeouts and socket errors. */
  errors: number;
}

export interface LoadOptions {
  connections: number;
  seconds: number;
  tool: 'wrk' | 'autocannon';
}

export function hasWrk(): Promise<boolean> {
  return new Promise((resolve) =>
    execFile('wrk', ['--version'], (error) => resolve(!error || error.code === 1)),
  );
}

function lua(value: string): string {
  return JSON.stringify(value); // a JSON string is a valid Lua string literal for these characters
}

function wrkScript(scenario: Scenario): string {
  const headers = Object.entries(scenario.headers)
    .map(([name, value]) => `[${lua(name)}] = ${lua(value)}`)
    .join(', ');
  return `
local paths = { ${scenario.paths.map(lua).join(', ')} }
local headers = { ${headers} }
local body = ${scenario.body === undefined ? 'nil' : lua(scenario.body)}
local versions = {}
local n = 0
${
  scenario.ifMatch
    ? `request = function()
  n = n + 1
  local path = paths[(n % #paths) + 1]
  local id = path:match('(%d+)$')
  headers["If-Match"] = '"' .. id .. '-' .. (versions[id] or 1) .. '"'
  return wrk.format(${lua(scenario.method)}, path, headers, body)
end`
    : `-- Formatted once, in each thread's init: wrk shares the machine's CPU with the server it loads.
local requests = {}
init = function()
  for i, path in ipairs(paths) do requests[i] = wrk.format(${lua(scenario.method)}, path, headers, body) end
end
request = function()
  n = n + 1
  return requests[(n % #requests) + 1]
end`
}
${
  scenario.ifMatch
    ? `response = function(status, hdrs, text)
  local id, version = text:match('"id":(%d+).-"version":(%d+)')
  if id then versions[id] = tonumber(version) end
end`
    : ''
}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\\nRESULT {"requests":%d,"us":%d,"errors":%d,"p50":%d,"p99":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`;
}

function runWrk(url: string, scenario: Scenario, options: LoadOptions): Promise<LoadResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'folio-wrk-'));
  const script = path.join(dir, 'scenario.lua');
  writeFileSync(script, wrkScript(scenario));
  const args = [
    '-t1',
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    '--timeout',
    '5s',
    '-s',
    script,
    url,
  ];
  return new Promise((resolve, reject) => {
    execFile('wrk', args, (error, stdout) => {
      rmSync(dir, { recursive: true, force: true });
      const line = /RESULT (\{.*\})/.exec(stdout)?.[1];
      if (error || !line) return reject(new Error(`wrk failed: ${error?.message ?? stdout}`));
      const raw = JSON.parse(line) as {
        requests: number;
        us: number;
        errors: number;
        p50: number;
        p99: number;
      };
      resolve({
        requests: raw.requests,
        rps: raw.requests / (raw.us / 1e6),
        p50: raw.p50 / 1000,
        p99: raw.p99 / 1000,
        errors: raw.errors,
      });
    });
  });
}

async function runAutocannon(url: string, scenario: Scenario, options: LoadOptions): Promise<LoadResult> {
  let n = 0;
  const versions = new Map<string, number>();
  const result = await autocannon({
    url,
    connections: options.connections,
    duration: options.seconds,
    timeout: 5,
    requests: [
      {
        method: scenario.method,
        ...(scenario.body !== undefined && { body: scenario.body }),
        setupRequest: (request) => {
          n += 1;
          const requestPath = scenario.paths[n % scenario.paths.length]!;
          const headers: Record<string, string> = { ...scenario.headers };
          if (scenario.ifMatch) {
            const id = /(\d+)$/.exec(requestPath)![1]!;
            headers['If-Match'] = `"${id}-${versions.get(id) ?? 1}"`;
          }
          return { ...request, path: requestPath, headers };
        },
        ...(scenario.ifMatch && {
          onResponse: (_status: number, body: string) => {
            const found = /"id":(\d+).*?"version":(\d+)/.exec(body);
            if (found) versions.set(found[1]!, Number(found[2]));
          },
        }),
      },
    ],
  });
  return {
    requests: result.requests.total,
    rps: result.requests.total / (result.duration || options.seconds),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.non2xx + result.errors + result.timeouts,
  };
}

/** Sends the scenario's requests to the server at `url` for `seconds` and reports what came back. */
export function runLoad(url: string, scenario: Scenario, options: LoadOptions): Promise<LoadResult> {
  return options.tool === 'wrk' ? runWrk(url, scenario, options) : runAutocannon(url, scenario, options);
}
