/**
 * The Besu network config cannot run here (no Docker, no Java), so this checks what can be checked
 * without it: the genesis extraData decodes to the validator set of the committed node keys, byte
 * for byte in Besu's QBFT layout; the free-gas and permissioning settings; the compose file's wiring.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEV_KEYS } from '@ehr-anchor/testkit';
import { SigningKey, Wallet, computeAddress } from 'ethers';
import { besuDir, decodeQbftExtraData, outdatedBesuFiles, validatorIp } from '../scripts/genesis.js';

const read = (path: string) => readFileSync(join(besuDir, path), 'utf8');
const genesis = (n: 1 | 4) =>
  JSON.parse(read(`genesis-${n}.json`)) as {
    config: Record<string, unknown> & { qbft: Record<string, number> };
    extraData: string;
    gasLimit: string;
  };
const nodeKey = (n: number) => read(`keys/validator-${n}/key`).trim();
const validatorAddress = (n: number) => computeAddress(nodeKey(n));
const enode = (n: number) =>
  `enode://${new SigningKey(nodeKey(n)).publicKey.slice(4)}@${validatorIp(n)}:30303`;

describe('Besu QBFT network config', () => {
  it('is what scripts/genesis.ts generates (run `npm run genesis -w packages/contracts` after changing it)', () => {
    assert.deepEqual(outdatedBesuFiles(), []);
  });

  for (const n of [1, 4] as const) {
    it(`decodes genesis-${n}.json's extraData to the ${n} validator(s) of the committed node keys`, () => {
      const extra = decodeQbftExtraData(genesis(n).extraData);
      const expected = Array.from({ length: n }, (_, i) => validatorAddress(i + 1));
      assert.deepEqual(extra.validators, expected);
      assert.equal(extra.vanity, '0x' + '00'.repeat(32));
      assert.deepEqual(extra.vote, [], 'no vote in genesis');
      assert.equal(extra.round, 0);
      assert.deepEqual(extra.seals, [], 'no seals in genesis');
    });
  }

  it('lays the extraData out byte for byte as Besu’s QbftExtraDataCodec does', () => {
    const validators = [1, 2, 3, 4].map(validatorAddress);
    // RLP list (0xf87a: 122 bytes) of: 32 zero bytes (0xa0…), validator list (0xf854: 4 × (0x94 + 20 bytes)),
    // empty vote list (0xc0), round 0 as an empty scalar (0x80), empty seal list (0xc0).
    const expected =
      '0xf87aa0' +
      '00'.repeat(32) +
      'f854' +
      validators.map((a) => `94${a.slice(2).toLowerCase()}`).join('') +
      'c080c0';
    assert.equal(genesis(4).extraData, expected);
  });

  it('configures chain id 1337, free gas, 2-second QBFT blocks and the Cancun EVM', () => {
    for (const n of [1, 4] as const) {
      const { config } = genesis(n);
      assert.equal(config.chainId, 1337);
      assert.equal(config.zeroBaseFee, true);
      assert.equal(config.qbft.blockperiodseconds, 2);
      assert.equal(config.londonBlock, 0);
      assert.equal(config.shanghaiTime, 0);
      assert.equal(config.cancunTime, 0);
    }
    const flags = read('config.toml');
    for (const flag of [
      'min-gas-price=0',
      'revert-reason-enabled=true',
      'rpc-http-enabled=true',
      'permissions-nodes-config-file-enabled=true',
      'permissions-accounts-config-file-enabled=true',
    ]) {
      assert.ok(flags.split('\n').includes(flag), flag);
    }
    assert.match(flags, /^rpc-http-api=\["ETH","NET","WEB3","QBFT","TXPOOL","PERM"\]$/m);
  });

  it('allowlists exactly the validators as nodes and the dev roles as accounts', () => {
    const toml = read('permissions_config.toml');
    const list = (key: string) =>
      JSON.parse(new RegExp(`^${key}=(\\[[^\\]]*\\])`, 'm').exec(toml)![1]!) as string[];
    assert.deepEqual(list('nodes-allowlist'), [1, 2, 3, 4].map(enode));
    assert.deepEqual(
      list('accounts-allowlist'),
      Object.values(DEV_KEYS).map((k) => new Wallet(k).address),
    );
  });

  it('wires 4 validators (own key, fixed address, validator 1 as bootnode), Kubo, IPFS Cluster, PostgreSQL and the bridge', () => {
    const compose = read('docker-compose.yml');
    for (const n of [1, 2, 3, 4]) {
      assert.match(compose, new RegExp(`\\n  validator${n}:\\n`));
      assert.ok(compose.includes(`./keys/validator-${n}:/besu/key:ro`));
      assert.ok(compose.includes(`ipv4_address: ${validatorIp(n)}`));
    }
    assert.equal(compose.split(`--bootnodes=${enode(1)}`).length - 1, 3);
    assert.equal(compose.split('./genesis-4.json:/besu/genesis.json:ro').length - 1, 4);
    for (const service of ['kubo', 'ipfs-cluster', 'postgres', 'deploy', 'bridge'])
      assert.match(compose, new RegExp(`\\n  ${service}:\\n`));
    assert.match(compose, /EHR_BRIDGE_OUTBOX: postgres:\/\//);
    assert.match(compose, /EHR_BRIDGE_IPFS_API_URL: http:\/\/ipfs-cluster:9095/);
  });
});
