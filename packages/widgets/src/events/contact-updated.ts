/** The patient saved new contact details. */
export class EhrContactUpdatedEvent extends Event {
  constructor(readonly detail: { patientId: string }) {
    super('ehr-contact-updated', { bubbles: true, composed: true });
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'ehr-contact-updated': EhrContactUpdatedEvent;
  }
}
