import type { UploadStatus } from '../data/data-source.js';

/** The uploaded document's batch root is anchored on chain. */
export class EhrUploadAnchoredEvent extends Event {
  constructor(readonly detail: UploadStatus) {
    super('ehr-upload-anchored', { bubbles: true, composed: true });
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'ehr-upload-anchored': EhrUploadAnchoredEvent;
  }
}
