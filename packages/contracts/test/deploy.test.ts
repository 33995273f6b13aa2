/** The deploy function and the signer every part uses on Besu (Wallet + NonceManager). */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEV_KEYS, startAnvil, type Anvil } from '@ehr-anchor/testkit';
import {
  chainProvider,
  chainSigner,
  deployContracts,
  isLive,
  registryAbiHash,
  registryAt,
} from '@ehr-anchor/contracts/deploy';
import { Wallet, keccak256, toUtf8Bytes } from 'ethers';

describe('deployContracts and chainSigner', () => {
  let anvil: Anvil;
  let dir: string;
  before(async () => {
    anvil = await startAnvil();
    dir = await mkdtemp(join(tmpdir(), 'ehr-contracts-deploy-'));
  });
  after(async () => {
    await anvil.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('deploys EhrRegistry and writes the deployment file the bridge and demo read', async () => {
    const outFile = join(dir, 'deployment.json');
    const admin = new Wallet(DEV_KEYS.healthWorker).address;
    const deployment = await deployContracts({
      rpcUrl: anvil.rpcUrl,
      adminKey: DEV_KEYS.admin,
      admin,
      outFile,
    });
    assert.deepEqual(JSON.parse(await readFile(outFile, 'utf8')), deployment);
    assert.equal(deployment.chainId, 1337);
    assert.equal(deployment.admin, admin);
    assert.equal(deployment.abiHash, registryAbiHash);
    const provider = chainProvider(anvil.rpcUrl);
    try {
      assert.equal(await isLive(provider, deployment), true);
      assert.equal(
        await isLive(provider, {
          ...deployment,
          abiHash: keccak256(toUtf8Bytes('other code')) as `0x${string}`,
        }),
        false,
      );
      const receipt = await provider.getTransactionReceipt(deployment.transactionHash);
      assert.equal(receipt?.blockNumber, deployment.block);
      const registry = registryAt(deployment.addresses.ehrRegistry, provider);
      const role = keccak256(toUtf8Bytes('NETWORK_ADMIN_ROLE'));
      assert.equal(
        await registry.getFunction('hasRole')(role, admin),
        true,
        'the named admin holds the roles',
      );
      assert.equal(
        await registry.getFunction('hasRole')(role, new Wallet(DEV_KEYS.admin).address),
        false,
        'the deployer does not',
      );
    } finally {
      provider.destroy();
    }
  });

  it(
    'keeps sending after the contract refuses a call (no nonce gap left behind)',
    { timeout: 60_000 },
    async () => {
      const provider = chainProvider(anvil.rpcUrl);
      try {
        const { addresses } = await deployContracts({ rpcUrl: anvil.rpcUrl, adminKey: DEV_KEYS.admin });
        const bridge = registryAt(addresses.ehrRegistry, chainSigner(DEV_KEYS.bridgeA, provider));
        await assert.rejects(
          bridge.getFunction('anchor')(keccak256(toUtf8Bytes('root')), 'bafkrei-x', 1),
          /NotBridgeSigner|execution reverted/,
        );
        const admin = registryAt(addresses.ehrRegistry, chainSigner(DEV_KEYS.admin, provider));
        const bridgeAddress = new Wallet(DEV_KEYS.bridgeA).address;
        await (
          await admin.getFunction('addHospital')(
            new Wallet(DEV_KEYS.hospitalA).address,
            bridgeAddress,
            '0x01',
            'Hospital A',
          )
        ).wait();
        const receipt = await (
          await bridge.getFunction('anchor')(keccak256(toUtf8Bytes('root')), 'bafkrei-x', 1)
        ).wait();
        assert.equal(receipt?.status, 1, 'the next transaction of the same signer is mined');
      } finally {
        provider.destroy();
      }
    },
  );
});
