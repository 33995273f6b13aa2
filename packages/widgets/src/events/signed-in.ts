import type { EhrRole } from '../context/session.js';

/** Sign-In with Ethereum succeeded. */
export class EhrSignedInEvent extends Event {
  constructor(readonly detail: { account: string; role: EhrRole | undefined }) {
    super('ehr-signed-in', { bubbles: true, composed: true });
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'ehr-signed-in': EhrSignedInEvent;
  }
}
