import { ConsentManager } from './consent-manager.component.js';

export * from './consent-manager.component.js';

if (!customElements.get('consent-manager')) customElements.define('consent-manager', ConsentManager);

declare global {
  interface HTMLElementTagNameMap {
    'consent-manager': ConsentManager;
  }
}
