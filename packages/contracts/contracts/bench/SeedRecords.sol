// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title SeedRecords
 * @notice Benchmark baseline only, never deployed for real: the thesis' way of keeping records, written
 * fresh — each record's plaintext JSON string in contract storage, one transaction per record.
 */
contract SeedRecords {
    mapping(uint256 id => string json) public records;
    uint256 public recordCount;

    /// @notice Stores one record's JSON string under the next id.
    function addRecord(string calldata json) external {
        records[recordCount] = json;
        recordCount += 1;
    }
}
