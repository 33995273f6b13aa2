import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startKubo, type Kubo } from '@ehr-anchor/testkit';
import { cidForBytes, rawCid } from '../src/index.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Deterministic, incompressible-looking bytes (so chunks differ from each other). */
function bytesOf(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe('CIDs equal to real Kubo', { timeout: 300_000 }, () => {
  let kubo: Kubo;
  let dir: string;
  before(async () => {
    kubo = await startKubo();
    dir = await mkdtemp(join(tmpdir(), 'ehr-core-cid-'));
  });
  after(async () => {
    await kubo?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function kuboAdd(bytes: Uint8Array, extra: string[] = []): Promise<string> {
    const file = join(dir, `f-${bytes.length}-${extra.join('')}`);
    await writeFile(file, bytes);
    return (await kubo.cli(['add', '-Q', '--cid-version=1', '--raw-leaves', ...extra, file])).trim();
  }

  const sizes: [string, number][] = [
    ['0 bytes', 0],
    ['1 byte', 1],
    ['256 KiB - 1', 256 * KiB - 1],
    ['256 KiB', 256 * KiB],
    ['256 KiB + 1', 256 * KiB + 1],
    ['1 MiB - 1', MiB - 1],
    ['1 MiB', MiB],
    ['1 MiB + 1', MiB + 1],
    ['3 MiB', 3 * MiB],
  ];
  for (const [label, size] of sizes) {
    it(`matches ipfs add --cid-version=1 --raw-leaves for ${label}`, async () => {
      const bytes = bytesOf(size, size);
      assert.equal(await cidForBytes(bytes), await kuboAdd(bytes));
    });
  }

  it('matches Kubo with 1 MiB chunks and 1024 links (unixfs-v1-2025 settings)', async () => {
    for (const size of [MiB, MiB + 1, 3 * MiB]) {
      const bytes = bytesOf(size, 7 + size);
      const expected = await kuboAdd(bytes, ['--chunker=size-1048576', '--max-file-links=1024']);
      assert.equal(await cidForBytes(bytes, { chunkSize: MiB, maxLinks: 1024 }), expected, `${size} bytes`);
    }
  });

  it('matches Kubo for a file wide enough to need a second DAG level (175 chunks)', async () => {
    const bytes = bytesOf(175 * 256 * KiB + 5, 3);
    assert.equal(await cidForBytes(bytes), await kuboAdd(bytes));
  });

  it('matches the CID Kubo stores over the HTTP API for an envelope-sized block', async () => {
    const bytes = bytesOf(4000, 11);
    const form = new FormData();
    form.append('file', new Blob([bytes]));
    const response = await fetch(`${kubo.apiUrl}/api/v0/add?cid-version=1&raw-leaves=true&quieter=true`, {
      method: 'POST',
      body: form,
    });
    const { Hash } = (await response.json()) as { Hash: string };
    assert.equal(await rawCid(bytes), Hash);
    assert.match(Hash, /^bafkrei/);
  });
});
