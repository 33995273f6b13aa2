/*
 * A few lines of WebAssembly binary encoding for core's hash modules (keccak-wasm.ts, sha256-wasm.ts):
 * LEB128 numbers, sections, vectors, names and the opcodes they use. See the WebAssembly 1.0 spec,
 * "Binary Format".
 */

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

export const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
export const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
export const name = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

// Opcodes (WebAssembly 1.0 binary format).
export const LOCAL_GET = 0x20;
export const LOCAL_SET = 0x21;
export const LOCAL_TEE = 0x22;
export const I32_CONST = 0x41;
export const I64_CONST = 0x42;
export const I64_LOAD = 0x29;
export const I64_STORE = 0x37;
export const I32_ADD = 0x6a;
export const I32_SUB = 0x6b;
export const I32_EQZ = 0x45;
export const I32_NE = 0x47;
export const I64_AND = 0x83;
export const I64_XOR = 0x85;
export const I64_ROTL = 0x89;
export const IF = 0x04;
export const ELSE = 0x05;
export const BLOCK = 0x02;
export const CALL = 0x10;
export const I32_LOAD8_U = 0x2d;
export const I32_LE_S = 0x4c;
export const LOOP = 0x03;
export const BR_IF = 0x0d;
export const END = 0x0b;
export const VOID = 0x40;
export const I32 = 0x7f;
export const I64 = 0x7e;

export const I32_LOAD = 0x28;
export const I32_STORE = 0x36;
export const I32_AND = 0x71;
export const I32_OR = 0x72;
export const I32_XOR = 0x73;
export const I32_SHR_U = 0x76;
export const I32_ROTL = 0x77;
export const I32_ROTR = 0x78;
export const BR = 0x0c;
export const I32_EQ = 0x46;
