import type { Preview } from '@storybook/web-components-vite';
import type { StrictArgTypes } from 'storybook/internal/types';
import { setCustomElementsManifest } from '@storybook/web-components-vite';
import { setFixtureBase } from '@ehr-anchor/testkit/browser-fixtures';
import { manifest } from 'virtual:ehr-custom-elements-manifest';
import './preview.css';

setCustomElementsManifest(manifest);
// The fixtures are static files next to iframe.html (see staticDirs in main.ts), wherever Storybook is hosted.
setFixtureBase(new URL('fixtures', document.baseURI).href);

/** Controls for CSS custom properties (the manifest types them as nothing): a color picker for colors, text otherwise. */
function cssPropertyControls(argTypes: StrictArgTypes): StrictArgTypes {
  const out: StrictArgTypes = {};
  for (const [name, argType] of Object.entries(argTypes)) {
    if (argType.table?.category === 'css custom properties') {
      out[name] = {
        ...argType,
        type: { name: 'string' },
        control: /color/.test(name) ? { type: 'color' } : { type: 'text' },
      };
    } else if (
      argType.table?.category === 'properties' &&
      argType.table.type?.summary &&
      /DataSource|Session|Strings|\{/.test(argType.table.type.summary)
    ) {
      // Objects a story sets itself (data source, session, strings) have no useful control.
      out[name] = { ...argType, control: false };
    } else out[name] = argType;
  }
  return out;
}

const preview: Preview = {
  tags: ['autodocs'],
  argTypesEnhancers: [({ argTypes }) => cssPropertyControls(argTypes)],
  globalTypes: {
    theme: {
      description: 'Color scheme of the page around the elements',
      toolbar: {
        title: 'Theme',
        icon: 'mirror',
        items: [
          { value: 'light', title: 'Light', icon: 'sun' },
          { value: 'dark', title: 'Dark', icon: 'moon' },
        ],
        dynamicTitle: true,
      },
    },
  },
  initialGlobals: { theme: 'light' },
  decorators: [
    (story, context) => {
      document.documentElement.dataset.ehrTheme = context.globals.theme === 'dark' ? 'dark' : 'light';
      return story();
    },
  ],
  parameters: {
    controls: { expanded: true, matchers: { color: /color/i, date: /date$/i } },
    a11y: {
      // Page-level rules do not apply to one element shown alone.
      config: { rules: [{ id: 'region', enabled: false }] },
    },
    layout: 'padded',
  },
};

export default preview;
