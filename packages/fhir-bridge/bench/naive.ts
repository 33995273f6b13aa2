/**
 * The naive baseline of the ingest bench: one record per anchor — each resource gets its own IPFS
 * add and its own `anchor(leaf, cid, 1)` transaction — but with the concurrency a fair engineer
 * would give it: `concurrency` records in flight through every stage, so IPFS adds overlap and
 * anchor transactions are pipelined (explicit nonces from one counter, signed locally, receipts
 * awaited side by side). It runs in the bench's own process, in memory: no HTTP parsing, no durable
 * outbox, no exactly-once bookkeeping — advantages the batched bridge does not get.
 *
 * The per-record work is the bridge's own code: `prepareResourceSync` (canonical hash, pseudonym),
 * `sealForHospital` (the envelope), core's `leafHash`.
 */
import { ehrRegistryAbi } from '@ehr-anchor/contracts';
import { generateHospitalKey, generatePseudonymKey, leafHash, recordAad, type Hex } from '@ehr-anchor/core';
import { DEV_KEYS } from '@ehr-anchor/testkit';
import { Interface, JsonRpcProvider, Transaction, Wallet } from 'ethers';
import { create } from 'kubo-rpc-client';
import { prepareResourceSync } from '../src/ingest/prepare.js';
import { randomSaltFast, sealForHospital } from '../src/pipeline/fast-crypto.js';
import type { Resource } from './lib.js';

export interface NaivePipeline {
  /** Takes resources `0 … count-1` of `resourceOf` through seal → add → anchor → receipt. */
  run(count: number, resourceOf: (i: number) => Resource): Promise<{ txs: number }>;
  close(): void;
}

export async function naivePipeline(options: {
  rpcUrl: string;
  registry: string;
  ipfsApiUrl: string;
  concurrency: number;
  /** Receipt polling interval (ms), as the bridge's Chain polls. */
  pollMs?: number;
}): Promise<NaivePipeline> {
  const provider = new JsonRpcProvider(options.rpcUrl, undefined, { staticNetwork: true, cacheTimeout: -1 });
  const wallet = new Wallet(DEV_KEYS.bridgeA, provider);
  const ipfs = create({ url: options.ipfsApiUrl, timeout: 120_000 });
  const registry = new Interface(ehrRegistryAbi);
  const chainId = (await provider.getNetwork()).chainId;
  const pseudonymKey = generatePseudonymKey();
  const hospitalKey = generateHospitalKey();
  let nonce = await provider.getTransactionCount(wallet.address, 'pending');
  let gasLimit: bigint | undefined;
  const pollMs = options.pollMs ?? 100;

  async function one(resource: Resource): Promise<void> {
    const version = prepareResourceSync('bench', resource as never, pseudonymKey);
    const body = Buffer.from(JSON.stringify(resource));
    const aad = recordAad(version);
    const envelope = sealForHospital(body, aad, hospitalKey);
    const added = await ipfs.add(envelope, { pin: true, cidVersion: 1, rawLeaves: true });
    const cid = added.cid.toString();
    const leaf = leafHash({
      subject: version.subject as Hex,
      resourceType: version.resourceType,
      resourceId: version.resourceId,
      versionId: version.versionId,
      contentHash: version.contentHash as Hex,
      payloadCid: cid,
      salt: randomSaltFast(),
    });
    const data = registry.encodeFunctionData('anchor', [leaf, cid, 1]);
    // Gas is estimated once (every anchor of one record costs the same), like a tuned client would.
    gasLimit ??=
      ((await provider.estimateGas({ from: wallet.address, to: options.registry, data })) * 15n) / 10n;
    const raw = await wallet.signTransaction({
      type: 0,
      to: options.registry,
      data,
      nonce: nonce++,
      chainId,
      gasLimit,
      gasPrice: 0n,
    });
    await provider.broadcastTransaction(raw);
    const hash = Transaction.from(raw).hash!;
    for (;;) {
      const receipt = await provider.getTransactionReceipt(hash);
      if (receipt) {
        if (receipt.status !== 1) throw new Error(`naive anchor reverted in block ${receipt.blockNumber}`);
        return;
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  return {
    async run(count, resourceOf) {
      let next = 0;
      await Promise.all(
        Array.from({ length: options.concurrency }, async () => {
          while (next < count) await one(resourceOf(next++));
        }),
      );
      return { txs: count };
    },
    close() {
      provider.destroy();
    },
  };
}
