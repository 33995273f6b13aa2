/** A doctor picked a patient from search results. Cancel it to keep the current patient. */
export class EhrPatientSelectEvent extends Event {
  constructor(readonly detail: { patientId: string }) {
    super('ehr-patient-select', { bubbles: true, composed: true, cancelable: true });
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'ehr-patient-select': EhrPatientSelectEvent;
  }
}
