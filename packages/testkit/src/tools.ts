import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The monorepo root (where package.json with the workspaces lives). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Folder of the repo's own tool binaries (built by `npm run ensure-tools`, ignored by git). */
export const toolsBin = join(repoRoot, '.tools', 'bin');

/** What to run when a tool is missing, in one sentence for people. */
const HOW_TO_GET = {
  ipfs: 'Kubo (the IPFS daemon) is not installed in .tools/bin: run `npm run ensure-tools` to build it (needs Go).',
  anvil:
    'anvil is not installed: @foundry-rs/anvil-linux-amd64 (an optional dependency) exists only for Linux x64; elsewhere install Foundry (https://getfoundry.sh) and set EHR_ANVIL_BIN to its anvil.',
  chromium:
    "Chromium is not installed: run `npm run ensure-tools` (as root it installs Debian's chromium), or set CHROME_PATH.",
} as const;

/** Absolute path of a tool the stack needs; a missing one throws a sentence that says how to get it. */
export function toolPath(name: 'ipfs' | 'anvil' | 'chromium'): string {
  let path: string | undefined;
  switch (name) {
    case 'ipfs':
      path = process.env.EHR_IPFS_BIN ?? join(toolsBin, 'ipfs');
      break;
    case 'anvil': {
      path = process.env.EHR_ANVIL_BIN;
      if (!path) {
        try {
          const require = createRequire(import.meta.url);
          path = join(dirname(require.resolve('@foundry-rs/anvil-linux-amd64/package.json')), 'bin', 'anvil');
        } catch {
          // not installed on this platform (optional dependency)
        }
      }
      break;
    }
    case 'chromium':
      path = process.env.CHROME_PATH ?? '/usr/bin/chromium';
      break;
  }
  if (!path || !existsSync(path)) throw new Error(HOW_TO_GET[name]);
  return path;
}
