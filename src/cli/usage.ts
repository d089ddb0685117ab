/** Usage texts of the `computalot` command; kept apart so main.ts stays about dispatch. */

export const MAIN_USAGE = `Usage: computalot <command> [options]

Commands:
  dev          Run everything in one process on this machine: embedded store
               under ./.computalot, one controller, the HTTP API.
  controller   Run a controller (HTTP API + actor host) against the store in
               cluster.yml; run several behind a load balancer with Redis.

Options:
  -h, --help       Show this help (or a command's: computalot dev --help)
  -v, --version    Print the version

Configuration: cluster.yml, COMPUTALOT_* environment variables, then flags.
See docs/configuration.md.
`;

export const DEV_USAGE = `Usage: computalot dev [--port N] [--data-dir DIR] [--shards N]

Runs the whole platform in one process with the embedded store.

Options:
  --port N          HTTP port (default 8080; 0 picks a free port)
  --data-dir DIR    Where the embedded store keeps its files (default ./.computalot)
  --shards N        Virtual shards (default 64; fixed once the data dir exists)
  -h, --help        Show this help

Environment: COMPUTALOT_* variables apply (docs/configuration.md), except the
store selection: dev always uses the embedded store.
`;

export const CONTROLLER_USAGE = `Usage: computalot controller [--config FILE] [--port N]

Runs one controller: the HTTP API and the actor host for its share of shards.

Options:
  --config FILE     cluster.yml to read (default $COMPUTALOT_CONFIG, else none)
  --port N          HTTP port, overriding the file (0 picks a free port)
  -h, --help        Show this help
`;
