/**
 * The one function of `@ehr-anchor/core/record` that `verify-record.ts` loads on demand. Imported
 * statically here so the bundler keeps only what `verifyRecord` needs (a dynamic import of core's
 * entry would keep all of it, zod schemas included).
 */
export { verifyRecord } from '@ehr-anchor/core/record';
