/** SIGINT/SIGTERM handling for long-running commands. */
import type { Logger } from '../../shared/logger.js';

/** A pending stop request. */
export interface StopSignal {
  /** Resolves with the first SIGINT or SIGTERM. */
  readonly received: Promise<NodeJS.Signals>;
  /** Removes the handlers (after a graceful stop, or when startup fails). */
  dispose(): void;
}

/**
 * Listens for SIGINT/SIGTERM. The first asks for a graceful stop; a second one
 * while stopping exits at once — the operator pressing Ctrl-C twice means it.
 */
export function waitForStopSignal(logger: Logger): StopSignal {
  let stopping = false;
  let resolveReceived: (signal: NodeJS.Signals) => void = () => undefined;
  const received = new Promise<NodeJS.Signals>((resolve) => (resolveReceived = resolve));
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal while stopping; exiting now');
      process.exit(130);
    }
    stopping = true;
    resolveReceived(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    received,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
