import { defineConfig } from 'vitest/config';

// The suite runs on SQLite, and again on PostgreSQL when FOLIO_TEST_POSTGRES_URL names a server
// (each test in its own schema). Tests of SQLite files, the CLI, configuration, the built bundle
// and the benchmark harness (whose floor is SQLite) run once.
const postgres = process.env.FOLIO_TEST_POSTGRES_URL;
if (!postgres) {
  console.log(
    'PostgreSQL tests skipped: set FOLIO_TEST_POSTGRES_URL=postgres://… to run the suite on PostgreSQL too',
  );
}

const everything = ['src/**/*.test.ts', 'test/**/*.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default', './test/summary-reporter.ts'],
    projects: [
      {
        extends: true as const,
        test: { name: 'sqlite', include: everything, env: { FOLIO_TEST_DIALECT: 'sqlite' } },
      },
      ...(postgres
        ? [
            {
              extends: true as const,
              test: {
                name: 'postgres',
                include: everything,
                exclude: [
                  'src/config.test.ts',
                  'test/cli.test.ts',
                  'test/cli.portability.test.ts',
                  'test/client.test.ts',
                  'test/bench.test.ts',
                  'test/soak.test.ts',
                  'test/bundle.test.ts',
                  // These start servers of their own (durability: on SQLite and, when set, PostgreSQL).
                  'test/durability.test.ts',
                  'test/shutdown.test.ts',
                  'test/metrics-port.test.ts',
                  'test/packaging.test.ts',
                  'src/db/group-commit.test.ts',
                ],
                env: { FOLIO_TEST_DIALECT: 'postgres' },
              },
            },
          ]
        : []),
    ],
  },
});
