/**
 * @ehr-anchor/widgets — drop-in Lit custom elements. Importing this entry registers every element
 * (guarded, so two copies on one page do not clash); import `*.component.js` classes via the
 * per-element entries to register under your own names.
 */
export * from './components/ehr-provider/ehr-provider.js';
export * from './components/ehr-viewer/ehr-viewer.js';
export * from './components/consent-manager/consent-manager.js';
export * from './components/record-uploader/record-uploader.js';
export * from './components/ehr-admin/ehr-admin.js';
export * from './components/clinical-entry/clinical-entry.js';
export * from './context/session.js';
export * from './data/data-source.js';
export * from './events/index.js';
export type { Verification, TamperReason } from './verify/verify-record.js';
