/**
 * The Besu network config cannot run here (no Docker daemon, no Java), so this checks what can be
 * checked without it: the genesis extraData decodes to the validator set of the committed node keys,
 * byte for byte in Besu's QBFT layout; the free-gas and permissioning settings; the compose file's
 * wiring (parsed as YAML), the Node image's stages and the build context's exclusions.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEV_KEYS } from '@ehr-anchor/testkit';
import { SigningKey, Wallet, computeAddress } from 'ethers';
import { parse } from 'yaml';
import { besuDir, decodeQbftExtraData, outdatedBesuFiles, validatorIp } from '../scripts/genesis.js';

const read = (path: string) => readFileSync(join(besuDir, path), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  profiles?: string[];
  depends_on?: unknown;
  entrypoint?: string[];
  command?: string[] | string;
  environment?: Record<string, string>;
  secrets?: string[];
  volumes?: string[];
  ports?: string[];
  network_mode?: string;
  networks?: Record<string, { ipv4_address?: string } | null>;
}
interface Compose {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
}
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

  it('runs network-init before the validators; the committed dev keys only in the dev profile', () => {
    const compose = parse(read('docker-compose.yml')) as Compose;
    const services = compose.services;
    assert.deepEqual(Object.keys(services).sort(), [
      'bridge',
      'deploy',
      'dev-keys',
      'ipfs-cluster',
      'kubo',
      'network-init',
      'postgres',
      'validator1',
      'validator2',
      'validator3',
      'validator4',
    ]);
    // Only dev-keys (profile dev) binds ./keys; nothing binds the committed genesis or allowlists.
    const mounts = Object.entries(services).flatMap(([name, s]) => (s.volumes ?? []).map((v) => [name, v]));
    assert.deepEqual(
      mounts.filter(([, v]) => /^\.\/(keys|genesis|permissions_config)/.test(v!)),
      [['dev-keys', './keys:/committed:ro']],
    );
    assert.deepEqual(services['dev-keys']!.profiles, ['dev']);
    const init = services['network-init']!;
    assert.equal(init.profiles, undefined, 'network-init runs in production');
    assert.deepEqual(init.depends_on, {
      'dev-keys': { condition: 'service_completed_successfully', required: false },
    });
    assert.deepEqual(init.command, ['node', 'packages/contracts/dist/scripts/network-init.js']);
    assert.equal(init.network_mode, 'none');
    assert.deepEqual(init.secrets, ['admin_key', 'bridge_signer_key']);
    assert.ok(init.volumes!.includes('dev-keys:/dev-keys:ro'));
    for (const n of [1, 2, 3, 4])
      assert.ok(init.volumes!.includes(`validator${n}-node:/nodes/validator-${n}`));
    assert.equal(init.environment!.EHR_NODES_DIR, '/nodes');
    assert.equal(init.environment!.EHR_NETWORK_DIR, '/network');
  });

  it('gives each validator its own key volume, the shared genesis read-only and validator 1 as bootnode', () => {
    const compose = parse(read('docker-compose.yml')) as Compose;
    const config = read('config.toml');
    assert.match(config, /^genesis-file="\/network\/genesis.json"$/m);
    assert.match(config, /^permissions-nodes-config-file="\/node\/permissions_config.toml"$/m);
    assert.match(config, /^permissions-accounts-config-file="\/node\/permissions_config.toml"$/m);
    for (const n of [1, 2, 3, 4]) {
      const v = compose.services[`validator${n}`]!;
      assert.deepEqual(v.depends_on, { 'network-init': { condition: 'service_completed_successfully' } });
      assert.deepEqual(v.volumes, [
        './config.toml:/besu/config.toml:ro',
        'network:/network:ro',
        `validator${n}-node:/node`,
        `validator${n}-data:/opt/besu/data`,
      ]);
      assert.equal(v.networks!.ehr!.ipv4_address, validatorIp(n));
      assert.deepEqual(v.entrypoint, ['/bin/sh', '-c']);
      const command = (v.command as string[]).join(' ');
      assert.match(
        command,
        /^exec besu-entry\.sh --config-file=\/besu\/config\.toml --data-path=\/opt\/besu\/data --node-private-key-file=\/node\/key/,
      );
      // $$ is compose's escape for a literal $: the shell reads the bootnode network-init wrote.
      assert.equal(command.includes('--bootnodes="$$(cat /network/bootnode)"'), n !== 1);
    }
    assert.deepEqual(compose.services.validator1!.ports, ['127.0.0.1:8545:8545']);
    for (const volume of ['network', 'dev-keys', 'validator1-node', 'validator4-data'])
      assert.ok(volume in compose.volumes, volume);
  });

  it('wires Kubo, IPFS Cluster, PostgreSQL, the deploy job and the bridge on the runtime image', () => {
    const compose = parse(read('docker-compose.yml')) as Compose;
    const s = compose.services;
    for (const name of ['network-init', 'dev-keys', 'deploy', 'bridge'])
      assert.deepEqual(
        s[name]!.build,
        { context: '../../..', dockerfile: 'packages/contracts/besu/node.Dockerfile', target: 'runtime' },
        name,
      );
    assert.deepEqual(s.deploy!.command, ['node', 'packages/contracts/dist/scripts/deploy.js']);
    assert.deepEqual(s.bridge!.command, ['node', 'packages/fhir-bridge/bin/ehr-bridge.mjs', 'start']);
    assert.match(String(s.bridge!.environment!.EHR_BRIDGE_OUTBOX), /^postgres:\/\//);
    assert.equal(s.bridge!.environment!.EHR_BRIDGE_IPFS_API_URL, 'http://ipfs-cluster:9095');
    assert.deepEqual(s.bridge!.ports, ['127.0.0.1:8787:8787']);
  });

  it('builds the Node image in two stages: dev dependencies only in the build stage, none at run time', () => {
    const dockerfile = read('node.Dockerfile');
    const stages = dockerfile.split(/^FROM /m).slice(1);
    assert.deepEqual(
      stages.map((st) => /^\S+ AS (\S+)/.exec(st)?.[1]),
      ['build', 'runtime'],
    );
    const [build, runtime] = stages as [string, string];
    assert.match(build, /^RUN npm ci --ignore-scripts$/m);
    assert.match(build, /^RUN npx tsc -b packages\/contracts packages\/fhir-bridge$/m);
    assert.match(runtime, /npm ci --omit=dev --ignore-scripts/);
    assert.match(runtime, /^ENV NODE_ENV=production/m);
    assert.match(runtime, /^USER node$/m);
    assert.doesNotMatch(runtime, /^COPY \. /m, 'the runtime stage copies built files only, never the tree');
    // Every file the compose file runs on the image is copied into the runtime stage.
    const copied = [...runtime.matchAll(/^COPY --from=build \/app\/(\S+) (\S+)$/gm)].map((m) => m[2]!);
    for (const file of [
      'packages/contracts/dist/scripts/network-init.js',
      'packages/contracts/dist/scripts/deploy.js',
      'packages/fhir-bridge/bin/ehr-bridge.mjs',
      'packages/fhir-bridge/dist/src/cli.js',
    ])
      assert.ok(
        copied.some((dir) => file.startsWith(dir.replace(/\/$/, '') + '/')),
        `${file} is in the runtime image`,
      );
  });

  it('keeps history, local state, tools, dependencies and secrets out of the build context (.dockerignore)', () => {
    const ignore = readFileSync(join(besuDir, '..', '..', '..', '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const entry of [
      '.git',
      '.data',
      '.tools',
      '**/node_modules',
      '**/dist',
      '**/secrets',
      '**/.env',
      'packages/contracts/besu/keys',
    ])
      assert.ok(ignore.includes(entry), entry);
  });
});
