import { ContextRoot } from '@lit/context';
import { EhrProvider } from './ehr-provider.component.js';

export * from './ehr-provider.component.js';

if (!customElements.get('ehr-provider')) {
  customElements.define('ehr-provider', EhrProvider);
  // Elements defined before the provider re-request their session once it upgrades.
  new ContextRoot().attach(document.documentElement);
}

declare global {
  interface HTMLElementTagNameMap {
    'ehr-provider': EhrProvider;
  }
}
