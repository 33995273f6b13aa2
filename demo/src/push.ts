/** The page's "FHIR server" buttons: the demo server pushes to the bridge with the source's secret. */
export interface PushResult {
  pushed: number;
  what: string;
}

async function post(path: string): Promise<PushResult> {
  const response = await fetch(new URL(path, document.baseURI), { method: 'POST' });
  const body = (await response.json()) as PushResult & { error?: string };
  if (!response.ok) throw new Error(body.error ?? `HTTP ${response.status}`);
  return body;
}

/** Pushes a whole Synthea transaction bundle (idempotent: versions already anchored stay as they are). */
export function pushBundle(sample: string): Promise<PushResult> {
  return post(`api/push/bundle?sample=${encodeURIComponent(sample)}`);
}

/** Pushes one new lab result (a new Observation) for the sample's patient: it shows up pending, then verified. */
export function pushLabResult(sample: string): Promise<PushResult> {
  return post(`api/push/lab-result?sample=${encodeURIComponent(sample)}`);
}
