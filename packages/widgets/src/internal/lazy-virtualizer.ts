/**
 * @lit-labs/virtualizer, loaded when a list first needs it. It is a fifth of the elements' code and
 * a short list (a few dozen rows) renders as fast without it, so only long histories load it (its
 * own chunk in the ESM builds; inside the one-file bundle).
 */
import type { virtualize } from '@lit-labs/virtualizer/virtualize.js';
import type { flow } from '@lit-labs/virtualizer/layouts/flow.js';

/** Lists with more rows than this are virtualized. */
export const VIRTUALIZE_ABOVE = 40;

export interface Virtualizer {
  virtualize: typeof virtualize;
  flow: typeof flow;
}

let loaded: Virtualizer | undefined;
let loading: Promise<Virtualizer> | undefined;

/** Loads the virtualizer (once). */
export function virtualizerReady(): Promise<Virtualizer> {
  loading ??= Promise.all([
    import('@lit-labs/virtualizer/virtualize.js'),
    import('@lit-labs/virtualizer/layouts/flow.js'),
  ]).then(([{ virtualize }, { flow }]) => (loaded = { virtualize, flow }));
  return loading;
}

/** The virtualizer if it is loaded, else undefined (and the load is started). */
export function loadedVirtualizer(): Virtualizer | undefined {
  if (!loaded) void virtualizerReady().catch(() => undefined);
  return loaded;
}
