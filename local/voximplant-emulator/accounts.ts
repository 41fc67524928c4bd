/**
 * Accounts, their service-account keys (public halves only) and their rules. A private key is handed
 * out once, in the credentials of the call that generated it, and never kept.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { registerGeneratedSecret } from '../secret-register.js';
import type { VerificationKey } from './auth.js';
import { DEFAULT_ROLE, keyRole } from './roles.js';
import type {
  AccountInfo,
  AddedKey,
  AddKeyOptions,
  AddRuleOptions,
  CreateAccountOptions,
  CreatedAccount,
  Credentials,
  KeyRole,
  RuleInfo,
  ScenarioKind,
} from './types.js';

/** The account an operation names does not exist (the control API answers 404). */
export class UnknownAccountError extends Error {
  constructor(readonly accountId: number) {
    super(`unknown account ${accountId}`);
    this.name = 'UnknownAccountError';
  }
}

interface Account {
  readonly accountId: number;
  readonly email: string;
  readonly applicationId: number;
  readonly keyIds: Set<string>;
  readonly rules: Map<number, RuleInfo>;
}

interface StoredKey extends VerificationKey {
  readonly pem: string;
  role: KeyRole;
}

/** What a session needs to know about its rule. */
export interface RuleContext {
  readonly ruleName: string;
  readonly scenarioKind: ScenarioKind;
  readonly applicationId: number;
  readonly applicationName: string;
}

/** Ids far from small numbers so that a test passing a literal like 1 or 123 does not hit one by luck. */
const FIRST_ACCOUNT_ID = 7_000_001;
const FIRST_RULE_ID = 5_000_001;
const FIRST_APPLICATION_ID = 9_000_001;

export class AccountRegistry {
  private readonly accountsById = new Map<number, Account>();
  private readonly keys = new Map<string, StoredKey>();
  private nextAccountId = FIRST_ACCOUNT_ID;
  private nextRuleId = FIRST_RULE_ID;
  private nextApplicationId = FIRST_APPLICATION_ID;

  createAccount(options: CreateAccountOptions = {}): CreatedAccount {
    const accountId = options.accountId ?? this.freeAccountId();
    if (!Number.isSafeInteger(accountId) || accountId <= 0)
      throw new RangeError('accountId must be a positive integer');
    if (this.accountsById.has(accountId)) throw new Error(`account ${accountId} already exists`);
    const ruleCount = options.ruleCount ?? 1;
    if (options.ruleIds === undefined && (!Number.isInteger(ruleCount) || ruleCount < 1)) {
      throw new RangeError('ruleCount must be a positive integer');
    }
    const role = options.role === undefined ? DEFAULT_ROLE : keyRole(options.role);
    const scenarioKind = options.scenarioKind === undefined ? 'reference' : scenarioKindOf(options.scenarioKind);
    // Checked up front so that a bad list cannot leave a half-created account behind.
    if (options.ruleIds !== undefined) {
      const ids = options.ruleIds;
      if (
        ids.length === 0 ||
        ids.some((id) => !Number.isSafeInteger(id) || id <= 0) ||
        new Set(ids).size !== ids.length
      ) {
        throw new RangeError('ruleIds must be distinct positive integers');
      }
    }

    const account: Account = {
      accountId,
      email: options.email ?? `account-${accountId}@emulator.invalid`,
      applicationId: this.nextApplicationId++,
      keyIds: new Set(),
      rules: new Map(),
    };
    this.accountsById.set(accountId, account);
    const scenario = options.withoutScenario !== true;
    const ruleIds = (options.ruleIds ?? Array.from({ length: ruleCount }, () => undefined)).map((ruleId) =>
      this.addRule(accountId, { ruleId, scenario, scenarioKind }),
    );
    const key = this.addKey(accountId, { role });
    // addKey without a public key always generates credentials.
    const credentials = key.credentials as Credentials;
    return {
      credentials,
      accountId,
      keyId: key.keyId,
      ruleId: ruleIds[0],
      ruleIds,
      publicKey: key.publicKey,
      role,
    };
  }

  addKey(accountId: number, options: AddKeyOptions = {}): AddedKey {
    const account = this.account(accountId);
    const keyId = options.keyId ?? randomUUID();
    if (this.keys.has(keyId)) throw new Error(`key ${keyId} already exists`);
    const role = options.role === undefined ? DEFAULT_ROLE : keyRole(options.role);

    let publicKey: KeyObject;
    let privatePem: string | undefined;
    if (options.publicKey !== undefined) {
      publicKey = createPublicKey(options.publicKey);
    } else {
      const pair = generateRsaKeyPair();
      publicKey = createPublicKey(pair.publicKey);
      privatePem = pair.privateKey;
    }
    // An EC key would let an ECDSA signature pass the RS256 check, so only RSA keys are registered.
    if (publicKey.asymmetricKeyType !== 'rsa') throw new Error('only RSA public keys can sign RS256 tokens');
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();

    this.keys.set(keyId, { accountId, publicKey, pem, role });
    account.keyIds.add(keyId);
    const added: AddedKey = { accountId, keyId, publicKey: pem, role };
    if (privatePem === undefined) return added;
    const credentials: Credentials = {
      account_id: accountId,
      account_email: account.email,
      key_id: keyId,
      private_key: privatePem,
    };
    return { ...added, credentials };
  }

  removeKey(keyId: string): boolean {
    const key = this.keys.get(keyId);
    if (!key) return false;
    this.keys.delete(keyId);
    this.accountsById.get(key.accountId)?.keyIds.delete(keyId);
    return true;
  }

  setKeyRole(keyId: string, role: KeyRole): boolean {
    const checked = keyRole(role);
    const key = this.keys.get(keyId);
    if (!key) return false;
    key.role = checked;
    return true;
  }

  /** The role of a registered key (read at each request, so a role change applies to the next one). */
  keyRole(keyId: string): KeyRole | undefined {
    return this.keys.get(keyId)?.role;
  }

  addRule(accountId: number, options: AddRuleOptions = {}): number {
    const account = this.account(accountId);
    const ruleId = options.ruleId ?? this.freeRuleId();
    if (!Number.isSafeInteger(ruleId) || ruleId <= 0) throw new RangeError('ruleId must be a positive integer');
    if (account.rules.has(ruleId)) throw new Error(`rule ${ruleId} already exists for account ${accountId}`);
    const scenarioKind = options.scenarioKind === undefined ? 'reference' : scenarioKindOf(options.scenarioKind);
    account.rules.set(ruleId, {
      ruleId,
      name: options.name ?? `rule-${ruleId}`,
      scenario: options.scenario ?? true,
      scenarioKind,
    });
    return ruleId;
  }

  findKey(keyId: string): VerificationKey | undefined {
    return this.keys.get(keyId);
  }

  findRule(accountId: number, ruleId: number): RuleInfo | undefined {
    return this.accountsById.get(accountId)?.rules.get(ruleId);
  }

  /** What a session started on this rule records (undefined for an unknown rule). */
  ruleContext(accountId: number, ruleId: number): RuleContext | undefined {
    const account = this.accountsById.get(accountId);
    const rule = account?.rules.get(ruleId);
    if (!account || !rule) return undefined;
    return {
      ruleName: rule.name,
      scenarioKind: rule.scenarioKind,
      applicationId: account.applicationId,
      applicationName: applicationName(account),
    };
  }

  hasAccount(accountId: number): boolean {
    return this.accountsById.has(accountId);
  }

  list(): AccountInfo[] {
    return [...this.accountsById.values()].map((account) => ({
      accountId: account.accountId,
      email: account.email,
      applicationId: account.applicationId,
      applicationName: applicationName(account),
      keyIds: [...account.keyIds],
      keys: [...account.keyIds].map((keyId) => ({ keyId, role: this.keys.get(keyId)?.role ?? DEFAULT_ROLE })),
      rules: [...account.rules.values()].map((rule) => ({ ...rule })),
    }));
  }

  clear(): void {
    this.accountsById.clear();
    this.keys.clear();
  }

  private account(accountId: number): Account {
    const account = this.accountsById.get(accountId);
    if (!account) throw new UnknownAccountError(accountId);
    return account;
  }

  private freeAccountId(): number {
    while (this.accountsById.has(this.nextAccountId)) this.nextAccountId++;
    return this.nextAccountId++;
  }

  /** Rule ids are unique across accounts, as on the real platform, so a foreign rule is a real 147 case. */
  private freeRuleId(): number {
    const taken = (id: number) => [...this.accountsById.values()].some((account) => account.rules.has(id));
    while (taken(this.nextRuleId)) this.nextRuleId++;
    return this.nextRuleId++;
  }
}

function applicationName(account: Account): string {
  return `app.account-${account.accountId}.voximplant.com`;
}

export function scenarioKindOf(value: unknown): ScenarioKind {
  if (value === 'reference' || value === 'example') return value;
  throw new RangeError(`scenarioKind must be 'reference' or 'example', not ${JSON.stringify(value)}`);
}

/** A fresh RSA-2048 pair as PEM: PKCS#8 private key (what the control panel issues) and SPKI public key. */
export function generateRsaKeyPair(): { privateKey: string; publicKey: string } {
  const pair = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  registerGeneratedSecret(pair.privateKey);
  return pair;
}
