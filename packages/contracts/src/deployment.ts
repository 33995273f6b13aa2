/** The deployment file (`deployment.json`) the deploy function writes and the bridge and demo read. */
export interface Deployment {
  /** Chain id the contracts live on (1337 for the local stack and the Besu network). */
  chainId: number;
  /** Contract addresses by name. */
  addresses: { ehrRegistry: `0x${string}` };
  /** Block the registry was deployed in (start block for event scans). */
  block: number;
  /** Deployment transaction hash. */
  transactionHash: `0x${string}`;
  /** The account that holds DEFAULT_ADMIN_ROLE and NETWORK_ADMIN_ROLE. */
  admin: `0x${string}`;
  /** keccak256 of the ABI JSON the contract was deployed with; a different hash means redeploy. */
  abiHash: `0x${string}`;
  /** ISO time of the deployment. */
  deployedAt: string;
}
