/**
 * Deploys the ehr-anchor contracts with an ethers v6 Wallet wrapped in a NonceManager (Besu has no
 * `eth_sendTransaction`, so every transaction is signed locally) and writes the deployment file the
 * bridge and the demo read.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  Contract,
  ContractFactory,
  JsonRpcProvider,
  NonceManager,
  Wallet,
  getAddress,
  keccak256,
  toUtf8Bytes,
  type Provider,
  type TransactionRequest,
  type TransactionResponse,
} from 'ethers';
import type { Deployment } from './deployment.js';
import { ehrRegistryAbi, ehrRegistryBytecode } from './generated/ehr-registry.js';

export type { Deployment } from './deployment.js';

export interface DeployOptions {
  /** JSON-RPC URL of the chain (anvil locally, a Besu node in production). */
  rpcUrl: string;
  /** Private key that pays for and signs the deployment. */
  adminKey: string;
  /** Account given DEFAULT_ADMIN_ROLE and NETWORK_ADMIN_ROLE; default: the deployer. */
  admin?: string;
  /** Where to write the deployment JSON; nothing is written when absent. */
  outFile?: string;
  /** Receipt polling interval in ms (default 100; Besu's blocks come every 2 s). */
  pollingIntervalMs?: number;
}

/** keccak256 of the registry's ABI JSON: a deployment with another hash is from other code. */
export const registryAbiHash = keccak256(toUtf8Bytes(JSON.stringify(ehrRegistryAbi))) as `0x${string}`;

/** A JSON-RPC provider for a loopback or permissioned chain, polling receipts briskly. */
export function chainProvider(rpcUrl: string, pollingIntervalMs = 100): JsonRpcProvider {
  return new JsonRpcProvider(rpcUrl, undefined, { pollingInterval: pollingIntervalMs, cacheTimeout: -1 });
}

/**
 * ethers' NonceManager counts a nonce before it estimates gas, so a call the contract refuses (a
 * custom error during estimation) would leave a gap and the signer's next transaction would wait
 * behind it forever. This one re-reads the nonce from the node after any failed send.
 */
export class ResettingNonceManager extends NonceManager {
  override async sendTransaction(tx: TransactionRequest): Promise<TransactionResponse> {
    try {
      return await super.sendTransaction(tx);
    } catch (error) {
      this.reset();
      throw error;
    }
  }

  override connect(provider: null | Provider): ResettingNonceManager {
    return new ResettingNonceManager(this.signer.connect(provider));
  }
}

/**
 * An ethers v6 signer for `key`: a Wallet (Besu has no `eth_sendTransaction`) wrapped in a
 * {@link ResettingNonceManager}, so back-to-back sends never reuse a nonce and a refused call never
 * blocks the next one. Send concurrently only calls that cannot be refused, or await each in turn.
 */
export function chainSigner(key: string, provider: JsonRpcProvider): NonceManager {
  return new ResettingNonceManager(new Wallet(key, provider));
}

/** Deploys EhrRegistry and returns (and optionally writes) the deployment. */
export async function deployContracts(options: DeployOptions): Promise<Deployment> {
  const provider = chainProvider(options.rpcUrl, options.pollingIntervalMs);
  try {
    const signer = chainSigner(options.adminKey, provider);
    const admin = getAddress(options.admin ?? (await signer.getAddress()));
    const factory = new ContractFactory(ehrRegistryAbi, ehrRegistryBytecode, signer);
    const contract = await factory.deploy(admin);
    const receipt = await contract.deploymentTransaction()!.wait();
    if (!receipt || receipt.status !== 1) throw new Error('EhrRegistry deployment failed');
    const deployment: Deployment = {
      chainId: Number((await provider.getNetwork()).chainId),
      addresses: { ehrRegistry: getAddress(await contract.getAddress()) as `0x${string}` },
      block: receipt.blockNumber,
      transactionHash: receipt.hash as `0x${string}`,
      admin: admin as `0x${string}`,
      abiHash: registryAbiHash,
      deployedAt: new Date().toISOString(),
    };
    if (options.outFile) writeDeployment(options.outFile, deployment);
    return deployment;
  } finally {
    provider.destroy();
  }
}

/** Writes a deployment file (creating its folder). */
export function writeDeployment(file: string, deployment: Deployment): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(deployment, null, 2)}\n`);
}

/** Reads a deployment file. */
export function readDeployment(file: string): Deployment {
  return JSON.parse(readFileSync(file, 'utf8')) as Deployment;
}

/**
 * True if the chain at `provider` still holds this deployment: same chain id, code at the address,
 * and the ABI it was deployed with is the current one (a reset chain or changed contracts mean redeploy).
 */
export async function isLive(provider: JsonRpcProvider, deployment: Deployment): Promise<boolean> {
  const { chainId } = await provider.getNetwork();
  if (Number(chainId) !== deployment.chainId || deployment.abiHash !== registryAbiHash) return false;
  const code = await provider.getCode(deployment.addresses.ehrRegistry);
  return code !== '0x';
}

/** The registry at `address`, connected to a signer or provider (untyped ethers Contract). */
export function registryAt(address: string, runner: NonceManager | JsonRpcProvider | Wallet): Contract {
  return new Contract(address, ehrRegistryAbi, runner);
}
