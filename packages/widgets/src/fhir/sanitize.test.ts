import { expect } from '@open-wc/testing';
import { sanitizeNarrative, sanitizerReady } from './sanitize.js';
import { armXssOracle, settle, xssState } from '../../test/helpers.js';

// DOMPurify is loaded on first use; this file's page has not loaded it before the first test.
describe('sanitizeNarrative (DOMPurify loaded on demand)', () => {
  const hostile =
    '<p>Plan <b>ok</b></p><img src="x" onerror="window.__ehrXss = 1"><script>window.__ehrXss = 2</script><a href="javascript:window.__ehrXss=3">x</a>';

  it('gives nothing to render until DOMPurify has loaded, then only the allow-listed markup', async () => {
    armXssOracle();
    expect(sanitizeNarrative(hostile)).to.equal(undefined);
    await sanitizerReady();
    const fragment = sanitizeNarrative(hostile)!;
    const div = document.createElement('div');
    div.append(fragment);
    document.body.append(div);
    try {
      expect(div.querySelector('img, script')).to.equal(null);
      expect(div.querySelector('b')!.textContent).to.equal('ok');
      expect(div.querySelector('a')!.hasAttribute('href')).to.equal(false);
      await settle();
      expect(xssState()).to.deep.equal({ ran: undefined, dialogs: [] });
    } finally {
      div.remove();
    }
  });
});
