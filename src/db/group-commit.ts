import type SQLite from 'better-sqlite3';
import {
  SqliteDialect,
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  type SqliteDatabase,
} from 'kysely';

// Group commit for SQLite. A commit is the dearest step of a small write (it appends every page
// the write touched to the log, and now and then copies the log back into the file), and SQLite
// commits one transaction at a time. So the write transactions that start in one turn of the
// event loop share one commit: each runs inside a savepoint of one open transaction, which
// commits before the loop waits for I/O again (or after 64 of them, or before any query that is
// not in a transaction, so a read never sees what is not committed). Callers learn that their
// transaction is durable only when that commit is: `inTransaction` waits for it, and answers
// are sent after it. A transaction that fails rolls back to its savepoint alone; a commit that
// fails fails every transaction of its group.

const SAVEPOINT = 'folio_tx';
/** Transactions per commit at most, so a steady stream of writes still commits often. */
const MAX_GROUP = 64;

/** The transactions that will share one commit. */
class Group {
  count = 0;
  readonly committed: Promise<void>;
  resolve!: () => void;
  reject!: (error: unknown) => void;
  constructor() {
    this.committed = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Not every group has a caller waiting (a migration's, a lone read-only transaction's).
    this.committed.catch(() => undefined);
  }
}

/** One connection, used by one caller (a query or a whole transaction) at a time. */
class Mutex {
  #locked = false;
  readonly #waiting: (() => void)[] = [];

  get locked(): boolean {
    return this.#locked;
  }

  lock(): Promise<void> {
    if (!this.#locked) {
      this.#locked = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  unlock(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#locked = false;
  }
}

class GroupCommitDriver implements Driver {
  readonly #sqlite: SQLite.Database;
  readonly #database: SqliteDatabase;
  readonly #mutex = new Mutex();
  readonly #connection: DatabaseConnection;
  #group: Group | undefined;
  #inTransaction = false;
  #flushScheduled = false;

  constructor(sqlite: SQLite.Database, database: SqliteDatabase) {
    this.#sqlite = sqlite;
    this.#database = database;
    this.#connection = {
      executeQuery: <R>(query: CompiledQuery): Promise<QueryResult<R>> => {
        // A query outside a transaction sees only what is committed.
        if (!this.#inTransaction) this.#flush();
        const statement = this.#database.prepare(query.sql);
        if (statement.reader) return Promise.resolve({ rows: statement.all(query.parameters) as R[] });
        const { changes, lastInsertRowid } = statement.run(query.parameters);
        return Promise.resolve({
          numAffectedRows: BigInt(changes),
          insertId: BigInt(lastInsertRowid),
          rows: [],
        });
      },
      streamQuery: () => {
        throw new Error('streaming is not supported');
      },
    };
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.#mutex.lock();
    return this.#connection;
  }

  async beginTransaction(): Promise<void> {
    // SQLite rolls a whole transaction back by itself on some errors (a full disk): that group
    // has failed, and this transaction starts the next.
    if (this.#group && !this.#sqlite.inTransaction) this.#fail(new Error('the transaction was rolled back'));
    if (!this.#group) {
      this.#run('begin');
      this.#group = new Group();
    }
    this.#run(`savepoint ${SAVEPOINT}`);
    this.#group.count++;
    this.#inTransaction = true;
  }

  async commitTransaction(): Promise<void> {
    this.#inTransaction = false;
    this.#run(`release ${SAVEPOINT}`);
  }

  async rollbackTransaction(): Promise<void> {
    this.#inTransaction = false;
    if (!this.#sqlite.inTransaction) {
      this.#fail(new Error('the transaction was rolled back'));
      return;
    }
    this.#run(`rollback to ${SAVEPOINT}`);
    this.#run(`release ${SAVEPOINT}`);
  }

  async releaseConnection(): Promise<void> {
    if (this.#group && this.#group.count >= MAX_GROUP) this.#flush();
    else if (this.#group && !this.#flushScheduled) {
      // After this turn's other requests have had their chance to join.
      this.#flushScheduled = true;
      setImmediate(() => void this.#flushWhenFree());
    }
    this.#mutex.unlock();
  }

  /**
   * A read run at once, when no caller holds the connection: Kysely's queue for it (promises,
   * deferreds and closures) costs more than the read of one row. Like any query outside a
   * transaction, it commits the open group first. Undefined when the connection is held, or when
   * the statement writes.
   */
  readNow(sql: string, parameters: readonly unknown[]): unknown[] | undefined {
    if (this.#mutex.locked) return undefined;
    const statement = this.#database.prepare(sql);
    if (!statement.reader) return undefined;
    this.#flush();
    return statement.all(parameters) as unknown[];
  }

  /** When the group the current transaction is in has committed (rejects if the commit failed). */
  committed(): Promise<void> {
    return this.#group?.committed ?? Promise.resolve();
  }

  async destroy(): Promise<void> {
    await this.#mutex.lock();
    this.#flush();
    this.#database.close();
  }

  async #flushWhenFree(): Promise<void> {
    this.#flushScheduled = false;
    if (!this.#group) return;
    await this.#mutex.lock();
    try {
      this.#flush();
    } finally {
      this.#mutex.unlock();
    }
  }

  #flush(): void {
    const group = this.#group;
    if (!group) return;
    this.#group = undefined;
    try {
      this.#run('commit');
      group.resolve();
    } catch (error) {
      if (this.#sqlite.inTransaction) this.#run('rollback');
      group.reject(error);
    }
  }

  #fail(error: Error): void {
    this.#group?.reject(error);
    this.#group = undefined;
  }

  #run(sql: string): void {
    this.#database.prepare(sql).run([]);
  }
}

/** Kysely's SQLite dialect with group commit; `committed` tells when a transaction is durable. */
export class GroupCommitDialect extends SqliteDialect {
  readonly #driver: GroupCommitDriver;

  constructor(sqlite: SQLite.Database, database: SqliteDatabase) {
    super({ database });
    this.#driver = new GroupCommitDriver(sqlite, database);
  }

  override createDriver(): Driver {
    return this.#driver;
  }

  committed(): Promise<void> {
    return this.#driver.committed();
  }

  readNow(sql: string, parameters: readonly unknown[]): unknown[] | undefined {
    return this.#driver.readNow(sql, parameters);
  }
}
