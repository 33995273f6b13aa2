import { EhrViewer } from './ehr-viewer.component.js';

export * from './ehr-viewer.component.js';

if (!customElements.get('ehr-viewer')) customElements.define('ehr-viewer', EhrViewer);

declare global {
  interface HTMLElementTagNameMap {
    'ehr-viewer': EhrViewer;
  }
}
