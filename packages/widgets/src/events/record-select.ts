/** A record was opened in the detail panel. */
export class EhrRecordSelectEvent extends Event {
  constructor(readonly detail: { key: string }) {
    super('ehr-record-select', { bubbles: true, composed: true });
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'ehr-record-select': EhrRecordSelectEvent;
  }
}
