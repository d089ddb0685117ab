import type { JsonObject, JsonValue } from '../../shared/json.js';
import type { ActorKind, PersistedActorState } from '../runtime/actor-kind.js';
import { ENTITY_KIND, isoOrNull } from '../shared/ids.js';
import { readStringOrNull } from '../shared/json-fields.js';
import type { AccountInput } from './account.events.js';
import { availableMicros, heldMicros, toUsd, type AccountContext } from './account.logic.js';
import { accountMachine, type AccountMachine } from './account.machine.js';

/** Builds the account's input from `account.open`; any other event to a missing account is dropped. */
export function accountInputFromCreateEvent(id: string, event: JsonObject & { type: string; at: number }): AccountInput | undefined {
  if (event.type !== 'account.open') return undefined;
  return { accountId: id, label: readStringOrNull(event, 'label'), openedAt: event.at };
}

/**
 * The billing view: the fields of `GET /api/v1/account/balance` at the top,
 * with the holds, ledger and quotes lists the other billing endpoints page
 * through (newest first).
 */
export function accountReadModel(state: PersistedActorState, id: string): JsonValue {
  const c = state.context as unknown as AccountContext;
  return {
    account_id: id,
    currency: 'USD',
    ledger_balance_usd: toUsd(c.balanceMicros),
    held_usd: toUsd(heldMicros(c)),
    available_usd: toUsd(availableMicros(c)),
    active_hold_count: c.holds.filter((hold) => hold.status === 'active').length,
    open_quote_count: c.quotes.filter((quote) => quote.status === 'open').length,
    holds: [...c.holds].reverse().map((hold) => ({
      id: hold.id,
      job_id: hold.jobId,
      status: hold.status,
      amount_usd: toUsd(hold.amountMicros),
      settled_usd: hold.settledMicros === null ? null : toUsd(hold.settledMicros),
      close_reason: hold.closeReason,
      created_at: isoOrNull(hold.createdAt),
      expires_at: isoOrNull(hold.expiresAt),
      settled_at: isoOrNull(hold.closedAt),
    })),
    ledger: [...c.ledger].reverse().map((entry) => ({
      id: entry.id,
      kind: entry.kind,
      amount_usd: toUsd(entry.amountMicros),
      balance_after_usd: toUsd(entry.balanceAfterMicros),
      reason: entry.reason,
      reference: entry.reference,
      job_id: entry.jobId,
      hold_id: entry.holdId,
      quote_id: entry.quoteId,
      created_at: isoOrNull(entry.at),
    })),
    quotes: [...c.quotes].reverse().map((quote) => ({
      id: quote.id,
      kind: quote.kind,
      status: quote.status,
      amount_usd: toUsd(quote.amountMicros),
      created_at: isoOrNull(quote.createdAt),
      expires_at: isoOrNull(quote.expiresAt),
      paid_at: isoOrNull(quote.paidAt),
    })),
  };
}

export const accountKind: ActorKind<AccountMachine> = {
  kind: ENTITY_KIND.account,
  machine: accountMachine,
  routingKey(id) {
    return id;
  },
  inputFromCreateEvent: accountInputFromCreateEvent,
  readModel: accountReadModel,
};
