import type { ContactFieldChange } from '../data/data-source.js';

/** The patient saved new contact details; `changes` lists each field that changed (before → after). */
export class EhrContactUpdatedEvent extends Event {
  constructor(readonly detail: { patientId: string; changes: ContactFieldChange[] }) {
    super('ehr-contact-updated', { bubbles: true, composed: true });
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'ehr-contact-updated': EhrContactUpdatedEvent;
  }
}
