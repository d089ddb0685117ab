/**
 * Accounts as the credential layer sees them: id, name, creation time, kept in
 * KV with a unique name index. Creating one also opens the account actor
 * (ledger, holds), which owns everything about money.
 */
import { ENTITY_KIND } from '../actors/index.js';
import { newId } from '../shared/ids.js';
import type { Store } from '../store/index.js';
import { accountOpenEventId, type ActorMailbox } from './account-events.js';
import { accountNameIndexSchema, accountRecordSchema, credentialKeys, parseRecord, toJson, type AccountRecord } from './credential-records.js';
import { AccountNotFoundError, InvalidAccountNameError } from './errors.js';

const ACCOUNT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const ACCOUNT_ID = /^acct_[a-z0-9]+$/;

/** An account and whether this call created it. */
export interface EnsuredAccount {
  readonly account: AccountRecord;
  /** True when this call wrote the account record (a fresh account, or one a crashed call left half-made). */
  readonly created: boolean;
}

export class AccountDirectory {
  constructor(
    private readonly store: Store,
    private readonly mailbox: ActorMailbox,
    private readonly now: () => number,
  ) {}

  /**
   * The account named `name`, created when there is none. Safe to retry and
   * to race: the name is claimed with a compare-and-set, the loser reads the
   * winner's account, and a creation interrupted half-way is completed by the
   * next call (same id, same `account.open` event id).
   */
  async ensureAccount(name: string): Promise<EnsuredAccount> {
    if (!ACCOUNT_NAME.test(name)) throw new InvalidAccountNameError(name);
    const nameKey = credentialKeys.accountName(name);
    const candidate = newId('acct');
    const claimed = await this.store.kvSet(nameKey, { id: candidate }, { ifVersion: 0 });
    const id = claimed ? candidate : await this.idOfClaimedName(nameKey, name);

    const existing = await this.get(id);
    if (existing) return { account: existing, created: false };
    // Order matters for crash safety: the actor event is sent before the record
    // is written, so an account record always means its actor was opened.
    const account: AccountRecord = { id, name, created_at: new Date(this.now()).toISOString() };
    await this.openAccountActor(id, name);
    // A racing call may complete the same account meanwhile: one record wins, both return it.
    if (await this.store.kvSet(credentialKeys.account(id), toJson(account), { ifVersion: 0 })) return { account, created: true };
    const winner = await this.get(id);
    if (!winner) throw new AccountNotFoundError(name);
    return { account: winner, created: false };
  }

  /** The account with this id, or null. */
  async get(accountId: string): Promise<AccountRecord | null> {
    const entry = await this.store.kvGet(credentialKeys.account(accountId));
    return parseRecord(accountRecordSchema, entry?.value);
  }

  /** The account named `name`, or null. */
  async findByName(name: string): Promise<AccountRecord | null> {
    if (!ACCOUNT_NAME.test(name)) return null;
    const index = parseRecord(accountNameIndexSchema, (await this.store.kvGet(credentialKeys.accountName(name)))?.value);
    return index ? this.get(index.id) : null;
  }

  /**
   * The account `nameOrId` names: an `acct_…` id is looked up as an id first,
   * anything else (or an id that matches nothing) as a name.
   *
   * @throws AccountNotFoundError
   */
  async resolve(nameOrId: string): Promise<AccountRecord> {
    const byId = ACCOUNT_ID.test(nameOrId) ? await this.get(nameOrId) : null;
    const account = byId ?? (await this.findByName(nameOrId));
    if (!account) throw new AccountNotFoundError(nameOrId);
    return account;
  }

  private async idOfClaimedName(nameKey: string, name: string): Promise<string> {
    const index = parseRecord(accountNameIndexSchema, (await this.store.kvGet(nameKey))?.value);
    // Only reachable if someone deleted or corrupted the index between our CAS and this read.
    if (!index) throw new AccountNotFoundError(name);
    return index.id;
  }

  private async openAccountActor(accountId: string, name: string): Promise<void> {
    const message = this.mailbox.message({ kind: ENTITY_KIND.account, id: accountId }, { type: 'account.open', at: this.now(), label: name }, accountOpenEventId(accountId));
    await this.mailbox.send([message]);
  }
}
