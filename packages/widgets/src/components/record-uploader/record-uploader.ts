import { RecordUploader } from './record-uploader.component.js';

export * from './record-uploader.component.js';

if (!customElements.get('record-uploader')) customElements.define('record-uploader', RecordUploader);

declare global {
  interface HTMLElementTagNameMap {
    'record-uploader': RecordUploader;
  }
}
