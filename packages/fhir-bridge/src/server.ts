/** Starts the bridge: build the app and listen. Stops cleanly on SIGTERM/SIGINT. */
import type { FastifyInstance } from 'fastify';
import { buildApp, type BuildOptions } from './app.js';
import type { BridgeConfig } from './config.js';

export interface RunningBridge {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

export async function startServer(config: BridgeConfig, options: BuildOptions = {}): Promise<RunningBridge> {
  const app = await buildApp(config, options);
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return { app, url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`, close: () => app.close() };
}
