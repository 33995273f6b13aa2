import { DataSourceError } from './data-source.js';

/**
 * One request to the bridge with the session token (if any). A failure to reach it becomes a
 * `network` data-source error (an abort stays an `AbortError`); any HTTP status is returned as is,
 * for the caller to turn into its own errors.
 */
export async function bridgeFetch(
  base: string,
  path: string,
  token: string | undefined,
  init: RequestInit = {},
  signal?: AbortSignal,
): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  try {
    return await fetch(`${base}${path}`, { ...init, headers, ...(signal ? { signal } : {}) });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new DataSourceError('network', `The bridge at ${base} could not be reached.`, { cause: error });
  }
}
