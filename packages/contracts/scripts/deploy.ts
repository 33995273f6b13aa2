/**
 * Deploys EhrRegistry to the chain at EHR_RPC_URL and writes the deployment file, or keeps the
 * existing deployment when the chain still holds it (same chain id, code at the address, same ABI).
 *
 *   EHR_RPC_URL=http://besu:8545 EHR_ADMIN_KEY_FILE=/run/secrets/admin_key \
 *   EHR_DEPLOYMENT_FILE=deployment.json npm run deploy -w packages/contracts
 *
 * EHR_ADMIN_KEY may replace EHR_ADMIN_KEY_FILE; EHR_ADMIN (optional) names another account for the
 * admin roles than the deployer.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { chainProvider, deployContracts, isLive, readDeployment } from '../src/deploy.js';

const rpcUrl = process.env.EHR_RPC_URL ?? 'http://127.0.0.1:8545';
const file = resolve(process.env.EHR_DEPLOYMENT_FILE ?? 'deployment.json');
const adminKey =
  process.env.EHR_ADMIN_KEY ??
  (process.env.EHR_ADMIN_KEY_FILE ? readFileSync(process.env.EHR_ADMIN_KEY_FILE, 'utf8').trim() : undefined);
if (!adminKey) {
  console.error('deploy: set EHR_ADMIN_KEY_FILE (or EHR_ADMIN_KEY) to the network admin key');
  process.exit(2);
}

const provider = chainProvider(rpcUrl, 1_000);
let live = false;
try {
  live = await isLive(provider, readDeployment(file));
} catch {
  live = false;
} finally {
  provider.destroy();
}
if (live) {
  console.log(`deploy: ${file} is live on ${rpcUrl}; nothing to do`);
} else {
  const deployment = await deployContracts({
    rpcUrl,
    adminKey,
    admin: process.env.EHR_ADMIN,
    outFile: file,
    pollingIntervalMs: 1_000,
  });
  console.log(
    `deploy: EhrRegistry at ${deployment.addresses.ehrRegistry} (chain ${deployment.chainId}, block ${deployment.block}) → ${file}`,
  );
}
