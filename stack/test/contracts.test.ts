/**
 * The `npm start` part: deploys and sets up the dev network once, then reuses it — on a second call
 * and after anvil restarts from its persisted state — and redeploys when the chain was reset.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DEV_KEYS, startAnvil } from '@ehr-anchor/testkit';
import { readDeployment, registryAt, chainProvider } from '@ehr-anchor/contracts/deploy';
import type { StackContext, StackRow } from '../src/context.js';
import {
  DEV_ENDPOINT_SERVICES,
  DEV_HOSPITALS,
  devBridgeUrl,
  devKeyWrappingKey,
  up,
} from '../src/contracts.js';
import { Wallet } from 'ethers';

const address = (role: keyof typeof DEV_KEYS) => new Wallet(DEV_KEYS[role]).address;

describe('contracts stack part (npm start)', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  async function runUp(rpcUrl: string, dataDir: string, hospitals: '1' | '2' = '2') {
    const rows: StackRow[] = [];
    const logs: string[] = [];
    const ctx: StackContext = {
      dataDir,
      values: { rpcUrl, chainId: '1337', hospitals },
      row: (r) => rows.push(r),
      log: (m) => logs.push(m),
    };
    await up(ctx);
    return { values: ctx.values, rows, logs };
  }

  it('deploys and registers hospitals A and B with their bridges, named doctors and both bridge endpoints, then reuses it across restarts', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ehr-contracts-stack-'));
    dirs.push(dataDir);
    const statePath = join(dataDir, 'anvil-state.json');
    let anvil = await startAnvil({ statePath });
    try {
      const first = await runUp(anvil.rpcUrl, dataDir);
      assert.equal(first.values.deploymentFile, join(dataDir, 'deployment.json'));
      const deployment = readDeployment(first.values.deploymentFile!);
      assert.equal(first.values.ehrRegistryAddress, deployment.addresses.ehrRegistry);
      assert.equal(deployment.chainId, 1337);
      assert.equal(first.rows.length, 1);
      assert.match(first.logs.join('\n'), /deployed/);

      const provider = chainProvider(anvil.rpcUrl);
      const registry = registryAt(deployment.addresses.ehrRegistry, provider);
      for (const [hospital, bridge, doctor] of [
        ['hospitalA', 'bridgeA', 'doctorA'],
        ['hospitalB', 'bridgeB', 'doctorB'],
      ] as const) {
        const [active, , signer, key, name] = await registry.getFunction('hospitalInfo')(address(hospital));
        assert.equal(active, true);
        assert.equal(signer, address(bridge));
        assert.equal(key, devKeyWrappingKey(hospital).publicKey);
        assert.equal(name, DEV_HOSPITALS[hospital].name);
        assert.deepEqual(
          [...(await registry.getFunction('doctorInfo')(address(doctor)))],
          [address(hospital), DEV_HOSPITALS[hospital].doctorName, true],
        );
      }
      for (const hospital of ['hospitalA', 'hospitalB'] as const)
        assert.deepEqual(
          [...(await registry.getFunction('endpointOf')(address(hospital)))],
          [devBridgeUrl(hospital), BigInt(DEV_ENDPOINT_SERVICES)],
          `portals find ${hospital}’s bridge from the chain`,
        );
      assert.notEqual(devBridgeUrl('hospitalA'), devBridgeUrl('hospitalB'));
      const block = await provider.getBlockNumber();
      provider.destroy();

      const second = await runUp(anvil.rpcUrl, dataDir);
      assert.equal(second.values.ehrRegistryAddress, deployment.addresses.ehrRegistry);
      assert.match(second.logs.join('\n'), /reused[\s\S]*already set up/);

      await anvil.stop();
      anvil = await startAnvil({ statePath });
      const third = await runUp(anvil.rpcUrl, dataDir);
      assert.equal(third.values.ehrRegistryAddress, deployment.addresses.ehrRegistry);
      assert.match(third.logs.join('\n'), /reused[\s\S]*already set up/);
      const after = chainProvider(anvil.rpcUrl);
      assert.equal(await after.getBlockNumber(), block, 'no transaction sent on reuse');
      after.destroy();
    } finally {
      await anvil.stop();
    }
  });

  it('redeploys when the chain no longer holds the recorded deployment', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ehr-contracts-stack-'));
    dirs.push(dataDir);
    const a = await startAnvil();
    try {
      await runUp(a.rpcUrl, dataDir);
    } finally {
      await a.stop();
    }
    const b = await startAnvil(); // a fresh chain: nothing at the recorded address
    try {
      const again = await runUp(b.rpcUrl, dataDir, '1');
      assert.match(again.logs.join('\n'), /deployed[\s\S]*added hospitalA/);
      const provider = chainProvider(b.rpcUrl);
      assert.notEqual(await provider.getCode(again.values.ehrRegistryAddress!), '0x');
      // EHR_HOSPITALS=1: B stays registered (its name and doctor) but publishes no bridge it does not run.
      const registry = registryAt(again.values.ehrRegistryAddress!, provider);
      assert.equal((await registry.getFunction('endpointOf')(address('hospitalA')))[0], devBridgeUrl());
      assert.deepEqual([...(await registry.getFunction('endpointOf')(address('hospitalB')))], ['', 0n]);
      provider.destroy();
    } finally {
      await b.stop();
    }
  });

  it('puts each hospital’s bridge on its own port, and publishes none for an OS-chosen port', () => {
    assert.equal(devBridgeUrl('hospitalA', {}), 'http://127.0.0.1:8787');
    assert.equal(devBridgeUrl('hospitalB', {}), 'http://127.0.0.1:8788');
    assert.equal(devBridgeUrl('hospitalB', { EHR_BRIDGE_PORT: '25787' }), 'http://127.0.0.1:25788');
    assert.equal(
      devBridgeUrl('hospitalB', { EHR_BRIDGE_PORT: '25787', EHR_BRIDGE_B_PORT: '25900' }),
      'http://127.0.0.1:25900',
    );
    assert.equal(devBridgeUrl('hospitalA', { EHR_BRIDGE_PORT: '0' }), undefined);
    assert.equal(devBridgeUrl('hospitalB', { EHR_BRIDGE_PORT: '0' }), undefined);
  });
});
