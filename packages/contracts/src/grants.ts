/**
 * The status `EhrRegistry.grantOf` reports for a stored grant (its `GrantStatus` enum, a uint8 in the
 * ABI). A grant is to one registration of its grantee: removing the hospital or doctor ends it for good.
 */
export const GRANT_STATUS = {
  /** No grant is stored. */
  none: 0,
  /** In force: the grantee's registration is current and the grant has not expired. */
  active: 1,
  /** The expiry has passed. */
  expired: 2,
  /** The grantee was removed after the grant was given; re-adding it does not revive the grant. */
  ended: 3,
} as const;

export type GrantStatus = keyof typeof GRANT_STATUS;

/** The `GrantStatus` name of the enum value `grantOf` returned (a bigint or number from the ABI coder). */
export function grantStatusOf(value: bigint | number): GrantStatus {
  const n = Number(value);
  const found = (Object.keys(GRANT_STATUS) as GrantStatus[]).find((k) => GRANT_STATUS[k] === n);
  if (!found) throw new RangeError(`unknown grant status ${n}`);
  return found;
}
