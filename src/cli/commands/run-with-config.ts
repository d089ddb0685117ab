/** The part of `dev` and `controller` after flags are parsed: config, logger, serve, report. */
import { loadConfig, type LoadConfigOptions } from '../../shared/config.js';
import { ConfigError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import type { CliOutput } from '../main.js';
import type { ServeControllerOptions } from './serve-controller.js';

/**
 * Loads the configuration and serves a controller with it. Configuration and
 * startup failures are printed as one readable message (exit 1), not a stack.
 *
 * @param notices warnings about how flags and environment were interpreted, logged once the logger exists.
 * @param serveOptions command-specific switches passed on to `serveController`.
 */
export async function runControllerWithConfig(
  command: string,
  loadOptions: LoadConfigOptions,
  output: CliOutput,
  notices: readonly string[] = [],
  serveOptions: Pick<ServeControllerOptions, 'bootstrapDevApiKey' | 'localAgent'> = {},
): Promise<number> {
  let config;
  try {
    config = loadConfig(loadOptions);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    output.stderr(`computalot ${command}: invalid configuration\n${error.message}\n`);
    return 1;
  }
  // No controllerId in the base: the controller node's child logger adds it, and JSON lines should not repeat a key.
  const logger = createLogger({ level: config.log_level, name: 'computalot' });
  for (const notice of notices) logger.warn(notice);
  try {
    // Loaded only now so a configuration mistake is reported without loading the whole runtime.
    const { serveController } = await import('./serve-controller.js');
    return await serveController({ ...serveOptions, config, logger, output });
  } catch (error) {
    logger.fatal({ err: error }, 'controller failed to start');
    output.stderr(`computalot ${command}: ${(error as Error).message}\n`);
    return 1;
  }
}
