import type { UploadStatus } from '../data/data-source.js';

/** The uploaded document is stored on IPFS (encrypted) and has a CID. */
export class EhrUploadStoredEvent extends Event {
  constructor(readonly detail: UploadStatus) {
    super('ehr-upload-stored', { bubbles: true, composed: true });
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'ehr-upload-stored': EhrUploadStoredEvent;
  }
}
