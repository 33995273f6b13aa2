import { defineConfig } from 'vite';

/**
 * Two pages: `index.html` (plain HTML; the elements come from the one-file bundle at
 * /vendor/ehr-anchor.js, left alone by Vite) and `react.html` (React 19 with the elements' ESM
 * build, resolved through @ehr-anchor/widgets' default export condition).
 */
export default defineConfig({
  base: './',
  esbuild: { target: 'es2022', jsx: 'automatic' },
  build: {
    outDir: 'dist/pages',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    rollupOptions: { input: { index: 'index.html', react: 'react.html' } },
  },
});
