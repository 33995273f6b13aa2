import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The monorepo root (where package.json with the workspaces lives). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Folder of the repo's own tool binaries (built by `npm run ensure-tools`, ignored by git). */
export const toolsBin = join(repoRoot, '.tools', 'bin');

/** Absolute path of a tool the stack needs, with a message that says how to get it when missing. */
export function toolPath(name: 'ipfs' | 'anvil' | 'chromium'): string {
  let path: string;
  switch (name) {
    case 'ipfs':
      path = process.env.EHR_IPFS_BIN ?? join(toolsBin, 'ipfs');
      break;
    case 'anvil': {
      const require = createRequire(import.meta.url);
      path =
        process.env.EHR_ANVIL_BIN ??
        join(dirname(require.resolve('@foundry-rs/anvil-linux-amd64/package.json')), 'bin', 'anvil');
      break;
    }
    case 'chromium':
      path = process.env.CHROME_PATH ?? '/usr/bin/chromium';
      break;
  }
  if (!existsSync(path)) {
    throw new Error(`${name} not found at ${path}: run \`npm run ensure-tools\` first`);
  }
  return path;
}
