// The custom-elements.json Storybook documents (props, events, slots, CSS parts and custom
// properties). It is the one the widgets' build writes (`npm run analyze -w @ehr-anchor/widgets`)
// when that file is newer than every widget source; otherwise the same analyzer runs in memory with
// the widgets' own config, so a fresh checkout needs no widgets build and nothing is written into
// packages/widgets (the analyzer's CLI would also rewrite package.json's `customElements` field).
import { existsSync, globSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const widgetsDir = resolve(here, '..', '..', 'packages', 'widgets');
const builtManifest = join(widgetsDir, 'dist', 'custom-elements.json');
const configFile = join(widgetsDir, 'custom-elements-manifest.config.mjs');

/** Newest modification time of the widgets' sources (what the manifest is generated from). */
export function newestWidgetSource() {
  let newest = 0;
  for (const file of globSync('src/**/*.ts', { cwd: widgetsDir }))
    newest = Math.max(newest, statSync(join(widgetsDir, file)).mtimeMs);
  if (existsSync(configFile)) newest = Math.max(newest, statSync(configFile).mtimeMs);
  return newest;
}

async function analyzeInMemory() {
  const { create, ts } = await import('@custom-elements-manifest/analyzer/index.js');
  const { litPlugin } =
    await import('@custom-elements-manifest/analyzer/src/features/framework-plugins/lit/lit.js');
  const config = existsSync(configFile)
    ? ((await import(`${pathToFileURL(configFile).href}?t=${Date.now()}`)).default ?? {})
    : {};
  const globs = config.globs ?? ['src/components/**/*.ts', 'src/internal/**/*.ts'];
  const exclude = [...(config.exclude ?? []), 'src/**/*.test.ts'];
  const files = globSync(globs, { cwd: widgetsDir, exclude }).sort();
  const modules = files.map((file) =>
    ts.createSourceFile(file, readFileSync(join(widgetsDir, file), 'utf8'), ts.ScriptTarget.ES2015, true),
  );
  const plugins = [...(config.litelement === false ? [] : litPlugin()), ...(config.plugins ?? [])];
  return create({ modules, plugins, context: { dev: false, thirdPartyCEMs: [] } });
}

/** The manifest object (see the comment at the top of this file). */
export async function loadManifest() {
  if (existsSync(builtManifest) && statSync(builtManifest).mtimeMs >= newestWidgetSource()) {
    return JSON.parse(readFileSync(builtManifest, 'utf8'));
  }
  return analyzeInMemory();
}

const VIRTUAL_ID = 'virtual:ehr-custom-elements-manifest';

/** Vite plugin: `import { manifest } from 'virtual:ehr-custom-elements-manifest'`. */
export function customElementsManifest() {
  return {
    name: 'ehr-custom-elements-manifest',
    resolveId(id) {
      return id === VIRTUAL_ID ? `\0${VIRTUAL_ID}` : undefined;
    },
    async load(id) {
      if (id !== `\0${VIRTUAL_ID}`) return undefined;
      return `export const manifest = ${JSON.stringify(await loadManifest())};`;
    },
    configureServer(server) {
      // Regenerate the docs tables when a widget source changes while `npm run storybook` runs.
      server.watcher.add(join(widgetsDir, 'src'));
      server.watcher.on('change', (file) => {
        if (!file.startsWith(join(widgetsDir, 'src'))) return;
        const mod = server.moduleGraph.getModuleById(`\0${VIRTUAL_ID}`);
        if (mod) server.moduleGraph.invalidateModule(mod);
      });
    },
  };
}
