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
  cancel: 'Cancel',
  thisHospital: 'this hospital',
  thisDoctor: 'this doctor',
  removeHospitalTitle: (name: string) => `Remove ${name} from the network?`,
  removeHospitalBody:
    'Its bridge can no longer anchor records, its doctors and staff lose their roles, and the access patients gave the hospital and its doctors ends. Records it anchored stay verifiable. Adding it again later restores none of this.',
  removeHospitalConfirm: 'Remove hospital',
  removeDoctorTitle: (name: string) => `Remove ${name} from this hospital?`,
  removeDoctorBody:
    'From the next block on they can no longer read any patient’s records, and the access patients gave them ends. What they wrote stays in the records.',
  removeDoctorConfirm: 'Remove doctor',
  invalidAddress: 'Enter a 0x address (40 hex digits).',
  /** A field that needs an account address, named. */
  invalidAddressOf: (field: string) => `${field}: enter the account’s address, 0x followed by 40 hex digits.`,
  nameRequired: (field: string) => `${field}: enter a name.`,
  hospitalRequired: 'Choose the hospital to ask.',
  keyWrappingHelp:
    'The public key the hospital’s bridge encrypts record keys to (0x and hex digits), from the bridge’s own setup. Optional: the bridge can publish it later.',
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
