/**
 * The authorization matrix: every state-changing function of EhrRegistry × every role, from the same
 * network state, asserting either success (with the function's event) or the exact custom error.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ALL_ENDPOINT_SERVICES, SCOPES, ehrRegistryAbi } from '@ehr-anchor/contracts';
import { Wallet, keccak256, toUtf8Bytes } from 'ethers';
import { ROLES, attempt, extraKey, setUpNetwork, startChain, type Chain, type Role } from './fixture.js';

const NETWORK_ADMIN_ROLE = keccak256(toUtf8Bytes('NETWORK_ADMIN_ROLE'));
const DEFAULT_ADMIN_ROLE = '0x' + '00'.repeat(32);
const fresh = (label: string) => new Wallet(extraKey(label)).address;

interface Row {
  fn: string;
  /** Arguments, the same for every caller. */
  args(chain: Chain): unknown[];
  /** Roles that succeed. */
  allowed: Role[];
  /** The event a successful call emits. */
  event: string;
  /** The exact error (name, args) a refused caller gets. */
  refusal(role: Role, chain: Chain): [string, ...unknown[]];
}

const addr = (chain: Chain, role: Role) => chain.actors[role].address.toLowerCase();
const notAdmin = (role: Role, chain: Chain): [string, ...unknown[]] => [
  'AccessControlUnauthorizedAccount',
  addr(chain, role),
  NETWORK_ADMIN_ROLE,
];
const notDefaultAdmin = (role: Role, chain: Chain): [string, ...unknown[]] => [
  'AccessControlUnauthorizedAccount',
  addr(chain, role),
  DEFAULT_ADMIN_ROLE,
];
const notHospital = (role: Role, chain: Chain): [string, ...unknown[]] => ['NotHospital', addr(chain, role)];
const hospitals: Role[] = ['hospital', 'otherHospital'];
const bridges: Role[] = ['bridge', 'otherBridge'];
const patients: Role[] = ['patient', 'otherPatient'];

const MATRIX: Row[] = [
  {
    fn: 'addHospital',
    args: () => [fresh('new hospital'), fresh('new bridge'), '0x' + '22'.repeat(32), 'Hospital C'],
    allowed: ['admin'],
    event: 'HospitalAdded',
    refusal: notAdmin,
  },
  {
    fn: 'removeHospital',
    args: (c) => [c.actors.hospital.address],
    allowed: ['admin'],
    event: 'HospitalRemoved',
    refusal: notAdmin,
  },
  {
    // The hospital renames itself; the network admin may rename any hospital.
    fn: 'setHospitalName',
    args: (c) => [c.actors.hospital.address, 'Hospital A (renamed)'],
    allowed: ['admin', 'hospital'],
    event: 'HospitalRenamed',
    refusal: notAdmin,
  },
  {
    // Acts on the caller's own hospital, so both hospitals may.
    fn: 'setBridgeSigner',
    args: () => [fresh('rotated bridge')],
    allowed: hospitals,
    event: 'BridgeSignerChanged',
    refusal: notHospital,
  },
  {
    fn: 'setKeyWrappingKey',
    args: () => ['0x' + '33'.repeat(32)],
    allowed: hospitals,
    event: 'KeyWrappingKeyChanged',
    refusal: notHospital,
  },
  {
    fn: 'setEndpoint',
    args: () => ['https://bridge.hospital-a.example/api', ALL_ENDPOINT_SERVICES],
    allowed: hospitals,
    event: 'EndpointChanged',
    refusal: notHospital,
  },
  {
    fn: 'addDoctor',
    args: () => [fresh('new doctor'), 'Dr. New'],
    allowed: hospitals,
    event: 'DoctorAdded',
    refusal: notHospital,
  },
  {
    fn: 'removeDoctor',
    args: (c) => [c.actors.doctor.address],
    allowed: ['hospital'],
    event: 'DoctorRemoved',
    refusal: (role, c) =>
      role === 'otherHospital'
        ? ['NotDoctorOfHospital', addr(c, 'doctor'), addr(c, 'otherHospital')]
        : notHospital(role, c),
  },
  {
    fn: 'setDoctorName',
    args: (c) => [c.actors.doctor.address, 'Dr. Ada Renamed'],
    allowed: ['hospital'],
    event: 'DoctorRenamed',
    refusal: (role, c) =>
      role === 'otherHospital'
        ? ['NotDoctorOfHospital', addr(c, 'doctor'), addr(c, 'otherHospital')]
        : notHospital(role, c),
  },
  {
    fn: 'addStaff',
    args: () => [fresh('new staff member'), 'New Staff Member'],
    allowed: hospitals,
    event: 'StaffAdded',
    refusal: notHospital,
  },
  {
    fn: 'removeStaff',
    args: (c) => [c.actors.staff.address],
    allowed: ['hospital'],
    event: 'StaffRemoved',
    refusal: (role, c) =>
      role === 'otherHospital'
        ? ['NotStaffOfHospital', addr(c, 'staff'), addr(c, 'otherHospital')]
        : notHospital(role, c),
  },
  {
    fn: 'setStaffName',
    args: (c) => [c.actors.staff.address, 'Sam Staff (renamed)'],
    allowed: ['hospital'],
    event: 'StaffRenamed',
    refusal: (role, c) =>
      role === 'otherHospital'
        ? ['NotStaffOfHospital', addr(c, 'staff'), addr(c, 'otherHospital')]
        : notHospital(role, c),
  },
  {
    // Anyone may ask a hospital to register a (new) subject to their wallet.
    fn: 'requestRegistration',
    args: (c) => [c.actors.hospital.address, keccak256(toUtf8Bytes('a new subject'))],
    allowed: [...ROLES],
    event: 'RegistrationRequested',
    refusal: () => ['unreachable'],
  },
  {
    fn: 'approveRegistration',
    args: (c) => [c.actors.visitor.address],
    allowed: ['hospital'],
    event: 'RegistrationApproved',
    refusal: (role, c) =>
      role === 'otherHospital'
        ? ['NoPendingRegistration', addr(c, 'visitor' as Role), addr(c, 'otherHospital')]
        : notHospital(role, c),
  },
  {
    fn: 'rejectRegistration',
    args: (c) => [c.actors.visitor.address],
    allowed: ['hospital'],
    event: 'RegistrationRejected',
    refusal: (role, c) =>
      role === 'otherHospital'
        ? ['NoPendingRegistration', addr(c, 'visitor' as Role), addr(c, 'otherHospital')]
        : notHospital(role, c),
  },
  {
    fn: 'grantAccess',
    args: (c) => [c.actors.doctor.address, SCOPES.observations, 2n ** 40n],
    allowed: patients,
    event: 'AccessGranted',
    refusal: (role, c) => ['NotPatient', addr(c, role)],
  },
  {
    // Only the patient holds a grant to hospital A; anyone else has nothing to revoke.
    fn: 'revokeAccess',
    args: (c) => [c.actors.hospital.address],
    allowed: ['patient'],
    event: 'AccessRevoked',
    refusal: (role, c) => ['GrantNotFound', addr(c, role), addr(c, 'hospital')],
  },
  {
    fn: 'anchor',
    args: () => [
      keccak256(toUtf8Bytes('a batch root')),
      'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy',
      1000,
    ],
    allowed: bridges,
    event: 'Anchored',
    refusal: (role, c) => ['NotBridgeSigner', addr(c, role)],
  },
  {
    fn: 'grantRole',
    args: () => [NETWORK_ADMIN_ROLE, fresh('second network admin')],
    allowed: ['admin'],
    event: 'RoleGranted',
    refusal: notDefaultAdmin,
  },
  {
    fn: 'revokeRole',
    args: (c) => [NETWORK_ADMIN_ROLE, c.actors.admin.address],
    allowed: ['admin'],
    event: 'RoleRevoked',
    refusal: notDefaultAdmin,
  },
  {
    // Renouncing for another account needs that account's confirmation (it must be the caller).
    fn: 'renounceRole',
    args: (c) => [NETWORK_ADMIN_ROLE, c.actors.admin.address],
    allowed: ['admin'],
    event: 'RoleRevoked',
    refusal: () => ['AccessControlBadConfirmation'],
  },
];

describe('authorization matrix: every state-changing function × every role', () => {
  let chain: Chain;
  before(async () => {
    chain = await startChain();
    await setUpNetwork(chain);
  });
  after(() => chain.stop());

  it('covers every state-changing function of the ABI', () => {
    const stateChanging = ehrRegistryAbi
      .filter((f) => f.type === 'function' && f.stateMutability !== 'view' && f.stateMutability !== 'pure')
      .map((f) => (f as { name: string }).name)
      .sort();
    assert.deepEqual([...new Set(MATRIX.map((r) => r.fn))].sort(), stateChanging);
  });

  const table: string[][] = [];
  for (const row of MATRIX) {
    describe(row.fn, () => {
      for (const role of ROLES) {
        const allowed = row.allowed.includes(role);
        const title = allowed ? `${role} may call ${row.fn}` : `${role} is refused ${row.fn}`;
        it(title, async () => {
          const outcome = await chain.isolated(() =>
            attempt(chain.actors[role].registry, row.fn, ...row.args(chain)),
          );
          if (allowed) {
            assert.ok(
              outcome.ok,
              `expected success, got ${JSON.stringify(outcome, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`,
            );
            assert.ok(
              outcome.events.includes(row.event),
              `${row.fn} emits ${row.event}: got ${outcome.events.join(', ')}`,
            );
            table.push([row.fn, role, 'allowed']);
          } else {
            assert.ok(!outcome.ok, `${role} must be refused ${row.fn}`);
            const [name, ...args] = row.refusal(role, chain);
            assert.deepEqual([outcome.error, ...outcome.args], [name, ...args]);
            assert.match(outcome.message, /^[A-Z].*\.$/, 'the refusal has a sentence for people');
            table.push([row.fn, role, outcome.error]);
          }
        });
      }
    });
  }

  it('prints the matrix', () => {
    assert.equal(table.length, MATRIX.length * ROLES.length);
    const byFn = new Map<string, Map<string, string>>();
    for (const [fn, role, result] of table) {
      if (!byFn.has(fn!)) byFn.set(fn!, new Map());
      byFn.get(fn!)!.set(role!, result === 'allowed' ? 'ok' : result!);
    }
    const short = (s: string) =>
      s === 'ok'
        ? 'ok'
        : s
            .replace('AccessControlUnauthorizedAccount', 'Unauthorized')
            .replace('AccessControlBadConfirmation', 'BadConfirmation');
    const widths = ROLES.map((r) =>
      Math.max(r.length, ...[...byFn.values()].map((m) => short(m.get(r)!).length)),
    );
    const fnWidth = Math.max(...MATRIX.map((r) => r.fn.length));
    const lines = [
      `authorization matrix: ${MATRIX.length} functions × ${ROLES.length} roles = ${table.length} cells`,
      `${''.padEnd(fnWidth)}  ${ROLES.map((r, i) => r.padEnd(widths[i]!)).join('  ')}`,
      ...[...byFn].map(
        ([fn, m]) =>
          `${fn.padEnd(fnWidth)}  ${ROLES.map((r, i) => short(m.get(r)!).padEnd(widths[i]!)).join('  ')}`,
      ),
    ];
    console.log(lines.join('\n'));
  });
});
