#include "cli/commands.h"

#include <functional>
#include <iostream>
#include <limits>

#include "CLI/CLI.hpp"
#include "cli/artifact_commands.h"
#include "cli/compute_commands.h"
#include "cli/context.h"
#include "cli/environment_commands.h"
#include "cli/extend_commands.h"
#include "cli/help.h"
#include "cli/model_commands.h"
#include "cli/policy_commands.h"
#include "cli/query_commands.h"
#include "cli/remote_vm_commands.h"
#include "cli/report_commands.h"
#include "cli/run_command.h"
#include "cli/server_commands.h"
#include "cli/slurm_commands.h"
#include "cli/validate_command.h"
#include "cli/watch_command.h"
#include "rpc/admin_client.h"

namespace sweep::cli {
namespace {

void AddOutputFlags(CLI::App* cmd, GlobalOptions& g, bool with_csv) {
  cmd->add_flag("--json", g.json, "Print JSON (stable field names: docs/json.md)");
  if (with_csv) cmd->add_flag("--csv", g.csv, "Print CSV");
}

void AddComputeFlags(CLI::App* cmd, ComputeArgs& c, bool create) {
  cmd->add_option("name", c.name, "Target name (2-16 letters, digits, '-')")->required();
  if (create) {
    cmd->add_option("--type", c.type, "amlcompute or remotevm")->capture_default_str();
    cmd->add_option("--provider", c.provider,
                    "Node provider: local (default for amlcompute) or slurm; ssh for remotevm");
  }
  cmd->add_option("--min-nodes", c.min_nodes, "Nodes kept even when idle");
  cmd->add_option("--max-nodes", c.max_nodes, "Most nodes the cluster scales to");
  cmd->add_option("--vm-size", c.vm_size, "Node size label (e.g. STANDARD_D2_V2)");
  cmd->add_option("--vm-priority", c.vm_priority, "dedicated or lowpriority");
  cmd->add_option("--idle-seconds-before-scaledown", c.idle_seconds_before_scaledown,
                  "Idle time after which a node above min-nodes is stopped");
  // Slurm targets (--provider slurm): cli/slurm_commands.h.
  AddSlurmFlags(cmd, c.slurm);
}

// --tls-ca: the PEM roots that verify a controller serving TLS.
void AddTlsCaFlag(CLI::App* cmd, GlobalOptions& g) {
  cmd->add_option("--tls-ca", g.tls_ca,
                  "Verify the server over TLS with this CA (or self-signed) certificate, PEM")
      ->envname("SWEEP_TLS_CA");
}

// --tls-cert/--tls-key (and --tls-ca for the workers it starts): serve TLS.
void AddTlsServeFlags(CLI::App* cmd, GlobalOptions& g) {
  cmd->add_option("--tls-cert", g.tls_cert,
                  "Serve TLS with this certificate (PEM; with --tls-key). Workers and clients "
                  "then need --tls-ca");
  cmd->add_option("--tls-key", g.tls_key, "The private key of --tls-cert (PEM)");
  cmd->add_option("--tls-ca", g.tls_ca,
                  "The CA certificate the workers this controller starts verify it with "
                  "(default: --tls-cert itself, for a self-signed certificate)");
}

// --server/--token-file: run a query against a `sweep server` instead of the workspace,
// or (`change`) make a change there.
void AddServerFlags(CLI::App* cmd, GlobalOptions& g, bool change = false) {
  cmd->add_option("--server", g.server,
                  change ? "Make the change through the `sweep server` at host:port (default: "
                           "the controller serving the workspace, if one does)"
                         : "Ask the `sweep server` at host:port instead of reading the workspace");
  cmd->add_option("--token-file", g.token_file,
                  "The server's token (default $SWEEP_TOKEN_FILE, else <workspace>/token)");
  AddTlsCaFlag(cmd, g);
}

// Every command's arguments: CLI11 writes into them while parsing, so they outlive it.
struct CommandArgs {
  RunArgs run;
  WorkerArgs worker;
  std::string spec_path;
  std::string sweep_id;
  TrialsArgs trials;
  int64_t trial_id = 0;
  std::string metric_name;
  ReplayArgs replay;
  ServerArgs server;
  std::string submit_spec;
  std::vector<std::string> submit_warm_start;
  ComputeArgs compute;
  std::string compute_name;
  AttachArgs attach;
  ArtifactsArgs artifacts;
  EnvironmentArgs env;
  std::string env_ref;
  ModelRegisterArgs reg;
  std::string model_ref;
  std::string download_to;
  WatchArgs watch;
  ReportArgs report;
  PlotArgs plot;
  std::string completion_shell;
  EnqueueArgs enqueue;
  ExtendArgs extend;
};

// What the parsed command will run.
using Action = std::function<int()>;

// `sweep run`, `sweep worker` and `sweep validate`.
void AddRunCommands(CLI::App& app, GlobalOptions& g, CommandArgs& a, Action& action) {
  auto* run_cmd = app.add_subcommand("run", "Run a sweep spec to completion on this host");
  run_cmd->add_option("spec", a.run.spec_path, "Sweep spec (Azure ML v2 sweep job YAML)")
      ->required();
  run_cmd
      ->add_option("--listen", a.run.listen,
                   "Address the controller listens on, so workers on other machines can "
                   "join (e.g. 0.0.0.0:7070)")
      ->capture_default_str();
  run_cmd->add_flag("--quiet,-q", a.run.quiet, "Print only the sweep id and the summary");
  run_cmd->add_flag("--plain", a.run.plain,
                    "Print log lines instead of the live view, also on a terminal");
  run_cmd
      ->add_option("--node-wait-seconds", a.run.node_wait_seconds,
                   "End the sweep failed when its target gets no node for this long (0 = "
                   "wait for ever; the spec's limits.node_wait_timeout wins)")
      ->capture_default_str();
  run_cmd
      ->add_option("--lease-seconds", a.run.lease_seconds,
                   "How long a node keeps a trial without a heartbeat before the trial "
                   "is retried elsewhere")
      ->capture_default_str();
  run_cmd
      ->add_option("--snapshot-max-mb", a.run.snapshot_max_mb,
                   "Largest snapshot of trial.code, in MB (leave files out with "
                   ".amlignore / .gitignore)")
      ->capture_default_str();
  run_cmd
      ->add_option("--artifact-max-mb", a.run.artifact_max_mb,
                   "Largest outputs/ of one trial attempt that is stored, in MB")
      ->capture_default_str();
  run_cmd->add_option("--warm-start", a.run.warm_start,
                      "An earlier sweep (id or prefix) whose finished trials the sampler learns "
                      "from; repeatable, added to the spec's warm_start.sweeps");
  AddTlsServeFlags(run_cmd, g);
  AddOutputFlags(run_cmd, g, false);
  run_cmd->callback([&] { action = [&] { return CmdRun(g, a.run); }; });

  auto* worker_cmd = app.add_subcommand("worker", "Run a worker agent on a cluster node");
  worker_cmd->add_option("--server", a.worker.server, "Controller address host:port")->required();
  worker_cmd->add_option("--compute", a.worker.compute, "Compute target this node belongs to")
      ->required();
  worker_cmd->add_option("--token-file", a.worker.token_file,
                         "File holding the workspace token (default <workspace>/token)");
  worker_cmd->add_option("--work-dir", a.worker.work_dir,
                         "Where attempts run (default: a temp dir)");
  worker_cmd->add_option("--node-id", a.worker.node_id, "Fixed node id (default: assigned)");
  worker_cmd
      ->add_option("--keep-attempts", a.worker.keep_attempts,
                   "Finished attempt directories kept in <work-dir>/attempts, the newest "
                   "(0: none)")
      ->check(CLI::Range(0, std::numeric_limits<int>::max()))
      ->capture_default_str();
  AddTlsCaFlag(worker_cmd, g);
  worker_cmd->add_option("--max-idle-polls", a.worker.max_idle_polls,
                         "Exit after this many polls without work (default: never)");
  worker_cmd->callback([&] { action = [&] { return CmdWorker(g, a.worker); }; });

  auto* validate_cmd = app.add_subcommand("validate", "Check a spec and print what it resolves to");
  validate_cmd->add_option("spec", a.spec_path, "Sweep spec")->required();
  validate_cmd->add_option("--warm-start", a.run.warm_start,
                           "Also check warm starting from this sweep (repeatable), as `sweep "
                           "run --warm-start` would");
  AddServerFlags(validate_cmd, g);
  AddOutputFlags(validate_cmd, g, false);
  validate_cmd->callback(
      [&] { action = [&] { return CmdValidate(g, a.spec_path, a.run.warm_start); }; });
}

// The read-only queries of a workspace or a `sweep server`.
void AddQueryCommands(CLI::App& app, GlobalOptions& g, CommandArgs& a, Action& action) {
  auto* ls_cmd = app.add_subcommand("ls", "List the workspace's sweeps, newest first");
  AddServerFlags(ls_cmd, g);
  AddOutputFlags(ls_cmd, g, false);
  ls_cmd->callback([&] { action = [&] { return CmdLs(g); }; });

  auto* show_cmd = app.add_subcommand("show", "Show a sweep: state, counts, best, events");
  show_cmd->add_option("sweep", a.sweep_id, "Sweep id (or a unique prefix)")->required();
  AddServerFlags(show_cmd, g);
  AddOutputFlags(show_cmd, g, false);
  show_cmd->callback([&] { action = [&] { return CmdShow(g, a.sweep_id); }; });

  auto* trials_cmd = app.add_subcommand("trials", "List a sweep's trials");
  trials_cmd->add_option("sweep", a.trials.sweep_id, "Sweep id (or a unique prefix)")->required();
  trials_cmd->add_option("--sort", a.trials.sort_metric,
                         "Sort by a metric: the primary metric sorts best first, others "
                         "highest first");
  trials_cmd->add_flag("--asc", a.trials.ascending, "Sort ascending instead");
  trials_cmd->add_option("--state", a.trials.state, "Only trials in this state");
  trials_cmd->add_option("--top", a.trials.top, "Only the first N rows");
  AddServerFlags(trials_cmd, g);
  AddOutputFlags(trials_cmd, g, true);
  trials_cmd->callback([&] { action = [&] { return CmdTrials(g, a.trials); }; });

  auto* best_cmd = app.add_subcommand("best", "Show the best completed trial of a sweep");
  best_cmd->add_option("sweep", a.sweep_id, "Sweep id (or a unique prefix)")->required();
  AddServerFlags(best_cmd, g);
  AddOutputFlags(best_cmd, g, false);
  best_cmd->callback([&] { action = [&] { return CmdBest(g, a.sweep_id); }; });

  auto* metrics_cmd = app.add_subcommand("metrics", "Show every metric point a trial reported");
  metrics_cmd->add_option("sweep", a.sweep_id, "Sweep id (or a unique prefix)")->required();
  metrics_cmd->add_option("trial", a.trial_id, "Trial number")->required();
  metrics_cmd->add_option("--name", a.metric_name, "Only this metric");
  AddServerFlags(metrics_cmd, g);
  AddOutputFlags(metrics_cmd, g, true);
  metrics_cmd->callback(
      [&] { action = [&] { return CmdMetrics(g, a.sweep_id, a.trial_id, a.metric_name); }; });

  auto* cancel_cmd = app.add_subcommand("cancel", "Cancel a running sweep");
  cancel_cmd->add_option("sweep", a.sweep_id, "Sweep id (or a unique prefix)")->required();
  AddServerFlags(cancel_cmd, g);
  AddOutputFlags(cancel_cmd, g, false);
  cancel_cmd->callback([&] { action = [&] { return CmdCancel(g, a.sweep_id); }; });

  auto* enqueue_cmd = app.add_subcommand(
      "enqueue", "Add a configuration to a running sweep, tried before any sampled one");
  AddEnqueueOptions(enqueue_cmd, a.enqueue);
  AddServerFlags(enqueue_cmd, g, /*change=*/true);
  AddOutputFlags(enqueue_cmd, g, false);
  enqueue_cmd->callback([&] { action = [&] { return CmdEnqueue(g, a.enqueue); }; });

  auto* extend_cmd = app.add_subcommand(
      "extend", "Run an ended sweep again with more trials, continuing from its history");
  AddExtendOptions(extend_cmd, a.extend);
  AddServerFlags(extend_cmd, g, /*change=*/true);
  AddOutputFlags(extend_cmd, g, false);
  extend_cmd->callback([&] { action = [&] { return CmdExtend(g, a.extend); }; });

  auto* explain_cmd =
      app.add_subcommand("explain", "Explain the early-termination decisions about a trial");
  explain_cmd->add_option("sweep", a.sweep_id, "Sweep id (or a unique prefix)")->required();
  explain_cmd->add_option("trial", a.trial_id, "Trial number")->required();
  AddServerFlags(explain_cmd, g);
  AddOutputFlags(explain_cmd, g, false);
  explain_cmd->callback([&] { action = [&] { return CmdExplain(g, a.sweep_id, a.trial_id); }; });

  auto* replay_cmd = app.add_subcommand(
      "replay", "Replay a finished sweep's curves under another early-termination policy");
  AddReplayOptions(replay_cmd, a.replay);
  AddServerFlags(replay_cmd, g);
  AddOutputFlags(replay_cmd, g, false);
  replay_cmd->callback([&] { action = [&] { return CmdReplay(g, a.replay); }; });

  // Seeing a sweep's results (cli/watch_command.h, cli/report_commands.h).
  auto* watch_cmd = app.add_subcommand(
      "watch", "Follow a running sweep: a live view on a terminal, else log lines");
  watch_cmd->add_option("sweep", a.watch.sweep_id, "Sweep id (or a unique prefix)")->required();
  watch_cmd->add_flag("--plain", a.watch.plain, "Print log lines instead of the live view");
  AddServerFlags(watch_cmd, g);
  AddOutputFlags(watch_cmd, g, false);
  watch_cmd->callback([&] { action = [&] { return CmdWatch(g, a.watch); }; });

  auto* report_cmd =
      app.add_subcommand("report", "Write a sweep's report: one self-contained HTML page of plots");
  report_cmd->add_option("sweep", a.report.sweep_id, "Sweep id (or a unique prefix)")->required();
  report_cmd->add_option("--out,-o", a.report.out,
                         "File to write (default <sweep id>.html; - for stdout)");
  AddServerFlags(report_cmd, g);
  AddOutputFlags(report_cmd, g, false);
  report_cmd->callback([&] { action = [&] { return CmdReport(g, a.report); }; });

  auto* plot_cmd = app.add_subcommand("plot", "Write one plot of a sweep as an SVG file");
  plot_cmd->add_option("sweep", a.plot.sweep_id, "Sweep id (or a unique prefix)")->required();
  plot_cmd->add_option("--kind", a.plot.kind, "convergence, parallel, curves or importance")
      ->required()
      ->check(CLI::IsMember({"convergence", "parallel", "curves", "importance"}));
  plot_cmd->add_option("--out,-o", a.plot.out,
                       "File to write (default <sweep id>-<kind>.svg; - for stdout)");
  AddServerFlags(plot_cmd, g);
  AddOutputFlags(plot_cmd, g, false);
  plot_cmd->callback([&] { action = [&] { return CmdPlot(g, a.plot); }; });
}

// Server mode: `sweep server` and `sweep submit`.
void AddServerCommands(CLI::App& app, GlobalOptions& g, CommandArgs& a, Action& action) {
  auto* server_cmd = app.add_subcommand(
      "server", "Serve the workspace's controller until SIGTERM, running submitted sweeps");
  server_cmd
      ->add_option("--listen", a.server.listen,
                   "Address to listen on, host:port (e.g. 0.0.0.0:7070; port 0 = any)")
      ->required();
  server_cmd
      ->add_option("--lease-seconds", a.server.lease_seconds,
                   "How long a node keeps a trial without a heartbeat")
      ->capture_default_str();
  server_cmd
      ->add_option("--node-wait-seconds", a.server.node_wait_seconds,
                   "End a sweep failed when its target gets no node for this long (0 = "
                   "wait for ever; a spec's limits.node_wait_timeout wins)")
      ->capture_default_str();
  AddTlsServeFlags(server_cmd, g);
  AddOutputFlags(server_cmd, g, false);
  server_cmd->callback([&] { action = [&] { return CmdServer(g, a.server); }; });
  auto* submit_cmd = app.add_subcommand("submit", "Hand a sweep spec to a `sweep server`");
  submit_cmd->add_option("spec", a.submit_spec, "Sweep spec (Azure ML v2 sweep job YAML)")
      ->required();
  submit_cmd->add_option("--warm-start", a.submit_warm_start,
                         "An earlier sweep (id or prefix) whose finished trials the sampler "
                         "learns from; repeatable, added to the spec's warm_start.sweeps");
  AddServerFlags(submit_cmd, g);
  submit_cmd->get_option("--server")->required();
  AddOutputFlags(submit_cmd, g, false);
  submit_cmd->callback(
      [&] { action = [&] { return CmdSubmit(g, a.submit_spec, a.submit_warm_start); }; });
}

// `sweep compute ...`: persistent compute targets.
void AddComputeCommands(CLI::App& app, GlobalOptions& g, CommandArgs& a, Action& action) {
  auto* compute_cmd = app.add_subcommand("compute", "Manage persistent compute targets");
  compute_cmd->require_subcommand(1);
  auto* c_create = compute_cmd->add_subcommand("create", "Create a compute target");
  AddComputeFlags(c_create, a.compute, /*create=*/true);
  AddOutputFlags(c_create, g, false);
  AddServerFlags(c_create, g, /*change=*/true);
  c_create->callback([&] { action = [&] { return CmdComputeCreate(g, a.compute); }; });
  auto* c_update = compute_cmd->add_subcommand("update", "Change a compute target's settings");
  AddComputeFlags(c_update, a.compute, /*create=*/false);
  AddOutputFlags(c_update, g, false);
  AddServerFlags(c_update, g, /*change=*/true);
  c_update->callback([&] { action = [&] { return CmdComputeUpdate(g, a.compute); }; });
  auto* c_list = compute_cmd->add_subcommand("list", "List compute targets");
  AddServerFlags(c_list, g);
  AddOutputFlags(c_list, g, false);
  c_list->callback([&] { action = [&] { return CmdComputeList(g); }; });
  auto* c_show = compute_cmd->add_subcommand("show", "Show a compute target and its nodes");
  c_show->add_option("name", a.compute_name, "Target name")->required();
  AddServerFlags(c_show, g);
  AddOutputFlags(c_show, g, false);
  c_show->callback([&] { action = [&] { return CmdComputeShow(g, a.compute_name); }; });
  auto* c_delete = compute_cmd->add_subcommand("delete", "Delete a compute target");
  c_delete->add_option("name", a.compute_name, "Target name")->required();
  AddOutputFlags(c_delete, g, false);
  AddServerFlags(c_delete, g, /*change=*/true);
  c_delete->callback([&] { action = [&] { return CmdComputeDelete(g, a.compute_name); }; });
  // Remote VMs over SSH (cli/remote_vm_commands.h).
  AddAttachCommand(compute_cmd, g, a.attach, action);
  AddServerFlags(compute_cmd->get_subcommand("attach"), g, /*change=*/true);
}

// Artifacts, environments and the model registry.
void AddRegistryCommands(CLI::App& app, GlobalOptions& g, CommandArgs& a, Action& action) {
  auto* artifacts_cmd =
      app.add_subcommand("artifacts", "List a trial's stored outputs/ files, or download them");
  artifacts_cmd->add_option("sweep", a.artifacts.sweep_id, "Sweep id (or a unique prefix)")
      ->required();
  artifacts_cmd->add_option("trial", a.artifacts.trial_id, "Trial number")->required();
  artifacts_cmd->add_option("--download", a.artifacts.download_dir,
                            "Copy the files into this new (or empty) directory, verified");
  AddOutputFlags(artifacts_cmd, g, false);
  artifacts_cmd->callback([&] { action = [&] { return CmdArtifacts(g, a.artifacts); }; });

  auto* env_cmd = app.add_subcommand("environment", "Manage named, versioned environments");
  env_cmd->require_subcommand(1);
  auto* e_create = env_cmd->add_subcommand(
      "create", "Create an environment (a new version when the definition changed)");
  e_create->add_option("name", a.env.name, "Environment name (letters, digits, '.', '_', '-')")
      ->required();
  e_create->add_flag("--user-managed", a.env.user_managed,
                     "Run trials in the node's own environment");
  e_create->add_option("--python", a.env.python,
                       "User-managed: interpreter put first on PATH (absolute path)");
  e_create->add_option("--setup", a.env.setup,
                       "System-managed: command that builds the environment into "
                       "$SWEEP_ENV_DIR, once per node");
  e_create->add_option("--file", a.env.files,
                       "System-managed: a definition file (e.g. requirements.txt); repeatable");
  AddOutputFlags(e_create, g, false);
  AddServerFlags(e_create, g, /*change=*/true);
  e_create->callback([&] { action = [&] { return CmdEnvironmentCreate(g, a.env); }; });
  auto* e_list = env_cmd->add_subcommand("list", "List environments and their versions");
  AddOutputFlags(e_list, g, false);
  AddServerFlags(e_list, g);
  e_list->callback([&] { action = [&] { return CmdEnvironmentList(g); }; });
  auto* e_show = env_cmd->add_subcommand("show", "Show an environment version");
  e_show->add_option("name", a.env_ref, "NAME, NAME@VERSION or NAME@latest")->required();
  AddOutputFlags(e_show, g, false);
  AddServerFlags(e_show, g);
  e_show->callback([&] { action = [&] { return CmdEnvironmentShow(g, a.env_ref); }; });

  auto* models_cmd = app.add_subcommand("models", "The model registry");
  models_cmd->require_subcommand(1);
  auto* m_register =
      models_cmd->add_subcommand("register", "Register a trial's artifacts as a new model version");
  m_register->add_option("--sweep", a.reg.sweep_id, "Sweep id (or a unique prefix)")->required();
  m_register->add_option("--trial", a.reg.trial_id,
                         "Trial number (default: the best completed trial)");
  m_register->add_option("--name", a.reg.name, "Model name")->required();
  m_register->add_option("--tag", a.reg.tags, "KEY=VALUE; repeatable");
  AddOutputFlags(m_register, g, false);
  AddServerFlags(m_register, g, /*change=*/true);
  m_register->callback([&] { action = [&] { return CmdModelRegister(g, a.reg); }; });
  auto* m_list = models_cmd->add_subcommand("list", "List registered model versions");
  AddOutputFlags(m_list, g, false);
  AddServerFlags(m_list, g);
  m_list->callback([&] { action = [&] { return CmdModelList(g); }; });
  auto* m_show = models_cmd->add_subcommand("show", "Show a model version and its files");
  m_show->add_option("model", a.model_ref, "NAME (newest version) or NAME:VERSION")->required();
  AddOutputFlags(m_show, g, false);
  m_show->callback([&] { action = [&] { return CmdModelShow(g, a.model_ref); }; });
  auto* m_download =
      models_cmd->add_subcommand("download", "Copy a model version's files (verified)");
  m_download->add_option("model", a.model_ref, "NAME (newest version) or NAME:VERSION")->required();
  m_download->add_option("--to", a.download_to, "Destination directory (new or empty)")->required();
  AddOutputFlags(m_download, g, false);
  m_download->callback(
      [&] { action = [&] { return CmdModelDownload(g, a.model_ref, a.download_to); }; });
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{
      "sweep: hyperparameter sweeps on persistent compute targets.\n"
      "Run `sweep COMMAND --help` for a command's options."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "sweep 0.1.0");
  app.fallthrough();
  GlobalOptions g;
  app.add_option("--workspace", g.workspace, "Workspace directory (default ./.sweep)")
      ->envname("SWEEP_WORKSPACE");
  Action action;
  CommandArgs args;
  AddRunCommands(app, g, args, action);
  AddQueryCommands(app, g, args, action);
  AddServerCommands(app, g, args, action);
  AddComputeCommands(app, g, args, action);
  AddRegistryCommands(app, g, args, action);
  // Help that teaches (cli/help.h): it covers the whole command tree, so it comes last.
  AddCompletionCommand(app, args.completion_shell, action);
  AddExamples(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);  // prints help or the error
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (g.json && g.csv) {
    std::cerr << "sweep: error: --json and --csv exclude each other\n";
    return kExitUsage;
  }
  if (!action) return kExitUsage;
  // Every call this process makes to a controller verifies it with --tls-ca (cli/admin.h).
  if (absl::Status tls = rpc::SetClientTlsCa(g.tls_ca); !tls.ok()) {
    std::cerr << "sweep: error: " << tls.message() << "\n";
    return kExitUsage;
  }
  return action();
}

}  // namespace sweep::cli
