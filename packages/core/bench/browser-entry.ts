// Bundled by bench.ts (esbuild) into the Chromium page; exposes the shared workload to page.evaluate.
import { runEnvelopeWorkload, runTreeWorkload, runWorkload } from './workload.js';

Object.assign(globalThis, { runWorkload, runTreeWorkload, runEnvelopeWorkload });
