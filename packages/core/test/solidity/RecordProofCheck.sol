// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @notice Test-only contract: recomputes a record leaf on chain and checks a proof with
/// OpenZeppelin's MerkleProof, so core's TypeScript leaves and proofs are proven against Solidity.
contract RecordProofCheck {
    /// @notice The record leaf as StandardMerkleTree hashes it (double keccak of abi.encode).
    function leafOf(
        bytes32 subject,
        string calldata resourceType,
        string calldata resourceId,
        string calldata versionId,
        bytes32 contentHash,
        string calldata payloadCid,
        bytes32 salt
    ) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(subject, resourceType, resourceId, versionId, contentHash, payloadCid, salt))));
    }

    /// @notice MerkleProof.verify on a leaf hash.
    function verify(bytes32[] calldata proof, bytes32 root, bytes32 leaf) external pure returns (bool) {
        return MerkleProof.verifyCalldata(proof, root, leaf);
    }
}
