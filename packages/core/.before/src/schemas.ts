import { z } from 'zod';
import type { Hex } from './hex.js';

/** zod: 0x + lowercase/uppercase hex of exactly `bytes` bytes (or any length). */
export function hexSchema(bytes?: number) {
  const pattern =
    bytes === undefined ? /^0x(?:[0-9a-fA-F]{2})*$/ : new RegExp(`^0x[0-9a-fA-F]{${2 * bytes}}$`);
  return z
    .string()
    .regex(pattern, bytes === undefined ? 'expected 0x hex' : `expected 0x + ${bytes} bytes of hex`)
    .transform((s) => s as Hex);
}

export const bytes32Schema = hexSchema(32);

/** zod schema of a {@link LeafInput}. */
export const leafInputSchema = z.object({
  subject: bytes32Schema,
  resourceType: z.string().regex(/^[A-Z][A-Za-z]+$/),
  resourceId: z.string().min(1),
  versionId: z.string().min(1),
  contentHash: bytes32Schema,
  payloadCid: z.string().min(1),
  salt: bytes32Schema,
});

/** zod schema of a Merkle proof (sibling hashes, leaf to root). */
export const proofSchema = z.array(bytes32Schema);
