/**
 * `@ehr-anchor/widgets/eip1193.js`: the small parts every in-page EIP-1193 provider needs — the
 * error type (EIP-1193 §"Errors") and the event listener registry (`on` / `removeListener`, what
 * `<ehr-provider>` subscribes to for `accountsChanged` and `chainChanged`). Shared by the testing
 * wallet (`TestWallet`) and the demo portal's dev-key wallet; no ethers, no side effects.
 */

/** An EIP-1193 error: `code` 4001 user rejected, 4100 unauthorized, 4200 unsupported method, 4902 unknown chain. */
export class ProviderRpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'ProviderRpcError';
  }
}

export type Eip1193Listener = (...args: unknown[]) => void;

/** The event side of an EIP-1193 provider; a subclass adds `request` and calls `emit` on changes. */
export class Eip1193Events {
  private readonly listeners = new Map<string, Set<Eip1193Listener>>();

  on(event: string, listener: Eip1193Listener): this {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return this;
  }

  removeListener(event: string, listener: Eip1193Listener): this {
    this.listeners.get(event)?.delete(listener);
    return this;
  }

  /** How many listeners `event` has (what a host checks after an element let go of the provider). */
  listenerCount(event: string): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  /** Tells every listener of `event` (e.g. `accountsChanged` with the new accounts). */
  protected emit(event: string, ...args: unknown[]): void {
    for (const listener of this.listeners.get(event) ?? []) listener(...args);
  }
}
