import { resolve } from 'node:path';
import { PostgresOutbox } from './postgres.js';
import { SqliteOutbox } from './sqlite.js';
import type { Outbox } from './types.js';

export * from './types.js';
export { PostgresOutbox } from './postgres.js';
export { SqliteOutbox } from './sqlite.js';

/** Opens (and migrates) the outbox named by the config: `sqlite:<path>` or `postgres://…`. */
export async function openOutbox(url: string): Promise<Outbox> {
  const outbox: Outbox = url.startsWith('sqlite:')
    ? new SqliteOutbox(
        url.slice('sqlite:'.length) === ':memory:' ? ':memory:' : resolve(url.slice('sqlite:'.length)),
      )
    : new PostgresOutbox(url);
  await outbox.init();
  return outbox;
}
