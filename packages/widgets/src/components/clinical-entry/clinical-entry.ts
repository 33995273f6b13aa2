import { ClinicalEntry } from './clinical-entry.component.js';

export * from './clinical-entry.component.js';

if (!customElements.get('clinical-entry')) customElements.define('clinical-entry', ClinicalEntry);

declare global {
  interface HTMLElementTagNameMap {
    'clinical-entry': ClinicalEntry;
  }
}
