import { defaultErrorStrings } from '../../internal/ehr-element.js';
import { defaultTxStrings } from '../../internal/tx-status.js';
import { ehrViewerStrings } from '../ehr-viewer/ehr-viewer.strings.js';

/** Every user-visible string of `<ehr-admin>`, in one place for translation. */
export const ehrAdminStrings = {
  ...defaultErrorStrings,
  ...defaultTxStrings,
  notConfigured: ehrViewerStrings.notConfigured,
  retry: 'Retry',
  address: 'Address',
  name: 'Name',
  remove: 'Remove',
  removeLabel: (what: string) => `Remove ${what}`,
  invalidAddress: 'Enter a 0x address (40 hex digits).',
  hospitalsHeading: 'Hospitals',
  loadingHospitals: 'Loading hospitals from the chain…',
  noHospitals: 'No hospitals yet. Add the first one below.',
  addHospital: 'Add hospital',
  bridgeSigner: 'Bridge signer address',
  keyWrappingKey: 'Key-wrapping public key (hex)',
  doctorsHeading: 'Doctors',
  loadingDoctors: 'Loading doctors…',
  noDoctors: 'This hospital has no doctors yet. Add one below.',
  addDoctor: 'Add doctor',
  doctorNameRequired: 'Enter a name.',
  registrationsHeading: 'Pending registration requests',
  loadingRegistrations: 'Loading registration requests…',
  noRegistrations: 'No pending registration requests.',
  applicant: 'Applicant wallet',
  subject: 'Subject (pseudonym)',
  approve: 'Approve',
  reject: 'Reject',
  approveLabel: (who: string) => `Approve ${who}`,
  rejectLabel: (who: string) => `Reject ${who}`,
  registerHeading: 'Ask a hospital to register you',
  hospital: 'Hospital',
  chooseHospital: 'Choose a hospital',
  subjectHelp: 'The pseudonymous subject id the hospital gave you (0x + 64 hex digits).',
  invalidSubject: 'Enter the subject id: 0x followed by 64 hex digits.',
  requestRegistration: 'Send request',
  noHospital: 'Set the hospital attribute to manage its doctors and registrations.',
};
export type EhrAdminStrings = typeof ehrAdminStrings;
