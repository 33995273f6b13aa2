// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/**
 * @title EhrRegistry
 * @notice Roles, patient registration, consent and batch anchors of ehr-anchor, on one permissioned chain.
 *
 * - The network admin (NETWORK_ADMIN_ROLE) adds and removes hospitals. A hospital is identified by its
 *   admin account and has a bridge signer (the only key that may anchor for it), a public key the
 *   bridge wraps data keys to, and a display name (a hospital name, never patient data).
 * - A hospital adds and removes its doctors.
 * - A visitor asks a hospital to register a pseudonymous subject (a keyed hash the hospital computes,
 *   never an identifier) to their wallet; the hospital approves (binds subject -> wallet) or rejects.
 * - A patient grants a hospital or a doctor access to some resource categories (a bitmask) until an
 *   expiry, and revokes it at any time. A doctor reads through their own grant or through a grant to
 *   their current hospital; removing the doctor (or the hospital) ends both at once.
 * - A hospital's bridge signer anchors the Merkle root of a batch of record leaves.
 *
 * Every check is O(1): no loop touches an array that grows with hospitals, doctors, patients or records.
 * Storage and events hold addresses, pseudonyms, hashes, CIDs of ciphertext and hospital names only.
 */
contract EhrRegistry is AccessControl {
    /// @notice Role that adds and removes hospitals.
    bytes32 public constant NETWORK_ADMIN_ROLE = keccak256("NETWORK_ADMIN_ROLE");

    struct Hospital {
        // True while registered.
        bool active;
        // Incremented each time the hospital is (re-)added, so doctors of an earlier registration stay removed.
        uint32 epoch;
        // The account of the hospital's bridge, the only one allowed to anchor for it.
        address bridgeSigner;
        // Public key the bridge wraps data keys to (format defined by @ehr-anchor/core).
        bytes keyWrappingKey;
        // Display name of the hospital.
        string name;
    }

    struct Doctor {
        address hospital;
        uint32 epoch;
    }

    struct Grant {
        // Bitmask of resource categories (see SCOPES in the TypeScript package).
        uint32 scope;
        // Unix seconds; the grant is valid while block.timestamp < expiresAt.
        uint64 expiresAt;
    }

    struct Anchor {
        address hospital;
        uint64 timestamp;
        uint32 count;
    }

    mapping(address hospital => Hospital) private _hospitals;
    mapping(address signer => address hospital) private _signerHospital;
    mapping(address doctor => Doctor) private _doctors;
    mapping(bytes32 subject => address wallet) private _subjectWallet;
    mapping(address wallet => uint256) private _subjectCount;
    mapping(address wallet => mapping(address hospital => bytes32 subject)) private _pendingRegistration;
    mapping(address patient => mapping(address grantee => Grant)) private _grants;
    mapping(bytes32 root => Anchor) private _anchors;

    // ───────────────────────────── events ─────────────────────────────

    /// @notice A hospital was registered by the network admin.
    event HospitalAdded(address indexed hospital, address indexed bridgeSigner, uint32 epoch, bytes keyWrappingKey, string name);
    /// @notice A hospital was removed by the network admin; its doctors and grants stop counting.
    event HospitalRemoved(address indexed hospital);
    /// @notice A hospital changed the account of its bridge.
    event BridgeSignerChanged(address indexed hospital, address indexed previousSigner, address indexed newSigner);
    /// @notice A hospital changed the public key its bridge wraps data keys to.
    event KeyWrappingKeyChanged(address indexed hospital, bytes keyWrappingKey);
    /// @notice A hospital added a doctor.
    event DoctorAdded(address indexed hospital, address indexed doctor);
    /// @notice A hospital removed a doctor.
    event DoctorRemoved(address indexed hospital, address indexed doctor);
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
    /// @notice The account already acts as a hospital, a bridge signer or a doctor.
    error AccountInUse(address account);
    /// @notice The key-wrapping public key was empty.
    error EmptyKeyWrappingKey();
    /// @notice The hospital name was empty.
    error EmptyName();
    /// @notice The doctor is registered at a hospital already.
    error DoctorAlreadyRegistered(address doctor, address hospital);
    /// @notice The account is not a doctor of the calling hospital.
    error NotDoctorOfHospital(address doctor, address hospital);
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
     * @param name Display name of the hospital.
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
        if (bytes(name).length == 0) revert EmptyName();
        Hospital storage h = _hospitals[hospital];
        h.active = true;
        uint32 epoch = h.epoch + 1;
        h.epoch = epoch;
        h.bridgeSigner = bridgeSigner;
        h.keyWrappingKey = keyWrappingKey;
        h.name = name;
        _signerHospital[bridgeSigner] = hospital;
        emit HospitalAdded(hospital, bridgeSigner, epoch, keyWrappingKey, name);
    }

    /**
     * @notice Removes a hospital. Only the network admin. Its doctors, its bridge signer and grants to it
     * stop counting at once (a later re-registration does not bring the doctors back).
     * @param hospital The hospital's admin account.
     */
    function removeHospital(address hospital) external onlyRole(NETWORK_ADMIN_ROLE) {
        Hospital storage h = _hospitals[hospital];
        if (!h.active) revert UnknownHospital(hospital);
        delete _signerHospital[h.bridgeSigner];
        h.active = false;
        h.bridgeSigner = address(0);
        delete h.keyWrappingKey;
        emit HospitalRemoved(hospital);
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

    // ───────────────────────────── doctors ─────────────────────────────

    /**
     * @notice Adds a doctor to the calling hospital. Only a registered hospital.
     * @param doctor The doctor's account; it may not be a hospital, a bridge signer or another hospital's doctor.
     */
    function addDoctor(address doctor) external onlyHospital {
        if (doctor == address(0)) revert ZeroAddress();
        address current = _activeDoctorHospital(doctor);
        if (current != address(0)) revert DoctorAlreadyRegistered(doctor, current);
        if (_inUse(doctor)) revert AccountInUse(doctor);
        _doctors[doctor] = Doctor({hospital: msg.sender, epoch: _hospitals[msg.sender].epoch});
        emit DoctorAdded(msg.sender, doctor);
    }

    /**
     * @notice Removes a doctor of the calling hospital. Only that hospital. The doctor loses every access
     * from the next block on, through their own grants and through the hospital's.
     * @param doctor The doctor's account.
     */
    function removeDoctor(address doctor) external onlyHospital {
        if (_activeDoctorHospital(doctor) != msg.sender) revert NotDoctorOfHospital(doctor, msg.sender);
        delete _doctors[doctor];
        emit DoctorRemoved(msg.sender, doctor);
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
     * the wallet, which becomes a patient. Only that hospital.
     * @param wallet The requesting wallet.
     */
    function approveRegistration(address wallet) external onlyHospital {
        bytes32 subject = _pendingRegistration[wallet][msg.sender];
        if (subject == bytes32(0)) revert NoPendingRegistration(wallet, msg.sender);
        if (_subjectWallet[subject] != address(0)) revert SubjectAlreadyBound(subject);
        delete _pendingRegistration[wallet][msg.sender];
        _subjectWallet[subject] = wallet;
        _subjectCount[wallet] += 1;
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
     * `scope` until `expiresAt`. Only a patient (a wallet with an approved registration).
     * @param grantee A registered hospital or an active doctor.
     * @param scope Bitmask of resource categories, not zero.
     * @param expiresAt Unix seconds after the current block's time; use type(uint64).max for "until revoked".
     */
    function grantAccess(address grantee, uint32 scope, uint64 expiresAt) external {
        if (_subjectCount[msg.sender] == 0) revert NotPatient(msg.sender);
        if (!_hospitals[grantee].active && _activeDoctorHospital(grantee) == address(0)) revert InvalidGrantee(grantee);
        if (scope == 0) revert EmptyScope();
        if (expiresAt <= block.timestamp) revert ExpiryNotInFuture(expiresAt);
        _grants[msg.sender][grantee] = Grant({scope: scope, expiresAt: expiresAt});
        emit AccessGranted(msg.sender, grantee, scope, expiresAt);
    }

    /**
     * @notice Revokes the caller's grant to `grantee` (expired or not). Refused from the next block on.
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
     * True for the subject's own wallet; for a registered hospital (or its bridge signer) with a valid
     * grant; for an active doctor with a valid grant to themselves or to their current hospital.
     * A grant is valid while unexpired and covering all of `scope`.
     */
    function canRead(address reader, bytes32 subject, uint32 scope) external view returns (bool) {
        address patient = _subjectWallet[subject];
        if (patient == address(0) || reader == address(0)) return false;
        if (reader == patient) return true;
        if (scope == 0) return false;
        address hospital = _hospitals[reader].active ? reader : _signerHospital[reader];
        if (hospital != address(0)) return _valid(_grants[patient][hospital], scope);
        hospital = _activeDoctorHospital(reader);
        if (hospital == address(0)) return false;
        return _valid(_grants[patient][reader], scope) || _valid(_grants[patient][hospital], scope);
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
        return _activeDoctorHospital(doctor);
    }

    /// @notice The wallet `subject` is bound to, or zero.
    function patientOf(bytes32 subject) external view returns (address) {
        return _subjectWallet[subject];
    }

    /// @notice True if `wallet` has at least one approved registration.
    function isPatient(address wallet) external view returns (bool) {
        return _subjectCount[wallet] != 0;
    }

    /// @notice The subject of `wallet`'s pending request at `hospital`, or zero.
    function pendingRegistration(address wallet, address hospital) external view returns (bytes32) {
        return _pendingRegistration[wallet][hospital];
    }

    /// @notice The patient's grant to `grantee` as stored (scope 0 if none; may be expired).
    function grantOf(address patient, address grantee) external view returns (uint32 scope, uint64 expiresAt) {
        Grant storage g = _grants[patient][grantee];
        return (g.scope, g.expiresAt);
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

    function _activeDoctorHospital(address doctor) private view returns (address) {
        Doctor storage d = _doctors[doctor];
        Hospital storage h = _hospitals[d.hospital];
        return (d.hospital != address(0) && h.active && h.epoch == d.epoch) ? d.hospital : address(0);
    }

    function _inUse(address account) private view returns (bool) {
        return _hospitals[account].active || _signerHospital[account] != address(0)
            || _activeDoctorHospital(account) != address(0);
    }

    function _valid(Grant storage g, uint32 scope) private view returns (bool) {
        return g.scope & scope == scope && block.timestamp < g.expiresAt;
    }
}
