import { createRoot } from 'react-dom/client';
// The ESM build of the elements, one import per element, as an app with a bundler uses them.
import '@ehr-anchor/widgets/ehr-provider.js';
import '@ehr-anchor/widgets/ehr-viewer.js';
import '@ehr-anchor/widgets/consent-manager.js';
import '@ehr-anchor/widgets/record-uploader.js';
import '@ehr-anchor/widgets/ehr-admin.js';
import '@ehr-anchor/widgets/clinical-entry.js';
import { loadConfig } from '../portal.js';
import { App } from './App.js';

const config = await loadConfig();
createRoot(document.getElementById('root')!).render(<App config={config} />);
