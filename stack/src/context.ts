/**
 * The contract between `npm start` (src/start.ts) and the parts of the local stack (src/contracts.ts,
 * src/fhir-server.ts, src/bridge.ts, src/demo.ts). Each part exports `up`; start.ts calls the parts
 * in order, each seeing what the earlier ones published in `ctx.values`.
 */
export interface StackRow {
  /** What it is, e.g. "bridge". */
  name: string;
  /** Where to reach it. */
  url: string;
  /** One short line: what to use it for, which account to sign in with. */
  note?: string;
}

export interface StackContext {
  /** Persistent state of the local stack (`.data/`, ignored by git). */
  readonly dataDir: string;
  /** Values published by earlier parts: rpcUrl, chainId, ipfsApiUrl, ipfsGatewayUrl, deploymentFile, bridgeUrl, fhirBaseUrl, … */
  readonly values: Record<string, string>;
  /** Adds a line to the table printed when the stack is ready. */
  row(row: StackRow): void;
  /** Progress line (never patient data). */
  log(message: string): void;
}

export interface StackPart {
  /** Stops what `up` started (the stack calls it on Ctrl-C, in reverse order). */
  stop?(): Promise<void>;
}

/** Signature of a part's `up` export. */
export type StackUp = (ctx: StackContext) => Promise<StackPart | void>;

/**
 * A failure that its message fully explains to the person running `npm start` (a missing tool, a
 * failed build step whose own output is already on the terminal): printed without a stack trace.
 */
export class StartError extends Error {
  override name = 'StartError';
}
