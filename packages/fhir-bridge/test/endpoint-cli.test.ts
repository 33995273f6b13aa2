/**
 * `ehr-bridge endpoint set <url>`: a hospital publishes where its bridge answers, signed with the
 * hospital's own key (from EHR_HOSPITAL_KEY_FILE), on a real anvil chain. A bad URL, a key that is
 * not a hospital's, or a missing key file change nothing on chain and say why in a sentence.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ENDPOINT_SERVICES, ehrRegistryAbi } from '@ehr-anchor/contracts';
import { DEV_KEYS } from '@ehr-anchor/testkit';
import { Contract, JsonRpcProvider, Wallet } from 'ethers';
import { startChain, type Chain } from './helpers.js';

const LAUNCHER = fileURLToPath(new URL('../bin/ehr-bridge.mjs', import.meta.url));

describe('ehr-bridge endpoint set', () => {
  let dir: string;
  let chain: Chain;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ehr-endpoint-cli-'));
    chain = await startChain(dir);
    await writeFile(join(dir, 'hospital-b.key'), `${DEV_KEYS.hospitalB}\n`, { mode: 0o600 });
    await writeFile(join(dir, 'doctor-b.key'), `${DEV_KEYS.doctorB}\n`, { mode: 0o600 });
  });
  after(async () => {
    await chain?.anvil.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function cli(args: string[], keyFile?: string): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [LAUNCHER, 'endpoint', ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          EHR_BRIDGE_FROM_SOURCE: '1',
          EHR_BRIDGE_RPC_URL: chain.anvil.rpcUrl,
          EHR_BRIDGE_DEPLOYMENT_FILE: chain.deploymentFile,
          EHR_BRIDGE_IPFS_API_URL: 'http://127.0.0.1:5001',
          EHR_BRIDGE_SIGNER_KEY: DEV_KEYS.bridgeB,
          EHR_BRIDGE_KEY_STORE: join(dir, 'keys.json'),
          EHR_BRIDGE_OUTBOX: `sqlite:${join(dir, 'outbox.db')}`,
          EHR_BRIDGE_SOURCES: JSON.stringify([
            { id: 'src', auth: { type: 'bearer', secret: 'unused-by-endpoint-set' } },
          ]),
          ...(keyFile ? { EHR_HOSPITAL_KEY_FILE: keyFile } : { EHR_HOSPITAL_KEY_FILE: '' }),
        },
      });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      child.once('exit', (code) => resolve({ code, output }));
    });
  }

  async function endpointOf(hospital: keyof typeof DEV_KEYS): Promise<[string, bigint]> {
    const provider = new JsonRpcProvider(chain.anvil.rpcUrl, undefined, { staticNetwork: true });
    try {
      const registry = new Contract(chain.registry, ehrRegistryAbi, provider);
      const [url, services] = (await registry.getFunction('endpointOf')(
        new Wallet(DEV_KEYS[hospital]).address,
      )) as [string, bigint];
      return [url, services];
    } finally {
      provider.destroy();
    }
  }

  it('publishes the URL and services with the hospital’s key; a second run changes nothing', async () => {
    const set = await cli(
      ['set', 'https://bridge.hospital-b.example/', '--services', 'records,entries,search'],
      join(dir, 'hospital-b.key'),
    );
    assert.equal(set.code, 0, set.output);
    assert.match(set.output, /published https:\/\/bridge\.hospital-b\.example \(records, entries, search\)/);
    const [url, services] = await endpointOf('hospitalB');
    assert.equal(url, 'https://bridge.hospital-b.example');
    assert.equal(
      Number(services),
      ENDPOINT_SERVICES.records | ENDPOINT_SERVICES.entries | ENDPOINT_SERVICES.search,
    );
    const again = await cli(
      ['set', 'https://bridge.hospital-b.example', '--services', 'records,entries,search'],
      join(dir, 'hospital-b.key'),
    );
    assert.equal(again.code, 0, again.output);
    assert.match(again.output, /already published/);
  });

  for (const [why, args, key, said] of [
    [
      'a plain-http address off this computer',
      ['set', 'http://bridge.example'],
      'hospital-b.key',
      /https:\/\//,
    ],
    [
      'an address with credentials',
      ['set', 'https://u:p@bridge.example'],
      'hospital-b.key',
      /user name or password/,
    ],
    [
      'an unknown service',
      ['set', 'https://bridge.example', '--services', 'telepathy'],
      'hospital-b.key',
      /unknown service telepathy/,
    ],
    ['no hospital key file', ['set', 'https://bridge.example'], undefined, /EHR_HOSPITAL_KEY_FILE/],
    [
      'a doctor’s key (not a hospital)',
      ['set', 'https://bridge.example'],
      'doctor-b.key',
      /Only a hospital’s administrator account can do this/,
    ],
  ] as const) {
    it(`refuses ${why}, changing nothing`, async () => {
      const before = await endpointOf('hospitalB');
      const r = await cli([...args], key ? join(dir, key) : undefined);
      assert.equal(r.code, 2, r.output);
      assert.match(r.output, said);
      assert.doesNotMatch(r.output, /0x[0-9a-f]{64}/i, 'no key in the output');
      assert.deepEqual(await endpointOf('hospitalB'), before);
    });
  }
});
