/**
 * Sign-In with Ethereum (EIP-4361) and short-lived sessions.
 *
 * 1. `POST /auth/nonce` issues a single-use random nonce (kept in memory for `nonceTtlMs`), bound
 *    to the asking client (IP, or IPv6 /64), at most `noncesPerClient` outstanding per client.
 * 2. The wallet signs an EIP-4361 message carrying that nonce, the portal's domain and URI, this
 *    chain's id (`personal_sign`, so any EIP-1193 wallet works).
 * 3. `POST /auth/session` checks the domain and uri (an allowed portal origin: configured, never
 *    taken from the request), chain id, nonce (same client; consumed), `issuedAt` /
 *    `expirationTime` / `notBefore`, the signature (siwe), and returns an HS256 JWT (jose) valid
 *    for `sessionTtlSec`.
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
  /**
   * Origins (`https://portal.example.org`) a message may come from: its `domain` must be the host of
   * one of them and its `uri` on that same origin. Never the request's Host header.
   */
  origins: () => readonly string[];
  /** Also accept any loopback origin (`http://localhost:*`, `http://127.0.0.1:*`): loopback development stacks. */
  anyLoopback?: boolean;
  chainId: () => Promise<number>;
  statement?: string;
  /** Chain provider: lets siwe check EIP-1271 signatures of smart-contract wallets (EOAs need none). */
  provider?: unknown;
  /** Outstanding nonces per client (IP, or IPv6 /64); the oldest goes when a client asks for more. */
  noncesPerClient?: number;
  /** Outstanding nonces in all (memory bound); the oldest goes first. */
  maxNonces?: number;
  /** Clock skew tolerated for `issuedAt` (ms). */
  skewMs?: number;
}

export interface VerifiedSession {
  address: string;
  expiresAt: number;
}

const ISSUER = 'urn:ehr-anchor:fhir-bridge';
export const LOOPBACK_ORIGIN = /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/;

/**
 * The key nonces are counted and bound under: the IPv4 address, or the /64 prefix of an IPv6
 * address (one host usually has a whole /64, so per-address caps would mean nothing).
 */
export function clientKey(ip: string): string {
  const v4 = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (v4) return v4[1]!;
  if (!ip.includes(':')) return ip;
  const [head, tail = ''] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** `https://portal.example.org` from an origin, or from a bare authority (`portal.example.org` → https). */
export function normalizeOrigin(value: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`;
  const url = new URL(withScheme);
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new TypeError(`${value}: not an http(s) origin`);
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password)
    throw new TypeError(`${value}: an origin has no path, query, fragment or user`);
  return url.origin;
}

interface Nonce {
  expiresAt: number;
  issuedAt: number;
  client: string;
}

export class SessionIssuer {
  readonly #secret: Uint8Array;
  /** Outstanding nonces, oldest first (Map order). */
  readonly #nonces = new Map<string, Nonce>();
  readonly #perClient = new Map<string, string[]>();
  readonly ttlSec: number;
  readonly nonceTtlMs: number;
  readonly statement: string;
  readonly noncesPerClient: number;
  readonly maxNonces: number;
  readonly skewMs: number;

  constructor(readonly options: SessionOptions) {
    this.#secret = options.secret ?? new Uint8Array(randomBytes(32));
    if (this.#secret.length < 32) throw new Error('session secret must have at least 32 bytes');
    this.ttlSec = options.sessionTtlSec ?? 900;
    this.nonceTtlMs = options.nonceTtlMs ?? 5 * 60_000;
    this.statement = options.statement ?? 'Sign in to read health records you are allowed to see.';
    this.noncesPerClient = options.noncesPerClient ?? 16;
    this.maxNonces = options.maxNonces ?? 100_000;
    this.skewMs = options.skewMs ?? 60_000;
  }

  #drop(nonce: string): void {
    const entry = this.#nonces.get(nonce);
    if (!entry) return;
    this.#nonces.delete(nonce);
    const list = this.#perClient.get(entry.client);
    if (!list) return;
    const i = list.indexOf(nonce);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#perClient.delete(entry.client);
  }

  /**
   * A fresh nonce (128 bits, hex), valid once, for the client at `ip` only. A client holds at most
   * `noncesPerClient` (asking for more drops its oldest), and all clients together `maxNonces`
   * (the oldest go first): a flood of requests can no longer lock sign-in for everyone.
   */
  nonce(ip: string, now = Date.now()): { nonce: string; expiresAt: number } {
    for (const [n, entry] of this.#nonces) {
      if (entry.expiresAt > now) break; // insertion order = expiry order
      this.#drop(n);
    }
    const client = clientKey(ip);
    const mine = this.#perClient.get(client) ?? [];
    while (mine.length >= this.noncesPerClient) this.#drop(mine[0]!);
    while (this.#nonces.size >= this.maxNonces) this.#drop(this.#nonces.keys().next().value!);
    const nonce = randomBytes(16).toString('hex');
    const expiresAt = now + this.nonceTtlMs;
    this.#nonces.set(nonce, { expiresAt, issuedAt: now, client });
    const list = this.#perClient.get(client) ?? [];
    list.push(nonce);
    this.#perClient.set(client, list);
    return { nonce, expiresAt };
  }

  /** Outstanding nonces (tests, metrics). */
  get pendingNonces(): number {
    return this.#nonces.size;
  }

  /** The origins messages may name, in the order configured. */
  origins(): readonly string[] {
    return this.options.origins();
  }

  /** The origin a challenge proposes: the browser's (`Origin`) when allowed, else the first configured. */
  challengeOrigin(requestOrigin: string | undefined): string | undefined {
    if (requestOrigin && this.acceptsOrigin(requestOrigin)) return requestOrigin;
    return this.origins()[0];
  }

  acceptsOrigin(origin: string): boolean {
    return (
      this.origins().includes(origin) || (this.options.anyLoopback === true && LOOPBACK_ORIGIN.test(origin))
    );
  }

  /**
   * The message's `domain` must be the host of an allowed origin and its `uri` on that same
   * origin (a page on evil.example cannot produce a message for a portal, and no header of the
   * request can make another domain acceptable).
   */
  acceptsMessage(domain: string, uri: string): boolean {
    let origin: string;
    try {
      origin = new URL(uri).origin;
    } catch {
      return false;
    }
    if (!this.acceptsOrigin(origin)) return false;
    return new URL(origin).host === domain;
  }

  /** Verifies a signed EIP-4361 message from the client at `ip`; consumes its nonce; returns a session token. */
  async signIn(
    message: string,
    signature: string,
    ip: string,
    now = Date.now(),
  ): Promise<{ token: string; address: string; expiresAt: number }> {
    let parsed: SiweMessage;
    try {
      parsed = new SiweMessage(message);
    } catch {
      throw unauthorized('not an EIP-4361 message');
    }
    if (!this.acceptsMessage(parsed.domain, parsed.uri))
      throw unauthorized('the message is for another site (domain and uri must be an allowed portal origin)');
    if (parsed.chainId !== (await this.options.chainId()))
      throw unauthorized('the message is for another chain');
    const nonce = this.#nonces.get(parsed.nonce);
    if (nonce === undefined || nonce.expiresAt <= now) throw unauthorized('unknown, used or expired nonce');
    if (nonce.client !== clientKey(ip)) throw unauthorized('the nonce was issued to another client');
    // Consume before the (async) signature check, so a replay racing this request also fails.
    this.#drop(parsed.nonce);
    const issuedAt = Date.parse(parsed.issuedAt ?? '');
    if (!Number.isFinite(issuedAt) || issuedAt > now + this.skewMs || issuedAt < nonce.issuedAt - this.skewMs)
      throw unauthorized('issuedAt is not the time of this sign-in');
    if (parsed.expirationTime && !(Date.parse(parsed.expirationTime) > now))
      throw unauthorized('the message has expired');
    if (parsed.notBefore && !(Date.parse(parsed.notBefore) <= now + this.skewMs))
      throw unauthorized('the message is not valid yet');
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
