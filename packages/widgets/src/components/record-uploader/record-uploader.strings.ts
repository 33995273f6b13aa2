import { defaultErrorStrings } from '../../internal/ehr-element.js';
import { ehrViewerStrings } from '../ehr-viewer/ehr-viewer.strings.js';

/** Every user-visible string of `<record-uploader>`, in one place for translation. */
export const recordUploaderStrings = {
  ...defaultErrorStrings,
  notConfigured: ehrViewerStrings.notConfigured,
  heading: 'Upload a document',
  title: 'Title',
  date: 'Date',
  category: 'Category',
  patient: 'Patient (subject)',
  file: 'File',
  dropHint: 'Drop a file here or choose one',
  choose: 'Choose file',
  upload: 'Upload',
  cancel: 'Cancel',
  missing: (field: string) => `${field} is required.`,
  tooLarge: (max: string) => `The file is larger than ${max}. Choose a smaller file.`,
  badType: (types: string) => `This file type is not accepted. Accepted: ${types}.`,
  empty: 'The file is empty. Choose another file.',
  progress: 'Upload progress',
  uploading: (pct: number) => `Uploading… ${pct}%`,
  states: {
    received: 'Received by the bridge',
    stored: 'Stored on IPFS (encrypted)',
    batched: 'In a batch, waiting for the anchor transaction',
    anchored: 'Anchored on chain',
    failed: 'Failed',
  },
  cid: 'CID',
  transaction: 'Transaction',
  categories: ehrViewerStrings.category,
};
export type RecordUploaderStrings = typeof recordUploaderStrings;
