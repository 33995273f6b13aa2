// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title EventRecords
 * @notice Benchmark comparison only: one event per record (the record's leaf hash and payload CID),
 * one transaction per record, nothing in storage.
 */
contract EventRecords {
    /// @notice One record was logged.
    event RecordLogged(bytes32 indexed leaf, string payloadCid);

    /// @notice Emits one event for one record.
    function logRecord(bytes32 leaf, string calldata payloadCid) external {
        emit RecordLogged(leaf, payloadCid);
    }
}
