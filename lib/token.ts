import { SignJWT } from 'jose';
import type { VoximplantCredentials } from './credentials.js';
import facts from './facts.json' with { type: 'json' };

export interface TokenSignerOptions {
  /** exp - iat, at most 3600 (Voximplant's limit). */
  readonly lifetimeSeconds: number;
  /** iat is set this far in the past, for clock skew between us and Voximplant. */
  readonly backdateSeconds: number;
  /** A token is replaced this long before exp rather than used up to the last second. */
  readonly refreshMarginSeconds: number;
  readonly now?: () => number;
}

export const MAX_TOKEN_LIFETIME_SECONDS = facts.voximplant.maxTokenLifetimeSeconds;

/**
 * Same account, key and secret version: a token signed for one is valid for the other. Re-reading an
 * unchanged secret after its cache TTL must not cost a new signing.
 */
function sameKey(a: VoximplantCredentials, b: VoximplantCredentials): boolean {
  return (
    a === b ||
    (a.accountId === b.accountId && a.keyId === b.keyId && a.versionId !== undefined && a.versionId === b.versionId)
  );
}

/**
 * Signs the Management API JWT (RS256, kid = key_id, iss = account_id) and reuses it until shortly
 * before it expires: signing costs about a millisecond of RSA per call, the cache costs nothing.
 */
export class TokenSigner {
  private readonly options: TokenSignerOptions;
  private readonly now: () => number;
  private cached: { credentials: VoximplantCredentials; token: string; renewAt: number } | undefined;
  private inFlight: { credentials: VoximplantCredentials; promise: Promise<string> } | undefined;

  constructor(options: TokenSignerOptions) {
    if (options.lifetimeSeconds > MAX_TOKEN_LIFETIME_SECONDS) {
      throw new RangeError(
        `Token lifetime ${options.lifetimeSeconds}s exceeds Voximplant's ${MAX_TOKEN_LIFETIME_SECONDS}s.`,
      );
    }
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  /** A valid token for these credentials; a new key (rotation) gets a new token at once. */
  token(credentials: VoximplantCredentials): Promise<string> {
    const cached = this.cached;
    if (cached && sameKey(cached.credentials, credentials) && this.now() < cached.renewAt) {
      return Promise.resolve(cached.token);
    }
    if (this.inFlight && sameKey(this.inFlight.credentials, credentials)) return this.inFlight.promise;
    const promise = this.sign(credentials).finally(() => {
      if (this.inFlight?.promise === promise) this.inFlight = undefined;
    });
    this.inFlight = { credentials, promise };
    return promise;
  }

  /** Forget the cached token if it was signed with these credentials (Voximplant refused it). */
  invalidate(refused: VoximplantCredentials): void {
    if (this.cached && sameKey(this.cached.credentials, refused)) this.cached = undefined;
  }

  private async sign(credentials: VoximplantCredentials): Promise<string> {
    const { lifetimeSeconds, backdateSeconds, refreshMarginSeconds } = this.options;
    const nowSeconds = Math.floor(this.now() / 1000);
    const iat = nowSeconds - backdateSeconds;
    const exp = iat + lifetimeSeconds;
    // Voximplant documents iss as the numeric account id; jose's JWTPayload types it as a string.
    const claims: Record<string, unknown> = { iss: credentials.accountId };
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: credentials.keyId })
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(credentials.privateKey);
    this.cached = { credentials, token, renewAt: (exp - refreshMarginSeconds) * 1000 };
    return token;
  }
}
