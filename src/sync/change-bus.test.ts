import { describe, expect, it } from 'vitest';
import { freshDatabase, TEST_DIALECT } from '../../test/helpers.js';
import { openDatabase } from '../db/database.js';
import { memoryChangeBus, postgresChangeBus, type ChangeBus } from './change-bus.js';

function nextNotice(bus: ChangeBus, ownerId: number | null): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no notice within 5 s')), 5000);
    const off = bus.subscribe(ownerId, (id) => {
      clearTimeout(timer);
      off();
      resolve(id);
    });
  });
}

const silent = { error: () => undefined };

describe('memoryChangeBus', () => {
  it("tells an owner's subscribers and the catch-all, and no one else", async () => {
    const bus = memoryChangeBus();
    const heard: string[] = [];
    bus.subscribe(1, (id) => heard.push(`one:${id}`));
    bus.subscribe(2, (id) => heard.push(`two:${id}`));
    const off = bus.subscribe(null, (id) => heard.push(`all:${id}`));
    bus.publish(1);
    off();
    bus.publish(2);
    expect(heard).toEqual(['one:1', 'all:1', 'two:2']);
  });
});

describe('postgresChangeBus', () => {
  // Registered per project, so neither run reports a skipped test.
  if (TEST_DIALECT === 'postgres') {
    it('carries a notice from one instance to another over LISTEN/NOTIFY', async () => {
      const { database, url } = await freshDatabase();
      const other = openDatabase(url, { poolSize: 2 });
      const a = await postgresChangeBus(database.pool!, silent);
      const b = await postgresChangeBus(other.pool!, silent);
      try {
        const heardOnB = nextNotice(b, 42);
        const heardOnA = nextNotice(a, null);
        a.publish(42);
        expect(await heardOnB).toBe(42);
        expect(await heardOnA).toBe(42);
      } finally {
        await a.close();
        await b.close();
        await other.close();
      }
    });
  } else {
    it('is for PostgreSQL, which the postgres project runs', () => {
      expect(TEST_DIALECT).toBe('sqlite');
    });
  }
});
