// What the widgets' web-test-runner configs share (web-test-runner.config.mjs,
// web-test-runner.clinical-entry.config.mjs): the Chromium launcher, and the same-origin proxy
// through which a page reaches a real bridge started by the config (as a portal's reverse proxy would).
import { chromeLauncher } from '@web/test-runner-chrome';

/** Debian's Chromium (or CHROME_PATH), headless, without background traffic. */
export function chromium() {
  return chromeLauncher({
    launchOptions: {
      executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--headless',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    },
  });
}

/**
 * Middleware: `GET /<infoPath>` answers `info()` as JSON (what the page needs to know about the
 * stack), and `/bridge/*` is forwarded to `bridgeUrl()`, body streamed, headers kept. Both pass
 * through to the next middleware until the stack is up (`bridgeUrl()` returns nothing).
 */
export function stackProxy(infoPath, bridgeUrl, info) {
  return async function stackMiddleware(ctx, next) {
    const target = bridgeUrl();
    if (!target) return next();
    if (ctx.path === infoPath) {
      ctx.type = 'application/json';
      ctx.body = JSON.stringify(await info());
      return undefined;
    }
    if (!ctx.path.startsWith('/bridge/')) return next();
    const headers = { ...ctx.headers };
    delete headers.host;
    const hasBody = ctx.method !== 'GET' && ctx.method !== 'HEAD';
    const res = await fetch(target + ctx.url.slice('/bridge'.length), {
      method: ctx.method,
      headers,
      ...(hasBody ? { body: ctx.req, duplex: 'half' } : {}),
    });
    ctx.status = res.status;
    res.headers.forEach((v, k) => {
      if (k !== 'content-encoding' && k !== 'content-length' && k !== 'transfer-encoding') ctx.set(k, v);
    });
    ctx.body = Buffer.from(await res.arrayBuffer());
    return undefined;
  };
}

/** What every stack's info starts with: the same-origin bridge path, the chain and the patient's subject. */
export function stackSettings(world) {
  return {
    bridgeUrl: '/bridge',
    rpcUrl: world.env.chain.anvil.rpcUrl,
    chainId: 1337,
    contractAddress: world.env.chain.registry,
    subject: world.subject,
  };
}
