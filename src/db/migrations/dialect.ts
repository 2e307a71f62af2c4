/* eslint-disable @typescript-eslint/no-explicit-any -- shared by the frozen migrations, typed against no app schema */
import { PostgresAdapter, type ColumnDefinitionBuilder, type Kysely } from 'kysely';

// Helpers for migrations that must produce the same schema on SQLite and PostgreSQL. Like the
// migrations, this file must keep its behaviour forever: add, never change.

export function isPostgres(db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/** An auto-numbered integer primary key: AUTOINCREMENT on SQLite, an identity column on PostgreSQL. */
export function autoId(db: Kysely<any>) {
  return (column: ColumnDefinitionBuilder) =>
    isPostgres(db) ? column.primaryKey().generatedByDefaultAsIdentity() : column.primaryKey().autoIncrement();
}
