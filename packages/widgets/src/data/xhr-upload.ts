import type { UploadProgress } from './data-source.js';

/**
 * POSTs a form with XMLHttpRequest, because only XHR reports *upload* progress (fetch has no
 * upload progress events in browsers today). Resolves with the status and body for any HTTP
 * answer; status 0 means the request never got an answer (network error or abort).
 */
export function xhrUpload(
  url: string,
  body: FormData,
  options: {
    token?: string | undefined;
    onProgress: (p: UploadProgress) => void;
    signal?: AbortSignal | undefined;
  },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    if (options.token) xhr.setRequestHeader('authorization', `Bearer ${options.token}`);
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) options.onProgress({ loaded: e.loaded, total: e.total });
    });
    xhr.addEventListener('load', () => resolve({ status: xhr.status, body: xhr.responseText }));
    xhr.addEventListener('error', () => resolve({ status: 0, body: '' }));
    xhr.addEventListener('abort', () => reject(new DOMException('Upload cancelled.', 'AbortError')));
    options.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}
