import type { SubmittedItem } from './clinical-entry.source.js';

/** The FHIR server accepted the entry; `detail` lists the versions it created (not yet anchored). */
export class EhrEntrySubmittedEvent extends Event {
  constructor(readonly detail: { items: SubmittedItem[]; amendment: boolean }) {
    super('ehr-entry-submitted', { bubbles: true, composed: true });
  }
}

/** Every version the entry created is anchored on chain. */
export class EhrEntryAnchoredEvent extends Event {
  constructor(readonly detail: { items: SubmittedItem[]; amendment: boolean }) {
    super('ehr-entry-anchored', { bubbles: true, composed: true });
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'ehr-entry-submitted': EhrEntrySubmittedEvent;
    'ehr-entry-anchored': EhrEntryAnchoredEvent;
  }
}
