import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEV_KEYS, startAnvil, type Anvil } from '@ehr-anchor/testkit';
import { Contract, ContractFactory, JsonRpcProvider, NonceManager, Wallet, type InterfaceAbi } from 'ethers';
import solc from 'solc';
import { buildTree, leafHash, leafTuple, randomSalt, type Hex, type LeafInput } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

function compile(): { abi: InterfaceAbi; bytecode: string } {
  const source = 'RecordProofCheck.sol';
  const input = {
    language: 'Solidity',
    sources: { [source]: { content: readFileSync(join(here, 'solidity', source), 'utf8') } },
    settings: {
      evmVersion: 'cancun',
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  };
  const findImports = (path: string) => {
    try {
      const [scope, name, ...rest] = path.split('/');
      return {
        contents: readFileSync(
          join(dirname(require.resolve(`${scope}/${name}/package.json`)), ...rest),
          'utf8',
        ),
      };
    } catch (error) {
      return { error: String(error) };
    }
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports })) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts: Record<string, Record<string, { abi: InterfaceAbi; evm: { bytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length) throw new Error(errors.map((e) => e.formattedMessage).join('\n'));
  const contract = output.contracts[source]!['RecordProofCheck']!;
  return { abi: contract.abi, bytecode: '0x' + contract.evm.bytecode.object };
}

function leaf(i: number): LeafInput {
  return {
    subject: randomSalt(),
    resourceType: ['Observation', 'Patient', 'DiagnosticReport'][i % 3]!,
    resourceId: `res-${i}-${'ü'.repeat(i % 40)}`,
    versionId: String(1 + (i % 4)),
    contentHash: randomSalt(),
    payloadCid: `bafkrei${'a'.repeat(52)}`,
    salt: randomSalt(),
  };
}

describe(
  'proofs built in TypeScript verify with OpenZeppelin MerkleProof in Solidity',
  { timeout: 300_000 },
  () => {
    let anvil: Anvil;
    let check: Contract;
    before(async () => {
      const { abi, bytecode } = compile();
      anvil = await startAnvil();
      const signer = new NonceManager(
        new Wallet(DEV_KEYS.admin, new JsonRpcProvider(anvil.rpcUrl, 1337, { staticNetwork: true })),
      );
      const deployed = await new ContractFactory(abi, bytecode, signer).deploy();
      await deployed.waitForDeployment();
      check = new Contract(await deployed.getAddress(), abi, signer.provider);
    });
    after(async () => {
      await anvil?.stop();
    });

    it('computes the same leaf hash on chain as leafHash() (ABI encoding, unicode strings)', async () => {
      for (let i = 0; i < 12; i++) {
        const l = leaf(i);
        assert.equal(await check.getFunction('leafOf')(...leafTuple(l)), leafHash(l), `leaf ${i}`);
      }
    });

    for (const n of [1, 2, 3, 10, 33]) {
      it(`accepts every proof of a ${n}-leaf batch and rejects a proof for a foreign leaf`, async () => {
        const leaves = Array.from({ length: n }, (_, i) => leaf(i));
        const hashes = leaves.map(leafHash);
        const tree = buildTree(hashes);
        const verify = check.getFunction('verify');
        for (let i = 0; i < n; i++)
          assert.equal(await verify(tree.proof(i), tree.root, hashes[i]), true, `leaf ${i}`);
        assert.equal(await verify(tree.proof(0), tree.root, leafHash(leaf(99))), false);
      });
    }

    it('rejects a proof with a flipped sibling on chain', async () => {
      const hashes = Array.from({ length: 6 }, (_, i) => leafHash(leaf(i)));
      const tree = buildTree(hashes);
      const proof = tree.proof(4);
      const bad = [...proof];
      bad[1] = ('0x' + (BigInt(bad[1]!) ^ 1n).toString(16).padStart(64, '0')) as Hex;
      const verify = check.getFunction('verify');
      assert.equal(await verify(proof, tree.root, hashes[4]), true);
      assert.equal(await verify(bad, tree.root, hashes[4]), false);
    });
  },
);
