/**
 * Sign-In with Ethereum (EIP-4361) and short-lived sessions.
 *
 * 1. `POST /auth/nonce` issues a single-use random nonce (kept in memory for `nonceTtlMs`).
 * 2. The wallet signs an EIP-4361 message carrying that nonce, an allowed domain, this chain's id
 *    (`personal_sign`, so any EIP-1193 wallet works).
 * 3. `POST /auth/session` checks the signature (siwe), the nonce (consumed), domain, chain id and the
 *    message's own time bounds, and returns an HS256 JWT (jose) valid for `sessionTtlSec`.
 *
 * The token carries only the address. Roles are never taken from it: they are read from the chain
 * on every request (see auth.ts), so a removed doctor or a revoked grant counts at once.
 */
import { randomBytes } from 'node:crypto';
import { getAddress } from 'ethers';
import { jwtVerify, SignJWT, errors as joseErrors } from 'jose';
import { SiweMessage } from 'siwe';
import { HttpError, unauthorized } from '../errors.js';

export interface SessionOptions {
  /** HMAC secret of the session tokens (32+ bytes); random per process when absent (sessions then end on restart). */
  secret?: Uint8Array;
  sessionTtlSec?: number;
  nonceTtlMs?: number;
  /** Domains (RFC 3986 authority, e.g. `portal.example.org`) accepted in the message; the request's Host is always accepted. */
  domains?: string[];
  chainId: () => Promise<number>;
  statement?: string;
  /** Chain provider: lets siwe check EIP-1271 signatures of smart-contract wallets (EOAs need none). */
  provider?: unknown;
}

export interface VerifiedSession {
  address: string;
  expiresAt: number;
}

const ISSUER = 'urn:ehr-anchor:fhir-bridge';

export class SessionIssuer {
  readonly #secret: Uint8Array;
  readonly #nonces = new Map<string, number>();
  readonly ttlSec: number;
  readonly nonceTtlMs: number;
  readonly statement: string;

  constructor(readonly options: SessionOptions) {
    this.#secret = options.secret ?? new Uint8Array(randomBytes(32));
    if (this.#secret.length < 32) throw new Error('session secret must have at least 32 bytes');
    this.ttlSec = options.sessionTtlSec ?? 900;
    this.nonceTtlMs = options.nonceTtlMs ?? 5 * 60_000;
    this.statement = options.statement ?? 'Sign in to read health records you are allowed to see.';
  }

  /** A fresh nonce (alphanumeric, 128 bits), valid once. */
  nonce(now = Date.now()): { nonce: string; expiresAt: number } {
    for (const [n, exp] of this.#nonces) if (exp <= now) this.#nonces.delete(n);
    if (this.#nonces.size > 100_000) throw new HttpError(503, 'transient', 'too many pending sign-ins');
    const nonce = randomBytes(16).toString('hex');
    const expiresAt = now + this.nonceTtlMs;
    this.#nonces.set(nonce, expiresAt);
    return { nonce, expiresAt };
  }

  /**
   * The message's `domain` must be the portal the user signed in on: one of `domains`, or the
   * bridge's own host; with no `domains` configured, any loopback host (development stacks).
   */
  acceptsDomain(domain: string, requestHost: string | undefined): boolean {
    const configured = this.options.domains ?? [];
    if (configured.includes(domain) || domain === requestHost) return true;
    return configured.length === 0 && /^(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/.test(domain);
  }

  /** Verifies a signed EIP-4361 message; consumes its nonce; returns a session token. */
  async signIn(
    message: string,
    signature: string,
    requestHost: string | undefined,
    now = Date.now(),
  ): Promise<{ token: string; address: string; expiresAt: number }> {
    let parsed: SiweMessage;
    try {
      parsed = new SiweMessage(message);
    } catch {
      throw unauthorized('not an EIP-4361 message');
    }
    if (!this.acceptsDomain(parsed.domain, requestHost))
      throw unauthorized('the message is for another domain');
    if (parsed.chainId !== (await this.options.chainId()))
      throw unauthorized('the message is for another chain');
    const nonceExp = this.#nonces.get(parsed.nonce);
    if (nonceExp === undefined || nonceExp <= now) throw unauthorized('unknown, used or expired nonce');
    // Consume before the (async) signature check, so a replay racing this request also fails.
    this.#nonces.delete(parsed.nonce);
    const result = await parsed.verify(
      { signature, nonce: parsed.nonce, domain: parsed.domain, time: new Date(now).toISOString() },
      {
        suppressExceptions: true,
        ...(this.options.provider ? { provider: this.options.provider as never } : {}),
      },
    );
    if (!result.success) throw unauthorized(`sign-in refused: ${result.error?.type ?? 'bad signature'}`);
    const address = getAddress(parsed.address);
    const exp = Math.floor(now / 1000) + this.ttlSec;
    const messageExp = parsed.expirationTime
      ? Math.floor(new Date(parsed.expirationTime).getTime() / 1000)
      : exp;
    const expiresAt = Math.min(exp, messageExp);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject(address)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(expiresAt)
      .setJti(randomBytes(12).toString('hex'))
      .sign(this.#secret);
    return { token, address, expiresAt: expiresAt * 1000 };
  }

  /** Checks a bearer token; 401 when missing, forged or expired. */
  async verify(token: string | undefined, now = Date.now()): Promise<VerifiedSession> {
    if (!token) throw unauthorized('sign in first (Authorization: Bearer <session token>)');
    try {
      const { payload } = await jwtVerify(token, this.#secret, {
        issuer: ISSUER,
        algorithms: ['HS256'],
        currentDate: new Date(now),
      });
      if (typeof payload.sub !== 'string' || typeof payload.exp !== 'number')
        throw unauthorized('malformed session token');
      return { address: getAddress(payload.sub), expiresAt: payload.exp * 1000 };
    } catch (error) {
      if (error instanceof HttpError) throw error;
      if (error instanceof joseErrors.JWTExpired) throw unauthorized('session expired: sign in again');
      throw unauthorized('invalid session token');
    }
  }
}
