import { EhrAdmin } from './ehr-admin.component.js';

export * from './ehr-admin.component.js';

if (!customElements.get('ehr-admin')) customElements.define('ehr-admin', EhrAdmin);

declare global {
  interface HTMLElementTagNameMap {
    'ehr-admin': EhrAdmin;
  }
}
