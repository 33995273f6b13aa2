/**
 * What the demo server tells the portal pages (`GET /config.json`), from the local stack's values.
 * Shared by the server (Node) and the pages (browser): types and constants only.
 */
export interface DemoAccount {
  /** Role key, as in @ehr-anchor/testkit's DEV_KEYS. */
  role: string;
  /** What the role switcher shows. */
  label: string;
  address: string;
  /** anvil's public dev key: the demo's in-page wallet signs with it when no browser wallet exists. */
  key: string;
}

export interface PortalConfig {
  /** Hospital A's bridge (the pushes, and the provider's only bridge in the single-hospital layout). */
  bridgeUrl: string;
  /**
   * Several hospitals run: the provider gets no `bridge-url` and reads every hospital's bridge as
   * published on chain (one merged timeline).
   */
  network?: boolean;
  rpcUrl: string;
  chainId: number;
  contractAddress: string;
  /** Block the registry was deployed in (event scans start there). */
  fromBlock?: number;
  accounts: DemoAccount[];
  /** Sample bundles the page can push through the bridge (via the demo server, which holds the source secret). */
  samples: string[];
  /** Where the one-file bundle is served, when it is built. */
  bundleUrl?: string;
  /** The stack's FHIR server (HAPI), when it runs: the push buttons write into it and it notifies the bridge. */
  fhirBaseUrl?: string;
}

/** The roles of the switcher, in order (labels are what people see). */
export const ROLES: Array<{ role: string; label: string }> = [
  { role: 'admin', label: 'Network admin' },
  { role: 'hospitalA', label: 'Hospital A' },
  { role: 'hospitalB', label: 'Hospital B' },
  { role: 'doctorA', label: 'Doctor (hospital A)' },
  { role: 'doctorB', label: 'Doctor (hospital B)' },
  { role: 'patient', label: 'Patient' },
  { role: 'healthWorker', label: 'Health worker' },
  { role: 'visitor', label: 'Visitor' },
];
