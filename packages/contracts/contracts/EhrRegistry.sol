// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

/**
 * @title EhrRegistry
 * @notice Roles, patient registration, consent and batch anchors of ehr-anchor, on one permissioned chain.
 *
 * - The network admin (NETWORK_ADMIN_ROLE) adds and removes hospitals. A hospital is identified by its
 *   admin account and has a bridge signer (the only key that may anchor for it), a public key the
 *   bridge wraps data keys to, a display name, and the public endpoint of its bridge's read API.
 * - A hospital adds, renames and removes its doctors and its staff (health workers), each with a
 *   display name. Staff may add documents for patients of their hospital (the bridge checks that the
 *   person is a patient of its hospital) but read nothing through consent. An account holds one role.
 * - A visitor asks a hospital to register a pseudonymous subject (a keyed hash the hospital computes,
 *   never an identifier) to their wallet; the hospital approves (binds subject -> wallet) or rejects.
 * - A patient grants a hospital or a doctor access to some resource categories (a bitmask) until an
 *   expiry, and revokes it at any time. A doctor reads through their own grant or through a grant to
 *   their current hospital.
 * - Removal ends grants: a grant is to one registration of its grantee (the hospital's epoch, the
 *   doctor's registration number). Removing the hospital or the doctor ends it for good; re-adding
 *   them starts a new registration, and the patient must grant again.
 * - A hospital's bridge signer anchors the Merkle root of a batch of record leaves.
 *
 * Every check is O(1): no state-changing function and no consent check loops. Two discovery views
 * (`hospitals`, `subjectsOf`) return lists; they are never called by other functions (see each).
 * Storage and events hold addresses, pseudonyms, hashes, CIDs of ciphertext, bridge URLs and names of
 * hospitals and their staff only — never patient data.
 */
contract EhrRegistry is AccessControl {
    using EnumerableSet for EnumerableSet.AddressSet;

    /// @notice Role that adds and removes hospitals (and may rename them).
    bytes32 public constant NETWORK_ADMIN_ROLE = keccak256("NETWORK_ADMIN_ROLE");
    /// @notice Longest display name, in UTF-8 bytes.
    uint256 public constant MAX_NAME_LENGTH = 128;
    /// @notice Longest bridge endpoint URL, in bytes.
    uint256 public constant MAX_URL_LENGTH = 256;

    /// @notice What `grantOf` says of a stored grant.
    enum GrantStatus {
        // No grant is stored.
        None,
        // In force: its grantee's registration is current and it has not expired.
        Active,
        // Its expiry has passed (the grantee's registration is still current).
        Expired,
        // Its grantee was removed after it was given; re-adding the grantee does not revive it.
        Ended
    }

    struct Hospital {
        // True while registered.
        bool active;
        // Incremented each time the hospital is (re-)added: its doctors, staff and grants belong to one epoch.
        uint32 epoch;
        // The account of the hospital's bridge, the only one allowed to anchor for it.
        address bridgeSigner;
        // Bitmask of what the bridge's read API serves (ENDPOINT_SERVICES in the TypeScript package).
        uint32 services;
        // Public key the bridge wraps data keys to (format defined by @ehr-anchor/core).
        bytes keyWrappingKey;
        // Display name of the hospital.
        string name;
        // Public base URL of the bridge's read API ("" while unset).
        string endpointUrl;
    }

    /// A doctor or a staff member: their hospital's registration they belong to, and their name.
    struct Member {
        address hospital;
        // The hospital's epoch when the member was added; a later epoch means the member was removed.
        uint32 hospitalEpoch;
        // Doctors: incremented each time the account is added as a doctor; grants to it record it.
        uint32 registration;
        // False once the hospital removed the member.
        bool registered;
        string name;
    }

    struct Grant {
        // Bitmask of resource categories (see SCOPES in the TypeScript package).
        uint32 scope;
        // Unix seconds; the grant is valid while block.timestamp < expiresAt.
        uint64 expiresAt;
        // The grantee's registration it was given to: the hospital's epoch or the doctor's registration.
        uint32 epoch;
        // True if given to a hospital, false if to a doctor.
        bool toHospital;
    }

    /// @notice A subject bound to a wallet, and the hospital that approved the binding.
    struct SubjectBinding {
        bytes32 subject;
        address hospital;
    }

    struct Anchor {
        address hospital;
        uint64 timestamp;
        uint32 count;
    }

    mapping(address hospital => Hospital) private _hospitals;
    EnumerableSet.AddressSet private _registeredHospitals;
    mapping(address signer => address hospital) private _signerHospital;
    mapping(address doctor => Member) private _doctors;
    mapping(address staff => Member) private _staff;
    mapping(bytes32 subject => address wallet) private _subjectWallet;
    mapping(address wallet => SubjectBinding[]) private _walletSubjects;
    mapping(address wallet => mapping(address hospital => bytes32 subject)) private _pendingRegistration;
    mapping(address patient => mapping(address grantee => Grant)) private _grants;
    mapping(bytes32 root => Anchor) private _anchors;

    // ───────────────────────────── events ─────────────────────────────

    /// @notice A hospital was registered by the network admin.
    event HospitalAdded(address indexed hospital, address indexed bridgeSigner, uint32 epoch, bytes keyWrappingKey, string name);
    /// @notice A hospital was removed by the network admin: its doctors, staff, bridge, endpoint and grants end.
    event HospitalRemoved(address indexed hospital);
    /// @notice A hospital's display name changed (by the hospital or the network admin).
    event HospitalRenamed(address indexed hospital, string name);
    /// @notice A hospital changed the account of its bridge.
    event BridgeSignerChanged(address indexed hospital, address indexed previousSigner, address indexed newSigner);
    /// @notice A hospital changed the public key its bridge wraps data keys to.
    event KeyWrappingKeyChanged(address indexed hospital, bytes keyWrappingKey);
    /// @notice A hospital published (or changed) the URL of its bridge's read API and what it serves.
    event EndpointChanged(address indexed hospital, string url, uint32 services);
    /// @notice A hospital added a doctor.
    event DoctorAdded(address indexed hospital, address indexed doctor, string name);
    /// @notice A hospital removed a doctor.
    event DoctorRemoved(address indexed hospital, address indexed doctor);
    /// @notice A hospital renamed one of its doctors.
    event DoctorRenamed(address indexed hospital, address indexed doctor, string name);
    /// @notice A hospital added a staff member (health worker).
    event StaffAdded(address indexed hospital, address indexed staff, string name);
    /// @notice A hospital removed a staff member.
    event StaffRemoved(address indexed hospital, address indexed staff);
    /// @notice A hospital renamed one of its staff members.
    event StaffRenamed(address indexed hospital, address indexed staff, string name);
    /// @notice A wallet asked a hospital to bind a pseudonymous subject to it.
    event RegistrationRequested(bytes32 indexed subject, address indexed wallet, address indexed hospital);
    /// @notice A hospital approved a registration: `subject` now belongs to `wallet`.
    event RegistrationApproved(bytes32 indexed subject, address indexed wallet, address indexed hospital);
    /// @notice A hospital rejected a registration request.
    event RegistrationRejected(bytes32 indexed subject, address indexed wallet, address indexed hospital);
    /// @notice A patient granted (or changed) access of a hospital or a doctor.
    event AccessGranted(address indexed patient, address indexed grantee, uint32 scope, uint64 expiresAt);
    /// @notice A patient revoked access of a hospital or a doctor.
    event AccessRevoked(address indexed patient, address indexed grantee);
    /// @notice A hospital's bridge anchored the Merkle root of a batch of `count` record leaves.
    event Anchored(bytes32 indexed root, address indexed hospital, uint32 count, string manifestCid);

    // ───────────────────────────── errors ─────────────────────────────

    /// @notice An address argument was the zero address.
    error ZeroAddress();
    /// @notice The caller is not a registered hospital.
    error NotHospital(address caller);
    /// @notice The caller is not the bridge signer of a registered hospital.
    error NotBridgeSigner(address caller);
    /// @notice The caller has no approved registration.
    error NotPatient(address caller);
    /// @notice The hospital is registered already.
    error HospitalAlreadyRegistered(address hospital);
    /// @notice No registered hospital has this address.
    error UnknownHospital(address hospital);
    /// @notice The account already acts as a hospital, a bridge signer, a doctor or a staff member.
    error AccountInUse(address account);
    /// @notice The key-wrapping public key was empty.
    error EmptyKeyWrappingKey();
    /// @notice The display name was empty.
    error EmptyName();
    /// @notice The display name was longer than MAX_NAME_LENGTH bytes.
    error NameTooLong(uint256 length, uint256 maxLength);
    /// @notice The bridge endpoint URL was empty.
    error EmptyEndpointUrl();
    /// @notice The bridge endpoint URL was longer than MAX_URL_LENGTH bytes.
    error EndpointUrlTooLong(uint256 length, uint256 maxLength);
    /// @notice The endpoint was published with no service.
    error NoEndpointServices();
    /// @notice The doctor is registered at a hospital already.
    error DoctorAlreadyRegistered(address doctor, address hospital);
    /// @notice The account is not a doctor of the calling hospital.
    error NotDoctorOfHospital(address doctor, address hospital);
    /// @notice The staff member is registered at a hospital already.
    error StaffAlreadyRegistered(address staff, address hospital);
    /// @notice The account is not a staff member of the calling hospital.
    error NotStaffOfHospital(address staff, address hospital);
    /// @notice The subject was zero.
    error ZeroSubject();
    /// @notice The subject belongs to a wallet already.
    error SubjectAlreadyBound(bytes32 subject);
    /// @notice The wallet has a pending request at this hospital already.
    error RegistrationAlreadyPending(address wallet, address hospital);
    /// @notice The wallet has no pending request at this hospital.
    error NoPendingRegistration(address wallet, address hospital);
    /// @notice The grantee is neither a registered hospital nor an active doctor.
    error InvalidGrantee(address grantee);
    /// @notice The scope had no category.
    error EmptyScope();
    /// @notice The expiry was not after the current block's time.
    error ExpiryNotInFuture(uint64 expiresAt);
    /// @notice The patient has no grant for this grantee.
    error GrantNotFound(address patient, address grantee);
    /// @notice The Merkle root was zero.
    error ZeroRoot();
    /// @notice The batch had no records.
    error EmptyBatch();
    /// @notice The manifest CID was empty.
    error EmptyManifestCid();
    /// @notice The root was anchored already.
    error RootAlreadyAnchored(bytes32 root);

    // ───────────────────────────── setup ─────────────────────────────

    /// @param admin Receives DEFAULT_ADMIN_ROLE (manages roles) and NETWORK_ADMIN_ROLE (manages hospitals).
    constructor(address admin) {
        if (admin == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(NETWORK_ADMIN_ROLE, admin);
    }

    modifier onlyHospital() {
        if (!_hospitals[msg.sender].active) revert NotHospital(msg.sender);
        _;
    }

    // ───────────────────────────── hospitals ─────────────────────────────

    /**
     * @notice Registers a hospital. Only the network admin.
     * @param hospital The hospital's admin account; it identifies the hospital everywhere.
     * @param bridgeSigner The account of the hospital's bridge, the only one allowed to anchor for it.
     * @param keyWrappingKey Public key the bridge wraps data keys to.
     * @param name Display name of the hospital (1 to MAX_NAME_LENGTH bytes).
     */
    function addHospital(address hospital, address bridgeSigner, bytes calldata keyWrappingKey, string calldata name)
        external
        onlyRole(NETWORK_ADMIN_ROLE)
    {
        if (hospital == address(0) || bridgeSigner == address(0)) revert ZeroAddress();
        if (_hospitals[hospital].active) revert HospitalAlreadyRegistered(hospital);
        if (hospital == bridgeSigner) revert AccountInUse(bridgeSigner);
        if (_inUse(hospital)) revert AccountInUse(hospital);
        if (_inUse(bridgeSigner)) revert AccountInUse(bridgeSigner);
        if (keyWrappingKey.length == 0) revert EmptyKeyWrappingKey();
        _checkName(name);
        Hospital storage h = _hospitals[hospital];
        h.active = true;
        uint32 epoch = h.epoch + 1;
        h.epoch = epoch;
        h.bridgeSigner = bridgeSigner;
        h.keyWrappingKey = keyWrappingKey;
        h.name = name;
        _signerHospital[bridgeSigner] = hospital;
        _registeredHospitals.add(hospital);
        emit HospitalAdded(hospital, bridgeSigner, epoch, keyWrappingKey, name);
    }

    /**
     * @notice Removes a hospital. Only the network admin. From the next block on its doctors, its staff,
     * its bridge signer and every grant to it stop counting, and its endpoint is withdrawn. Re-adding the
     * hospital later starts a new epoch: none of these come back (patients grant again, the hospital adds
     * its doctors and staff again, and publishes its endpoint again).
     * @param hospital The hospital's admin account.
     */
    function removeHospital(address hospital) external onlyRole(NETWORK_ADMIN_ROLE) {
        Hospital storage h = _hospitals[hospital];
        if (!h.active) revert UnknownHospital(hospital);
        delete _signerHospital[h.bridgeSigner];
        h.active = false;
        h.bridgeSigner = address(0);
        h.services = 0;
        delete h.keyWrappingKey;
        delete h.endpointUrl;
        _registeredHospitals.remove(hospital);
        emit HospitalRemoved(hospital);
    }

    /**
     * @notice Renames a registered hospital. The hospital itself, or the network admin.
     * @param hospital The hospital's admin account.
     * @param name The new display name (1 to MAX_NAME_LENGTH bytes).
     */
    function setHospitalName(address hospital, string calldata name) external {
        if (msg.sender != hospital) _checkRole(NETWORK_ADMIN_ROLE);
        Hospital storage h = _hospitals[hospital];
        if (!h.active) revert UnknownHospital(hospital);
        _checkName(name);
        h.name = name;
        emit HospitalRenamed(hospital, name);
    }

    /**
     * @notice Replaces the calling hospital's bridge signer (key rotation). Only a registered hospital.
     * @param newSigner The new bridge account.
     */
    function setBridgeSigner(address newSigner) external onlyHospital {
        if (newSigner == address(0)) revert ZeroAddress();
        if (newSigner == msg.sender || _inUse(newSigner)) revert AccountInUse(newSigner);
        Hospital storage h = _hospitals[msg.sender];
        address previous = h.bridgeSigner;
        delete _signerHospital[previous];
        h.bridgeSigner = newSigner;
        _signerHospital[newSigner] = msg.sender;
        emit BridgeSignerChanged(msg.sender, previous, newSigner);
    }

    /**
     * @notice Replaces the calling hospital's key-wrapping public key. Only a registered hospital.
     * @param keyWrappingKey The new public key.
     */
    function setKeyWrappingKey(bytes calldata keyWrappingKey) external onlyHospital {
        if (keyWrappingKey.length == 0) revert EmptyKeyWrappingKey();
        _hospitals[msg.sender].keyWrappingKey = keyWrappingKey;
        emit KeyWrappingKeyChanged(msg.sender, keyWrappingKey);
    }

    /**
     * @notice Publishes where the calling hospital's bridge serves its read API, so portals find it from
     * chain state. Only a registered hospital. The chain checks only that the URL is present and short;
     * clients accept only https (or loopback http for development) before they connect.
     * @param url Public base URL of the bridge's read API (1 to MAX_URL_LENGTH bytes).
     * @param services Bitmask of what it serves (ENDPOINT_SERVICES in the TypeScript package), not zero.
     */
    function setEndpoint(string calldata url, uint32 services) external onlyHospital {
        uint256 length = bytes(url).length;
        if (length == 0) revert EmptyEndpointUrl();
        if (length > MAX_URL_LENGTH) revert EndpointUrlTooLong(length, MAX_URL_LENGTH);
        if (services == 0) revert NoEndpointServices();
        Hospital storage h = _hospitals[msg.sender];
        h.endpointUrl = url;
        h.services = services;
        emit EndpointChanged(msg.sender, url, services);
    }

    // ───────────────────────────── doctors and staff ─────────────────────────────

    /**
     * @notice Adds a doctor to the calling hospital. Only a registered hospital. A doctor added again
     * (after a removal) starts a new registration: grants to their earlier registration stay ended.
     * @param doctor The doctor's account; it may hold no other role.
     * @param name The doctor's display name (1 to MAX_NAME_LENGTH bytes).
     */
    function addDoctor(address doctor, string calldata name) external onlyHospital {
        if (doctor == address(0)) revert ZeroAddress();
        Member storage d = _doctors[doctor];
        address current = _activeHospital(d);
        if (current != address(0)) revert DoctorAlreadyRegistered(doctor, current);
        if (_inUse(doctor)) revert AccountInUse(doctor);
        _checkName(name);
        d.hospital = msg.sender;
        d.hospitalEpoch = _hospitals[msg.sender].epoch;
        d.registration += 1;
        d.registered = true;
        d.name = name;
        emit DoctorAdded(msg.sender, doctor, name);
    }

    /**
     * @notice Removes a doctor of the calling hospital. Only that hospital. The doctor loses every access
     * from the next block on, through their own grants and through the hospital's; their own grants end.
     * @param doctor The doctor's account.
     */
    function removeDoctor(address doctor) external onlyHospital {
        Member storage d = _doctors[doctor];
        if (_activeHospital(d) != msg.sender) revert NotDoctorOfHospital(doctor, msg.sender);
        d.registered = false;
        emit DoctorRemoved(msg.sender, doctor);
    }

    /**
     * @notice Renames a doctor of the calling hospital. Only that hospital.
     * @param doctor The doctor's account.
     * @param name The new display name (1 to MAX_NAME_LENGTH bytes).
     */
    function setDoctorName(address doctor, string calldata name) external onlyHospital {
        Member storage d = _doctors[doctor];
        if (_activeHospital(d) != msg.sender) revert NotDoctorOfHospital(doctor, msg.sender);
        _checkName(name);
        d.name = name;
        emit DoctorRenamed(msg.sender, doctor, name);
    }

    /**
     * @notice Adds a staff member (health worker) to the calling hospital. Only a registered hospital.
     * Staff read nothing through consent (`canRead` is false for them) and cannot be grantees; a bridge
     * may accept their uploads for its hospital's own patients (`hospitalOfStaff`), a rule of the bridge.
     * @param staff The staff member's account; it may hold no other role.
     * @param name The staff member's display name (1 to MAX_NAME_LENGTH bytes).
     */
    function addStaff(address staff, string calldata name) external onlyHospital {
        if (staff == address(0)) revert ZeroAddress();
        Member storage s = _staff[staff];
        address current = _activeHospital(s);
        if (current != address(0)) revert StaffAlreadyRegistered(staff, current);
        if (_inUse(staff)) revert AccountInUse(staff);
        _checkName(name);
        s.hospital = msg.sender;
        s.hospitalEpoch = _hospitals[msg.sender].epoch;
        s.registered = true;
        s.name = name;
        emit StaffAdded(msg.sender, staff, name);
    }

    /**
     * @notice Removes a staff member of the calling hospital. Only that hospital.
     * @param staff The staff member's account.
     */
    function removeStaff(address staff) external onlyHospital {
        Member storage s = _staff[staff];
        if (_activeHospital(s) != msg.sender) revert NotStaffOfHospital(staff, msg.sender);
        s.registered = false;
        emit StaffRemoved(msg.sender, staff);
    }

    /**
     * @notice Renames a staff member of the calling hospital. Only that hospital.
     * @param staff The staff member's account.
     * @param name The new display name (1 to MAX_NAME_LENGTH bytes).
     */
    function setStaffName(address staff, string calldata name) external onlyHospital {
        Member storage s = _staff[staff];
        if (_activeHospital(s) != msg.sender) revert NotStaffOfHospital(staff, msg.sender);
        _checkName(name);
        s.name = name;
        emit StaffRenamed(msg.sender, staff, name);
    }

    // ───────────────────────────── registration ─────────────────────────────

    /**
     * @notice Asks `hospital` to bind the pseudonymous `subject` to the caller's wallet. Anyone may ask.
     * @param hospital The registered hospital that knows the person and computed the subject.
     * @param subject The hospital's pseudonym for the person (a keyed hash, never an identifier).
     */
    function requestRegistration(address hospital, bytes32 subject) external {
        if (!_hospitals[hospital].active) revert UnknownHospital(hospital);
        if (subject == bytes32(0)) revert ZeroSubject();
        if (_subjectWallet[subject] != address(0)) revert SubjectAlreadyBound(subject);
        if (_pendingRegistration[msg.sender][hospital] != bytes32(0)) {
            revert RegistrationAlreadyPending(msg.sender, hospital);
        }
        _pendingRegistration[msg.sender][hospital] = subject;
        emit RegistrationRequested(subject, msg.sender, hospital);
    }

    /**
     * @notice Approves the wallet's pending request at the calling hospital: its subject now belongs to
     * the wallet, which becomes a patient, and is appended to `subjectsOf(wallet)`. Only that hospital.
     * @param wallet The requesting wallet.
     */
    function approveRegistration(address wallet) external onlyHospital {
        bytes32 subject = _pendingRegistration[wallet][msg.sender];
        if (subject == bytes32(0)) revert NoPendingRegistration(wallet, msg.sender);
        if (_subjectWallet[subject] != address(0)) revert SubjectAlreadyBound(subject);
        delete _pendingRegistration[wallet][msg.sender];
        _subjectWallet[subject] = wallet;
        _walletSubjects[wallet].push(SubjectBinding({subject: subject, hospital: msg.sender}));
        emit RegistrationApproved(subject, wallet, msg.sender);
    }

    /**
     * @notice Rejects the wallet's pending request at the calling hospital. Only that hospital.
     * @param wallet The requesting wallet.
     */
    function rejectRegistration(address wallet) external onlyHospital {
        bytes32 subject = _pendingRegistration[wallet][msg.sender];
        if (subject == bytes32(0)) revert NoPendingRegistration(wallet, msg.sender);
        delete _pendingRegistration[wallet][msg.sender];
        emit RegistrationRejected(subject, wallet, msg.sender);
    }

    // ───────────────────────────── consent ─────────────────────────────

    /**
     * @notice Grants (or replaces the grant of) a hospital or a doctor access to the caller's records in
     * `scope` until `expiresAt`. Only a patient (a wallet with an approved registration). The grant is to
     * the grantee's current registration: it ends when the grantee is removed, even if re-added later.
     * @param grantee A registered hospital or an active doctor.
     * @param scope Bitmask of resource categories, not zero.
     * @param expiresAt Unix seconds after the current block's time; use type(uint64).max for "until revoked".
     */
    function grantAccess(address grantee, uint32 scope, uint64 expiresAt) external {
        if (_walletSubjects[msg.sender].length == 0) revert NotPatient(msg.sender);
        Hospital storage h = _hospitals[grantee];
        bool toHospital = h.active;
        uint32 epoch;
        if (toHospital) {
            epoch = h.epoch;
        } else {
            Member storage d = _doctors[grantee];
            if (_activeHospital(d) == address(0)) revert InvalidGrantee(grantee);
            epoch = d.registration;
        }
        if (scope == 0) revert EmptyScope();
        if (expiresAt <= block.timestamp) revert ExpiryNotInFuture(expiresAt);
        _grants[msg.sender][grantee] = Grant({scope: scope, expiresAt: expiresAt, epoch: epoch, toHospital: toHospital});
        emit AccessGranted(msg.sender, grantee, scope, expiresAt);
    }

    /**
     * @notice Revokes the caller's grant to `grantee` (in force, expired or ended). Refused from the next
     * block on.
     * @param grantee The hospital or doctor.
     */
    function revokeAccess(address grantee) external {
        if (_grants[msg.sender][grantee].scope == 0) revert GrantNotFound(msg.sender, grantee);
        delete _grants[msg.sender][grantee];
        emit AccessRevoked(msg.sender, grantee);
    }

    // ───────────────────────────── anchors ─────────────────────────────

    /**
     * @notice Anchors the Merkle root of a batch of record leaves. Only the bridge signer of a registered
     * hospital. Constant gas whatever the batch size.
     * @param root Root of the OpenZeppelin StandardMerkleTree of the batch's leaves.
     * @param manifestCid CID of the batch manifest on IPFS (leaf hashes and payload CIDs, no PHI); only emitted.
     * @param count Number of leaves in the batch.
     */
    function anchor(bytes32 root, string calldata manifestCid, uint32 count) external {
        address hospital = _signerHospital[msg.sender];
        if (hospital == address(0)) revert NotBridgeSigner(msg.sender);
        if (root == bytes32(0)) revert ZeroRoot();
        if (count == 0) revert EmptyBatch();
        if (bytes(manifestCid).length == 0) revert EmptyManifestCid();
        if (_anchors[root].timestamp != 0) revert RootAlreadyAnchored(root);
        _anchors[root] = Anchor({hospital: hospital, timestamp: uint64(block.timestamp), count: count});
        emit Anchored(root, hospital, count, manifestCid);
    }

    // ───────────────────────────── views ─────────────────────────────

    /**
     * @notice May `reader` read the records of `subject` in every category of `scope` now?
     * True for the subject's own wallet; for a registered hospital (or its bridge signer) with a grant in
     * force; for an active doctor with a grant in force to themselves or to their current hospital. A
     * grant is in force while its grantee's registration is the one it was given to, it is unexpired and
     * it covers all of `scope`. Staff members read nothing through consent.
     */
    function canRead(address reader, bytes32 subject, uint32 scope) external view returns (bool) {
        address patient = _subjectWallet[subject];
        if (patient == address(0) || reader == address(0)) return false;
        if (reader == patient) return true;
        if (scope == 0) return false;
        mapping(address grantee => Grant) storage grants = _grants[patient];
        address hospital = _hospitals[reader].active ? reader : _signerHospital[reader];
        if (hospital != address(0)) return _covers(grants[hospital], scope, _hospitals[hospital].epoch, true);
        Member storage d = _doctors[reader];
        hospital = _activeHospital(d);
        if (hospital == address(0)) return false;
        return _covers(grants[reader], scope, d.registration, false)
            || _covers(grants[hospital], scope, _hospitals[hospital].epoch, true);
    }

    /**
     * @notice The patient's grant to `grantee` as stored, and whether it is in force.
     * @return scope The categories granted (0 if no grant is stored).
     * @return expiresAt The expiry, in Unix seconds (type(uint64).max: until revoked).
     * @return status None, Active (in force), Expired, or Ended (the grantee was removed since; final).
     * @return toHospital True if the grant was given to a hospital, false if to a doctor.
     */
    function grantOf(address patient, address grantee)
        external
        view
        returns (uint32 scope, uint64 expiresAt, GrantStatus status, bool toHospital)
    {
        Grant storage g = _grants[patient][grantee];
        scope = g.scope;
        expiresAt = g.expiresAt;
        toHospital = g.toHospital;
        if (scope == 0) {
            status = GrantStatus.None;
        } else if (!_current(grantee, g)) {
            status = GrantStatus.Ended;
        } else if (block.timestamp >= expiresAt) {
            status = GrantStatus.Expired;
        } else {
            status = GrantStatus.Active;
        }
    }

    /// @notice The hospital's registration (all zero if never registered).
    function hospitalInfo(address hospital)
        external
        view
        returns (bool active, uint32 epoch, address bridgeSigner, bytes memory keyWrappingKey, string memory name)
    {
        Hospital storage h = _hospitals[hospital];
        return (h.active, h.epoch, h.bridgeSigner, h.keyWrappingKey, h.name);
    }

    /// @notice Where the hospital's bridge serves its read API ("" and 0 while unset or not registered).
    function endpointOf(address hospital) external view returns (string memory url, uint32 services) {
        Hospital storage h = _hospitals[hospital];
        return (h.endpointUrl, h.services);
    }

    /**
     * @notice Every registered hospital, for portals to discover the network (and each one's bridge with
     * `endpointOf`). A view for off-chain callers only: its copy grows with the number of hospitals of
     * the network — tens to hundreds, each added by the network admin — and no function of this contract
     * calls it, so no transaction's gas depends on it.
     */
    function hospitals() external view returns (address[] memory) {
        return _registeredHospitals.values();
    }

    /// @notice True while `hospital` is registered.
    function isHospital(address hospital) external view returns (bool) {
        return _hospitals[hospital].active;
    }

    /// @notice The registered hospital whose bridge signer `signer` is, or zero.
    function hospitalOfSigner(address signer) external view returns (address) {
        return _signerHospital[signer];
    }

    /// @notice The hospital `doctor` currently belongs to, or zero if not an active doctor.
    function hospitalOfDoctor(address doctor) external view returns (address) {
        return _activeHospital(_doctors[doctor]);
    }

    /**
     * @notice The doctor's latest registration: its hospital and name (kept after removal, for history),
     * and whether it is active now (zero address, "" and false if never added).
     */
    function doctorInfo(address doctor) external view returns (address hospital, string memory name, bool active) {
        Member storage d = _doctors[doctor];
        return (d.hospital, d.name, _activeHospital(d) != address(0));
    }

    /// @notice The hospital `staff` currently works for, or zero if not an active staff member.
    function hospitalOfStaff(address staff) external view returns (address) {
        return _activeHospital(_staff[staff]);
    }

    /**
     * @notice The staff member's latest registration: its hospital and name (kept after removal), and
     * whether it is active now (zero address, "" and false if never added).
     */
    function staffInfo(address staff) external view returns (address hospital, string memory name, bool active) {
        Member storage s = _staff[staff];
        return (s.hospital, s.name, _activeHospital(s) != address(0));
    }

    /// @notice The wallet `subject` is bound to, or zero.
    function patientOf(bytes32 subject) external view returns (address) {
        return _subjectWallet[subject];
    }

    /// @notice True if `wallet` has at least one approved registration.
    function isPatient(address wallet) external view returns (bool) {
        return _walletSubjects[wallet].length != 0;
    }

    /**
     * @notice The subjects bound to `wallet`, oldest first, each with the hospital that approved it — so a
     * portal finds every hospital that holds records of the signed-in patient. A view for off-chain
     * callers only: its copy grows with the patient's own registrations (one per hospital that knows
     * them), and no function of this contract calls it.
     */
    function subjectsOf(address wallet) external view returns (SubjectBinding[] memory) {
        return _walletSubjects[wallet];
    }

    /// @notice The subject of `wallet`'s pending request at `hospital`, or zero.
    function pendingRegistration(address wallet, address hospital) external view returns (bytes32) {
        return _pendingRegistration[wallet][hospital];
    }

    /// @notice The anchor of `root` (timestamp 0 if never anchored).
    function anchorOf(bytes32 root) external view returns (address hospital, uint64 timestamp, uint32 count) {
        Anchor storage a = _anchors[root];
        return (a.hospital, a.timestamp, a.count);
    }

    /**
     * @notice True if `root` is anchored and `leaf` (a StandardMerkleTree leaf hash) is in its tree.
     * @param proof The sibling hashes from the leaf up (StandardMerkleTree.getProof).
     */
    function verifyLeaf(bytes32 root, bytes32 leaf, bytes32[] calldata proof) external view returns (bool) {
        return _anchors[root].timestamp != 0 && MerkleProof.verifyCalldata(proof, root, leaf);
    }

    /**
     * @notice True if `root` is anchored and all `leaves` are in its tree (StandardMerkleTree.getMultiProof).
     */
    function verifyLeaves(bytes32 root, bytes32[] calldata leaves, bytes32[] calldata proof, bool[] calldata proofFlags)
        external
        view
        returns (bool)
    {
        return _anchors[root].timestamp != 0 && MerkleProof.multiProofVerifyCalldata(proof, proofFlags, root, leaves);
    }

    /**
     * @notice The leaf hash of a record, as OpenZeppelin's StandardMerkleTree computes it for the types
     * (bytes32, string, string, string, bytes32, string, bytes32): keccak256(keccak256(abi.encode(...))).
     */
    function recordLeaf(
        bytes32 subject,
        string calldata resourceType,
        string calldata resourceId,
        string calldata versionId,
        bytes32 contentHash,
        string calldata payloadCid,
        bytes32 salt
    ) external pure returns (bytes32) {
        return keccak256(
            bytes.concat(
                keccak256(abi.encode(subject, resourceType, resourceId, versionId, contentHash, payloadCid, salt))
            )
        );
    }

    // ───────────────────────────── internals ─────────────────────────────

    /// The hospital a doctor or staff member is active at now, or zero (removed, or their hospital was).
    function _activeHospital(Member storage m) private view returns (address) {
        if (!m.registered) return address(0);
        Hospital storage h = _hospitals[m.hospital];
        return (h.active && h.epoch == m.hospitalEpoch) ? m.hospital : address(0);
    }

    function _inUse(address account) private view returns (bool) {
        return _hospitals[account].active || _signerHospital[account] != address(0)
            || _activeHospital(_doctors[account]) != address(0) || _activeHospital(_staff[account]) != address(0);
    }

    /// True while the registration `g` was given to is the grantee's current one.
    function _current(address grantee, Grant storage g) private view returns (bool) {
        if (g.toHospital) {
            Hospital storage h = _hospitals[grantee];
            return h.active && h.epoch == g.epoch;
        }
        Member storage d = _doctors[grantee];
        return _activeHospital(d) != address(0) && d.registration == g.epoch;
    }

    /// `g` is in force for the (current) registration `epoch` of its grantee and covers `scope`.
    function _covers(Grant storage g, uint32 scope, uint32 epoch, bool toHospital) private view returns (bool) {
        return g.scope & scope == scope && g.epoch == epoch && g.toHospital == toHospital
            && block.timestamp < g.expiresAt;
    }

    function _checkName(string calldata name) private pure {
        uint256 length = bytes(name).length;
        if (length == 0) revert EmptyName();
        if (length > MAX_NAME_LENGTH) revert NameTooLong(length, MAX_NAME_LENGTH);
    }
}
