import type { AccountInput, CreditReason, QuoteKind } from './account.events.js';

export const MICROS_PER_USD = 1_000_000;

export type LedgerEntry = {
  /** `<accountId>.l<seq>`: deterministic, so a replayed transition writes the same id. */
  id: string;
  kind: 'credit' | 'debit';
  amountMicros: number;
  balanceAfterMicros: number;
  reason: CreditReason | 'job_settlement';
  reference: string | null;
  jobId: string | null;
  holdId: string | null;
  quoteId: string | null;
  at: number;
};

export type HoldStatus = 'active' | 'settled' | 'released' | 'rejected';

export type Hold = {
  id: string;
  jobId: string;
  amountMicros: number;
  status: HoldStatus;
  /** What settlement charged (≤ amount); null until settled. */
  settledMicros: number | null;
  /** Why an active hold ended without a charge, or why it was refused. */
  closeReason: 'released' | 'expired' | 'insufficient_funds' | 'invalid_amount' | null;
  createdAt: number;
  expiresAt: number | null;
  closedAt: number | null;
};

export type Quote = {
  id: string;
  kind: QuoteKind;
  amountMicros: number;
  status: 'open' | 'paid' | 'expired';
  createdAt: number;
  expiresAt: number;
  paidAt: number | null;
  reference: string | null;
};

/**
 * Plain JSON (the runtime persists it as is). The ledger, holds and quotes
 * are kept whole for now; an account with a long history will want old
 * entries rolled into a checkpoint entry and moved to the event log — the
 * balance does not depend on them (`balanceMicros` is kept, not recomputed).
 */
export type AccountContext = AccountInput & {
  /** Credits minus settled debits. */
  balanceMicros: number;
  ledger: LedgerEntry[];
  holds: Hold[];
  quotes: Quote[];
  nextLedgerSeq: number;
};

export function initialAccountContext(input: AccountInput): AccountContext {
  return { ...input, balanceMicros: 0, ledger: [], holds: [], quotes: [], nextLedgerSeq: 1 };
}

export function heldMicros(context: AccountContext): number {
  return context.holds.reduce((sum, hold) => sum + (hold.status === 'active' ? hold.amountMicros : 0), 0);
}

export function availableMicros(context: AccountContext): number {
  return context.balanceMicros - heldMicros(context);
}

export function findHold(context: AccountContext, holdId: string): Hold | undefined {
  return context.holds.find((hold) => hold.id === holdId);
}

export function findQuote(context: AccountContext, quoteId: string): Quote | undefined {
  return context.quotes.find((quote) => quote.id === quoteId);
}

export function isPositiveMicros(amount: unknown): amount is number {
  return typeof amount === 'number' && Number.isSafeInteger(amount) && amount > 0;
}

export function hasReference(context: AccountContext, reference: string): boolean {
  return context.ledger.some((entry) => entry.reference === reference);
}

/** Appends a ledger entry and moves the balance with it. */
export function post(
  context: AccountContext,
  entry: Omit<LedgerEntry, 'id' | 'balanceAfterMicros'>,
): Pick<AccountContext, 'ledger' | 'balanceMicros' | 'nextLedgerSeq'> {
  const balanceMicros = context.balanceMicros + (entry.kind === 'credit' ? entry.amountMicros : -entry.amountMicros);
  return {
    balanceMicros,
    nextLedgerSeq: context.nextLedgerSeq + 1,
    ledger: [...context.ledger, { ...entry, id: `${context.accountId}.l${context.nextLedgerSeq}`, balanceAfterMicros: balanceMicros }],
  };
}

export function updateHold(context: AccountContext, holdId: string, change: Partial<Hold>): Hold[] {
  return context.holds.map((hold) => (hold.id === holdId ? { ...hold, ...change } : hold));
}

export function updateQuote(context: AccountContext, quoteId: string, change: Partial<Quote>): Quote[] {
  return context.quotes.map((quote) => (quote.id === quoteId ? { ...quote, ...change } : quote));
}

export const toUsd = (micros: number) => micros / MICROS_PER_USD;
