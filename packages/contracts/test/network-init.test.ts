/**
 * The production compose file's first-start job (scripts/network-init.ts), run here on temporary
 * directories standing in for its volumes: fresh random node keys (secret files), a genesis whose
 * extraData lists exactly their addresses, each node's allowlists and the bootnode; nothing changed on
 * a second start; the dev profile's committed keys give back the committed genesis byte for byte.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEV_KEYS } from '@ehr-anchor/testkit';
import { SigningKey, Wallet } from 'ethers';
import { decodeQbftExtraData, validatorFromKey } from '../src/besu.js';
import { initNetwork } from '../scripts/network-init.js';
import { besuDir } from '../scripts/genesis.js';

const dirs: string[] = [];
function volumes() {
  const root = mkdtempSync(join(tmpdir(), 'ehr-network-init-'));
  dirs.push(root);
  return { networkDir: join(root, 'network'), nodesDir: join(root, 'nodes'), root };
}
const admin = new Wallet(DEV_KEYS.admin).address;
const bridge = new Wallet(DEV_KEYS.bridgeA).address;
const read = (file: string) => readFileSync(file, 'utf8');
const allowlist = (toml: string, key: string) =>
  JSON.parse(new RegExp(`^${key}=(\\[[^\\]]*\\])`, 'm').exec(toml)![1]!) as string[];

describe('network-init (first start of the production compose file)', () => {
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('creates fresh node keys and a genesis, allowlists and bootnode that match them', () => {
    const v = volumes();
    const result = initNetwork({ ...v, validators: 4, accounts: [admin, bridge, admin] });
    assert.equal(result.mode, 'generated');
    const keys = [1, 2, 3, 4].map((n) => read(join(v.nodesDir, `validator-${n}`, 'key')));
    for (const [i, key] of keys.entries()) {
      assert.match(key, /^0x[0-9a-f]{64}$/);
      assert.equal(
        statSync(join(v.nodesDir, `validator-${i + 1}`, 'key')).mode & 0o777,
        0o600,
        'secret file',
      );
      assert.doesNotThrow(() => new SigningKey(key));
    }
    assert.equal(new Set(keys).size, 4, 'four different keys');
    const devKeys = [1, 2, 3, 4].map((n) => read(join(besuDir, 'keys', `validator-${n}`, 'key')));
    assert.ok(
      keys.every((k) => !devKeys.includes(k)),
      'never the committed dev keys',
    );
    const validators = keys.map((k, i) => validatorFromKey(k, i + 1));
    assert.deepEqual(
      result.validators,
      validators.map((x) => x.address),
    );

    const genesis = JSON.parse(read(join(v.networkDir, 'genesis.json'))) as {
      extraData: string;
      config: { chainId: number };
    };
    assert.deepEqual(
      decodeQbftExtraData(genesis.extraData).validators,
      validators.map((x) => x.address),
    );
    assert.equal(genesis.config.chainId, 1337);
    assert.equal(read(join(v.networkDir, 'bootnode')).trim(), validators[0]!.enode);
    for (let n = 1; n <= 4; n++) {
      const toml = read(join(v.nodesDir, `validator-${n}`, 'permissions_config.toml'));
      assert.deepEqual(
        allowlist(toml, 'nodes-allowlist'),
        validators.map((x) => x.enode),
      );
      assert.deepEqual(allowlist(toml, 'accounts-allowlist'), [admin, bridge], 'deduplicated, in order');
    }
    // No node's volume holds another node's key.
    assert.ok(!existsSync(join(v.nodesDir, 'validator-1', 'validator-2')));
  });

  it('changes nothing on a later start, and makes other keys for another network', () => {
    const v = volumes();
    initNetwork({ ...v, validators: 4, accounts: [admin] });
    const before = [1, 2, 3, 4].map((n) => read(join(v.nodesDir, `validator-${n}`, 'key')));
    const genesis = read(join(v.networkDir, 'genesis.json'));
    const again = initNetwork({ ...v, validators: 4, accounts: [admin, bridge] });
    assert.equal(again.mode, 'existing');
    assert.deepEqual(
      [1, 2, 3, 4].map((n) => read(join(v.nodesDir, `validator-${n}`, 'key'))),
      before,
    );
    assert.equal(read(join(v.networkDir, 'genesis.json')), genesis);
    const other = volumes();
    initNetwork({ ...other, validators: 4, accounts: [admin] });
    assert.notEqual(read(join(other.networkDir, 'genesis.json')), genesis);
  });

  it('keeps a key an interrupted first start already wrote, and refuses a genesis whose keys are gone', () => {
    const v = volumes();
    const kept = validatorFromKey('0x' + '42'.repeat(32), 1);
    initNetwork({ ...v, validators: 1, accounts: [] });
    // Simulate a crash before the genesis: remove it, put a known key in place.
    unlinkSync(join(v.networkDir, 'genesis.json'));
    writeFileSync(join(v.nodesDir, 'validator-1', 'key'), kept.key);
    const resumed = initNetwork({ ...v, validators: 1, accounts: [] });
    assert.deepEqual(resumed.validators, [kept.address]);
    unlinkSync(join(v.nodesDir, 'validator-1', 'key'));
    assert.throws(
      () => initNetwork({ ...v, validators: 1, accounts: [] }),
      /validator\(s\) 1 have no node key: restore their volume/,
    );
  });

  it('with the dev profile’s committed keys, writes exactly the committed genesis-4.json and allowlists', () => {
    const v = volumes();
    const result = initNetwork({ ...v, validators: 4, accounts: [], devKeysDir: join(besuDir, 'keys') });
    assert.equal(result.mode, 'dev');
    assert.equal(read(join(v.networkDir, 'genesis.json')), read(join(besuDir, 'genesis-4.json')));
    assert.equal(
      read(join(v.nodesDir, 'validator-3', 'permissions_config.toml')),
      read(join(besuDir, 'permissions_config.toml')),
    );
  });

  it('refuses a dev key folder that has keys for only some validators', () => {
    const v = volumes();
    assert.throws(
      () => initNetwork({ ...v, validators: 5, accounts: [], devKeysDir: join(besuDir, 'keys') }),
      /holds dev keys for 4 of 5 validators/,
    );
    assert.ok(!existsSync(join(v.networkDir, 'genesis.json')));
  });

  it('runs from the environment the compose file sets, allowlisting the admin and bridge from their key files', () => {
    const v = volumes();
    const adminFile = join(v.root, 'admin_key');
    const bridgeFile = join(v.root, 'bridge_signer_key');
    writeFileSync(adminFile, `${DEV_KEYS.admin}\n`);
    writeFileSync(bridgeFile, DEV_KEYS.bridgeA);
    const doctor = new Wallet(DEV_KEYS.doctorA).address;
    const script = fileURLToPath(new URL('../scripts/network-init.ts', import.meta.url));
    const run = () =>
      spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', script], {
        env: {
          ...process.env,
          EHR_NETWORK_DIR: v.networkDir,
          EHR_NODES_DIR: v.nodesDir,
          EHR_VALIDATORS: '4',
          EHR_DEV_KEYS_DIR: join(v.root, 'dev-keys (empty in production)'),
          EHR_ADMIN_KEY_FILE: adminFile,
          EHR_BRIDGE_SIGNER_KEY_FILE: bridgeFile,
          EHR_ALLOW_ACCOUNTS: ` ${doctor.toLowerCase()} ,`,
        },
        encoding: 'utf8',
      });
    const first = run();
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /created new validator keys and the genesis; validators 0x/);
    assert.ok(!first.stdout.includes(read(join(v.nodesDir, 'validator-1', 'key'))), 'never prints a key');
    const toml = read(join(v.nodesDir, 'validator-2', 'permissions_config.toml'));
    assert.deepEqual(allowlist(toml, 'accounts-allowlist'), [admin, bridge, doctor]);
    const second = run();
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /the network exists already; nothing changed/);
  });
});
