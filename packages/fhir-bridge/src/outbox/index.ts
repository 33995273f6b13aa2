import { resolve } from 'node:path';
import { PostgresOutbox } from './postgres.js';
import { AtRestKeys, SealedOutbox } from './sealed.js';
import { SqliteOutbox } from './sqlite.js';
import type { Outbox } from './types.js';

export * from './types.js';
export { PostgresOutbox } from './postgres.js';
export { SqliteOutbox } from './sqlite.js';
export { AtRestKeys, OUTBOX_SCHEMA, SealedOutbox } from './sealed.js';

/**
 * Opens (and migrates) the outbox named by the config: `sqlite:<path>` or `postgres://…`. With the
 * pseudonym key, the bridge's own view: ids as keyed hashes and sealed, bodies sealed
 * ({@link SealedOutbox}); without it, the raw tables (tests, tools that only read state).
 */
export async function openOutbox(url: string, pseudonymKey?: Uint8Array): Promise<Outbox> {
  const raw: Outbox = url.startsWith('sqlite:')
    ? new SqliteOutbox(
        url.slice('sqlite:'.length) === ':memory:' ? ':memory:' : resolve(url.slice('sqlite:'.length)),
      )
    : new PostgresOutbox(url);
  const outbox = pseudonymKey ? new SealedOutbox(raw, new AtRestKeys(pseudonymKey)) : raw;
  await outbox.init();
  return outbox;
}
