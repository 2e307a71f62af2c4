import { SEARCH_WORD, seedNote, word } from './data.js';

// The soak's mixed load (bench/soak.ts): which request comes next, and what each answer teaches
// the next requests (versions for If-Match, cursors, the notes to delete). Autocannon calls
// `next` to build each request and `answer` with each response, on one event loop, so the state
// needs no locks.

export const OPS = [
  'get',
  'list',
  'keyset',
  'search',
  'sync',
  'patch',
  'create',
  'trash',
  'restore',
  'purge',
] as const;
export type Op = (typeof OPS)[number];

/**
 * One turn of the mix, 20 requests; every connection takes the next slot of one shared counter,
 * so the proportions hold over any stretch of the run. Reads are 65%, writes 35%. A created note
 * goes create → trash → restore → purge, one slot each, so the notes the soak adds are removed
 * at the rate it adds them (what stays is one small change-feed tombstone per purged note).
 *
 * Every other GET of one note sends If-None-Match with the version last seen, so 304s are part of
 * the mix. (The soak found that Folio's 304 announced `Content-Length: 4` without a body, which
 * made autocannon's parser read the next answer as that body; fixed, and tested in
 * src/notes/notes.conditional.test.ts.)
 */
export const CYCLE: readonly Op[] = [
  'get',
  'list',
  'patch',
  'get',
  'keyset',
  'create',
  'search',
  'get',
  'patch',
  'sync',
  'get',
  'trash',
  'list',
  'get',
  'patch',
  'keyset',
  'restore',
  'get',
  'search',
  'purge',
];

/** What each operation sends, for the report. */
export const DESCRIPTIONS: Record<Op, string> = {
  get: 'GET one note',
  list: 'GET list page with total (`page=1..10`)',
  keyset: 'GET keyset page (`after=<next_cursor>`, walking the list)',
  search: 'GET search (`q=`, rare and common words)',
  sync: 'GET /api/sync?since=<last next_cursor>',
  patch: 'PATCH one of 32 hot notes with If-Match (1 in 10 from a stale copy: 412)',
  create: 'POST a note',
  trash: 'DELETE a note the soak created (to the trash)',
  restore: 'POST …/restore that note',
  purge: 'DELETE …?purge=true that note',
};

/** Notes PATCH works on: few enough that two connections sometimes race for one (a 412). */
const HOT_NOTES = 32;
/** One PATCH in this many sends an older version than it last saw, as a client editing an old copy. */
const STALE_EVERY = 10;
const SEARCHES = [SEARCH_WORD, 'draft', word(7), 'summary week', word(1000)];

export interface MixRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** What a request was for, kept in autocannon's per-request context until its answer. */
export interface InFlight {
  op?: Op;
  id?: number;
  /** A PATCH sent with an outdated If-Match on purpose: it must answer 412. */
  stale?: boolean;
}

export class Mix {
  /** Answers of any status, and those that count as failures (with connection errors). */
  requests = 0;
  errors = 0;
  /** Answered 2xx or 304, per operation. */
  readonly answered = Object.fromEntries(OPS.map((op) => [op, 0])) as Record<Op, number>;
  /** Failures by kind ("500 patch", "ECONNRESET", …) and the first few answers, for diagnosis. */
  readonly errorKinds = new Map<string, number>();
  readonly errorSamples: string[] = [];
  /** 412 to a PATCH, expected, not failures: sent from a stale copy on purpose, or lost a race. */
  readonly preconditionFailed = { stale: 0, race: 0 };
  /** Lifecycle slots that found no created note ready and sent a GET instead. */
  substituted = 0;

  private n = 0;
  private patches = 0;
  private readonly versions = new Map<number, number>();
  private readonly toTrash: number[] = [];
  private readonly toRestore: number[] = [];
  private readonly toPurge: number[] = [];
  private keysetCursor: string;
  private syncCursor = 0;
  private readonly auth: Record<string, string>;

  constructor(
    key: string,
    private readonly ids: readonly number[],
    private readonly firstCursor: string,
  ) {
    if (ids.length < HOT_NOTES) throw new Error(`the soak needs at least ${HOT_NOTES} notes`);
    this.auth = { authorization: `Bearer ${key}` };
    this.keysetCursor = firstCursor;
  }

  /** The next request of the cycle; `flight` remembers what it was for the answer. */
  next(flight: InFlight): MixRequest {
    const n = this.n++;
    let op = CYCLE[n % CYCLE.length]!;
    const queue = this.stage(op);
    let id = queue?.shift();
    if (queue && id === undefined) {
      // Early in the run (or after failures) no created note is at this stage yet.
      this.substituted += 1;
      op = 'get';
    }
    if (op === 'patch') id = this.ids[(n * 5) % HOT_NOTES]!;
    id ??= this.ids[(n * 7) % this.ids.length]!;
    flight.op = op;
    flight.id = id;
    const json = { ...this.auth, 'content-type': 'application/json' };
    switch (op) {
      case 'get': {
        const known = this.versions.get(id);
        const conditional = n % 2 === 0 && known !== undefined;
        return {
          method: 'GET',
          path: `/api/notes/${id}`,
          headers: conditional ? { ...this.auth, 'if-none-match': `"${id}-${known}"` } : this.auth,
        };
      }
      case 'list':
        return { method: 'GET', path: `/api/notes?page=${1 + (n % 10)}`, headers: this.auth };
      case 'keyset':
        return { method: 'GET', path: `/api/notes?after=${this.keysetCursor}`, headers: this.auth };
      case 'search':
        return {
          method: 'GET',
          path: `/api/notes?q=${encodeURIComponent(SEARCHES[n % SEARCHES.length]!)}`,
          headers: this.auth,
        };
      case 'sync':
        return { method: 'GET', path: `/api/sync?since=${this.syncCursor}`, headers: this.auth };
      case 'patch': {
        const known = this.versions.get(id) ?? 1;
        flight.stale = this.patches++ % STALE_EVERY === STALE_EVERY - 1;
        const version = flight.stale ? known - 1 : known;
        // Content is replaced, not appended to: the notes keep their size however long the run.
        const body = { title: `Note ${id}, revision ${version + 1}`, content: seedNote(n).content };
        return {
          method: 'PATCH',
          path: `/api/notes/${id}`,
          headers: {
            ...json,
            'content-type': 'application/merge-patch+json',
            'if-match': `"${id}-${version}"`,
          },
          body: JSON.stringify(body),
        };
      }
      case 'create': {
        const body = { ...seedNote(n), title: `Soak note ${n}`, tags: ['soak', `tag${n % 10}`] };
        return { method: 'POST', path: '/api/notes', headers: json, body: JSON.stringify(body) };
      }
      case 'trash':
        return { method: 'DELETE', path: `/api/notes/${id}`, headers: this.auth };
      case 'restore':
        return { method: 'POST', path: `/api/notes/${id}/restore`, headers: this.auth };
      case 'purge':
        return { method: 'DELETE', path: `/api/notes/${id}?purge=true`, headers: this.auth };
    }
  }

  /** Takes in the answer to the request `flight` describes. */
  answer(flight: InFlight, status: number, body: string, headers: Record<string, unknown>): void {
    this.requests += 1;
    const { op, id } = flight;
    if (op === undefined || id === undefined) return this.fail(`${status} unknown request`, body);
    if (status === 412 && op === 'patch') {
      this.preconditionFailed[flight.stale ? 'stale' : 'race'] += 1;
      this.learnVersion(id, body); // the 412 carries the note as it is now
      return;
    }
    // A lost update: the server applied a change made from a copy it had replaced since.
    if (flight.stale && status < 300) return this.fail(`${status} patch with a stale If-Match`, body);
    if (!((status >= 200 && status < 300) || status === 304)) return this.fail(`${status} ${op}`, body);
    this.answered[op] += 1;
    switch (op) {
      case 'get': {
        const etag = /^"(\d+)-(\d+)"$/.exec(String(headers.etag ?? headers.ETag ?? ''));
        if (etag) this.versions.set(Number(etag[1]), Number(etag[2]));
        break;
      }
      case 'patch':
        this.learnVersion(id, body);
        break;
      case 'keyset': {
        const next = /"next_cursor":"([^"]+)"/.exec(body)?.[1];
        this.keysetCursor = next ?? this.firstCursor; // at the end of the list, start over
        break;
      }
      case 'sync': {
        const next = Number(/"next_cursor":"(\d+)"/.exec(body)?.[1] ?? 0);
        this.syncCursor = Math.max(this.syncCursor, next);
        break;
      }
      case 'create': {
        const created = /"id":(\d+)/.exec(body)?.[1];
        if (created) this.toTrash.push(Number(created));
        else this.fail(`${status} create without an id`, body);
        break;
      }
      case 'trash':
        this.toRestore.push(id);
        break;
      case 'restore':
        this.toPurge.push(id);
        break;
      default:
        break;
    }
  }

  /** A failure the load generator saw: a connection error, a timeout, a broken event stream. */
  fail(kind: string, detail = ''): void {
    this.errors += 1;
    this.errorKinds.set(kind, (this.errorKinds.get(kind) ?? 0) + 1);
    if (this.errorSamples.length < 5) this.errorSamples.push(`${kind}: ${detail.slice(0, 300)}`);
  }

  /** Notes the soak created that are still somewhere between create and purge. */
  get pending(): number {
    return this.toTrash.length + this.toRestore.length + this.toPurge.length;
  }

  /** The created notes waiting for this step of their lifecycle, if `op` is one. */
  private stage(op: Op): number[] | undefined {
    if (op === 'trash') return this.toTrash;
    if (op === 'restore') return this.toRestore;
    if (op === 'purge') return this.toPurge;
    return undefined;
  }

  private learnVersion(id: number, body: string): void {
    const version = /"version":(\d+)/.exec(body)?.[1];
    if (version) this.versions.set(id, Number(version));
  }
}
