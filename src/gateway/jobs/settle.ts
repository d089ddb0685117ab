/**
 * How long submit, batch submit and cancel wait for the actor to apply their
 * event before answering. The event is durable already; waiting only lets the
 * answer show the job as it now is.
 */
export const SETTLE_WAIT_MS = 3_000;

/** Polls `probe` until it is true or {@link SETTLE_WAIT_MS} has passed; never throws on timeout. */
export async function settle(probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + SETTLE_WAIT_MS;
  while (!(await probe()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}
