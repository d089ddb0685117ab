/** Usage texts of the `computalot` command; kept apart so main.ts stays about dispatch. */

export const MAIN_USAGE = `Usage: computalot <command> [options]

Commands:
  dev          Run everything in one process on this machine: embedded store
               under ./.computalot, one controller, the HTTP API.
  controller   Run a controller (HTTP API + actor host) against the store in
               cluster.yml; run several behind a load balancer with Redis.
  admin        Operator commands: issue, list and revoke API keys.
  agent        Run a node agent: connect to controller(s) over gRPC, advertise
               this machine's capacity, run the tasks it is given.

Options:
  -h, --help       Show this help (or a command's: computalot dev --help)
  -v, --version    Print the version

Configuration: cluster.yml, COMPUTALOT_* environment variables, then flags.
See docs/configuration.md.
`;

export const DEV_USAGE = `Usage: computalot dev [--port N] [--data-dir DIR] [--shards N]

Runs the whole platform in one process with the embedded store. On first
start it creates the account 'local' with a member API key, prints the key
and saves it in <data-dir>/dev-api-key (mode 0600); later starts reuse it.

Options:
  --port N          HTTP port (default 8080; 0 picks free ports for HTTP and
                    the agent gRPC endpoint)
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

export const ADMIN_USAGE = `Usage: computalot admin keys create --account NAME [--role member|viewer] [--label TEXT]
       computalot admin keys list --account NAME
       computalot admin keys revoke KEY_ID

Operator commands over the configured store (cluster.yml, COMPUTALOT_*).

  keys create   Issue an API key (flk_…) for the account NAME, creating the
                account when it does not exist. Prints the key once: only its
                hash is stored.
  keys list     The account's keys (id, role, status, created, label).
  keys revoke   Revoke a key by id; controllers stop accepting it within 5 s.

Options:
  --account NAME    Account name (or acct_… id for list)
  --role ROLE       member (default: may submit and change) or viewer (read-only)
  --label TEXT      Note stored with the key, e.g. who holds it
  --config FILE     cluster.yml to read (default $COMPUTALOT_CONFIG, else none)
  --data-dir DIR    Embedded store directory (default ./.computalot)
  --shards N        Virtual shards of the store (must match the running cluster)
  -h, --help        Show this help

With the embedded store, stop \`computalot dev\` first (the store serves one
process at a time), or use the key dev saved in <data-dir>/dev-api-key.
`;

export const AGENT_USAGE = `Usage: computalot agent [--controller HOST:PORT[,HOST:PORT…]] [--config FILE]
                        [--group NAME] [--work-dir DIR] [--agent-id ID]
                        [--cpu N] [--memory-mb N] [--storage-gb N] [--profile cpu|gpu]
                        [--sandbox auto|gvisor|nsjail|bwrap|process] [--allow-unsandboxed]
                        [--drain-timeout-s N]

Runs one node agent. It registers with a controller, heartbeats, runs what it is
dispatched, and reconnects with backoff (to the next controller in the list)
when the stream drops. SIGTERM/SIGINT: take no new work, let running tasks
finish for up to --drain-timeout-s, abort the rest, deliver results, exit.

Options:
  --controller LIST     Controller agent endpoints, tried in turn
                        (default controller.grpc.host:port from the config)
  --config FILE         cluster.yml to read (default $COMPUTALOT_CONFIG, else none)
  --group NAME          Take cpu/memory/storage/profile/gpus/sandbox/labels from
                        this agents[] group of the config
  --work-dir DIR        Task and project cache directory; its free space is the
                        storage offered (default <store.data_dir>/agent)
  --agent-id ID         Agent id (default <hostname>-<pid>-<random>)
  --cpu N               CPU cores to offer (default: all, os.availableParallelism)
  --memory-mb N         Memory to offer in MiB (default: total memory)
  --storage-gb N        Storage to offer in GiB (default: free space of the work dir)
  --profile cpu|gpu     Resource profile (default gpu when GPUs are found)
  --sandbox KIND        Sandbox backend; auto offers every available one (default auto)
  --allow-unsandboxed   Allow the process backend (no isolation) for project code
  --drain-timeout-s N   Seconds running tasks may finish after SIGTERM (default 30)
  -h, --help            Show this help

Environment: COMPUTALOT_AGENT_TOKEN (or controller.agent_token) is the shared
secret the controller requires; GPUs are detected with nvidia-smi unless the
config group declares them. See docs/agents.md.
`;
