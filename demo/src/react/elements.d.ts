/**
 * JSX types of the ehr-anchor elements for React 19, which passes props to custom elements as
 * properties when the element has one (objects like `ethereum`), as attributes otherwise.
 */
import type { DetailedHTMLProps, HTMLAttributes } from 'react';

type Element<P> = DetailedHTMLProps<HTMLAttributes<HTMLElement>, HTMLElement> & P;

interface Connection {
  'bridge-url'?: string;
  'rpc-url'?: string;
  'chain-id'?: number | string;
  'contract-address'?: string;
}

declare module 'react' {
  namespace JSX {
    interface IntrinsicElements {
      'ehr-provider': Element<Connection & { ethereum?: unknown; 'hide-bar'?: boolean }>;
      'ehr-viewer': Element<Connection & { 'patient-id'?: string; mode?: 'patient' | 'doctor' }>;
      'consent-manager': Element<Connection & { 'patient-id'?: string }>;
      'record-uploader': Element<
        Connection & { 'patient-id'?: string; 'max-size'?: number; accept?: string }
      >;
      'ehr-admin': Element<Connection & { view?: 'network' | 'hospital' | 'visitor'; hospital?: string }>;
      'ehr-version-history': Element<{
        'patient-id'?: string;
        'record-key'?: string;
        'heading-level'?: number;
      }>;
      'clinical-entry': Element<
        Connection & {
          'patient-id'?: string;
          'draft-storage'?: 'session' | 'local' | 'none';
          'poll-interval'?: number;
        }
      >;
    }
  }
}
