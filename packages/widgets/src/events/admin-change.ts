/** An admin transaction was confirmed on chain. */
export class EhrAdminChangeEvent extends Event {
  constructor(
    readonly detail: {
      action:
        | 'add-hospital'
        | 'remove-hospital'
        | 'add-doctor'
        | 'remove-doctor'
        | 'approve-registration'
        | 'reject-registration'
        | 'request-registration';
      target: string;
      txHash: string;
    },
  ) {
    super('ehr-admin-change', { bubbles: true, composed: true });
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'ehr-admin-change': EhrAdminChangeEvent;
  }
}
