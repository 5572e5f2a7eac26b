/* The command table of mtk and what walks it: dispatch of COMMAND and
 * NOUN VERB, --help texts, unknown commands (with a suggestion) and the
 * error for commands that exist but are not implemented yet.
 *
 * To implement a command, fill `run` (and `options`) of its entry; the
 * handler gets argv starting at its own name and parses its options with
 * getopt_long (see config.c). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/project.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

#define VERB(p, n, a, s)                                                                           \
  {                                                                                                \
    .parent = p, .name = n, .args = a, .summary = s                                                \
  }

static const char config_options[] =
    "      --format FORMAT        Format the output: yaml (default) or json\n"
    "      --hash SERVICES        Print the configuration hash of the services, one per line\n"
    "                             (\"*\" for all, or a comma-separated list)\n"
    "      --images               Print the image names, one per line\n"
    "      --keep-env-files       Keep env_file and label_file (after folding them into\n"
    "                             environment and labels)\n"
    "      --no-consistency       Don't check model consistency (the output may be invalid)\n"
    "      --no-interpolate       Don't interpolate environment variables\n"
    "      --no-normalize         Don't normalize the compose model\n"
    "      --no-path-resolution   Don't resolve file paths\n"
    "  -o, --output FILE          Save to FILE (replaced atomically) instead of stdout\n"
    "      --profiles             Print the profile names, one per line\n"
    "  -q, --quiet                Only validate the configuration, print nothing\n"
    "      --services             Print the service names, one per line\n"
    "      --volumes              Print the volume names, one per line\n"
    "  -h, --help                 Print this help\n";

static const char version_options[] =
    "  -f, --format FORMAT        Format the output: pretty (default) or json\n"
    "      --short                Print the version number only\n"
    "  -h, --help                 Print this help\n";

static const char build_options[] =
    "      --check                Check the Dockerfiles of the services: print the stages and\n"
    "                             instructions that would be built, and the build checks'\n"
    "                             warnings (building itself is not available yet)\n"
    "      --build-arg KEY[=VAL]  Set a build argument (repeatable; KEY alone: from the\n"
    "                             environment)\n"
    "      --format FORMAT        Output of --check: text (default) or json\n"
    "  -h, --help                 Print this help\n";

static const char image_build_options[] =
    "      --check                Check the Dockerfile: print the stages and instructions that\n"
    "                             would be built, and the build checks' warnings (building\n"
    "                             itself is not available yet)\n"
    "  -f, --file FILE            The Dockerfile (default: CONTEXT/Dockerfile)\n"
    "      --build-arg KEY[=VAL]  Set a build argument (repeatable; KEY alone: from the\n"
    "                             environment)\n"
    "      --target STAGE         Build this stage (default: the last one)\n"
    "      --platform PLATFORM    Target platform (default: this machine's)\n"
    "      --format FORMAT        Output of --check: text (default) or json\n"
    "  -h, --help                 Print this help\n";

static const char up_options[] =
    "  -d, --detach               Run the services in the background (a supervisor keeps them)\n"
    "      --wait                 Wait for the services to be running and healthy (implies -d)\n"
    "      --wait-timeout N       Give up waiting after N seconds\n"
    "      --no-start             Create the containers but do not start them\n"
    "      --no-deps              Do not start the services the named ones depend on\n"
    "      --force-recreate       Recreate containers even if nothing changed\n"
    "      --no-recreate          Never recreate existing containers\n"
    "      --remove-orphans       Remove containers of services no longer in the file\n"
    "      --abort-on-container-exit  Stop everything when one container exits\n"
    "      --exit-code-from SVC   Exit with SVC's exit code (implies the above)\n"
    "      --scale SVC=N          Run N replicas of SVC\n"
    "  -t, --timeout N            Stop grace period when stopping (seconds)\n"
    "      --pull POLICY          always, missing (default) or never\n"
    "      --no-log-prefix        Do not prefix the log lines with the container name\n"
    "      --timestamps           Show timestamps\n"
    "  -h, --help                 Print this help\n";

static const char project_ps_options[] =
    "  -a, --all                  Show all containers (default: only running ones)\n"
    "  -q, --quiet                Only display IDs\n"
    "      --format FORMAT        table (default), json, or a Go template\n"
    "  -h, --help                 Print this help\n";

static const char project_logs_options[] =
    "  -f, --follow               Follow the log output\n"
    "  -t, --timestamps           Show timestamps\n"
    "  -n, --tail N               Number of lines to show from the end (default all)\n"
    "      --since TIME           Show logs since a timestamp or a relative time (42m)\n"
    "      --no-log-prefix        Do not print the container name before each line\n"
    "  -h, --help                 Print this help\n";

static const char project_stop_options[] =
    "  -t, --timeout N            Seconds to wait before killing (default: the service's\n"
    "                             stop_grace_period, else 10; none when PID 1 cannot\n"
    "                             receive the stop signal)\n"
    "  -h, --help                 Print this help\n";

static const char project_kill_options[] =
    "  -s, --signal SIG           Signal to send (default SIGKILL)\n"
    "  -h, --help                 Print this help\n";

static const char project_rm_options[] =
    "  -f, --force                Don't ask to confirm\n"
    "  -s, --stop                 Stop the containers first\n"
    "  -v, --volumes              Remove anonymous volumes of the containers\n"
    "  -h, --help                 Print this help\n";

static const char project_exec_options[] =
    "  -d, --detach               Run the command in the background\n"
    "  -e, --env KEY=VAL          Set an environment variable\n"
    "  -u, --user USER            Run as this user\n"
    "  -w, --workdir DIR          Working directory\n"
    "  -T, --no-TTY               Do not allocate a pseudo-TTY (default: one when stdin is a TTY)\n"
    "      --index N              Which replica (default 1)\n"
    "  -h, --help                 Print this help\n";

static const char project_run_options[] =
    "      --rm                   Remove the container when it exits\n"
    "  -d, --detach               Run in the background, print the container name\n"
    "  -e, --env KEY=VAL          Set an environment variable\n"
    "  -u, --user USER            Run as this user\n"
    "  -w, --workdir DIR          Working directory\n"
    "      --entrypoint CMD       Override the entrypoint\n"
    "      --name NAME            Name the container\n"
    "      --service-ports        Publish the service's ports\n"
    "      --no-deps              Do not start the services it depends on\n"
    "  -T, --no-TTY               Do not allocate a pseudo-TTY\n"
    "  -h, --help                 Print this help\n";

static const char down_options[] =
    "  -v, --volumes              Also remove the project's named volumes\n"
    "      --remove-orphans       Also remove containers of services no longer in the file\n"
    "  -t, --timeout N            Stop grace period (seconds; default: the service's, else 10)\n"
    "  -h, --help                 Print this help\n";

static const char run_options[] =
    "      --add-host HOST:IP     Add a line to /etc/hosts (repeatable)\n"
    "      --cap-add CAP          Add a Linux capability (repeatable; ALL)\n"
    "      --cap-drop CAP         Drop a Linux capability (repeatable; ALL)\n"
    "      --cidfile FILE         Write the container ID to FILE\n"
    "      --cpus N               Number of CPUs (0.5 = half a CPU)\n"
    "  -d, --detach               Run in the background (a monitor process supervises it) and\n"
    "                             print the container ID\n"
    "      --domainname NAME      Container NIS domain name\n"
    "      --entrypoint CMD       Overwrite the image's entrypoint (\"\" = none)\n"
    "  -e, --env K[=V]            Set an environment variable (K alone: take ours)\n"
    "      --env-file FILE        Read environment variables from FILE (docker's format)\n"
    "      --expose PORT[/PROTO]  Expose a port or a range without publishing it\n"
    "      --health-cmd CMD       Command to run to check health (sh -c)\n"
    "      --health-interval D    Time between health checks (ms|s|m|h)\n"
    "      --health-retries N     Consecutive failures needed to report unhealthy\n"
    "      --health-start-period D  Start period: failures do not count\n"
    "      --health-timeout D     Maximum time to allow one check to run\n"
    "  -h, --hostname NAME        Container host name\n"
    "      --init                 Run an init inside the container that forwards signals and\n"
    "                             reaps processes\n"
    "  -i, --interactive          Keep STDIN open\n"
    "      --ip ADDRESS           IPv4 address on a user network\n"
    "  -l, --label K[=V]          Set metadata (repeatable)\n"
    "      --label-file FILE      Read labels from FILE\n"
    "  -m, --memory BYTES         Memory limit (b, k, m, g)\n"
    "      --mount SPEC           type=bind|volume|tmpfs,source=..,target=..[,readonly]\n"
    "      --name NAME            Assign a name to the container\n"
    "      --network NET          none, host, bridge or a network name\n"
    "      --network-alias NAME   Network-scoped alias (user networks)\n"
    "      --no-healthcheck       Disable the image's HEALTHCHECK\n"
    "      --oom-score-adj N      Tune the OOM killer's preference (-1000 to 1000)\n"
    "  -p, --publish SPEC         Publish a port: [IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]\n"
    "      --pids-limit N         Process limit (-1 = unlimited)\n"
    "      --privileged           Every capability, no seccomp filter, all devices\n"
    "      --pull POLICY          missing (default) and never: use the local image;\n"
    "                             always: pull it first\n"
    "  -q, --quiet                Suppress the pull output\n"
    "      --read-only            Mount the root filesystem read-only\n"
    "      --restart POLICY       no, always, unless-stopped, on-failure[:N]\n"
    "      --rm                   Remove the container when it exits\n"
    "      --runtime NAME         OCI runtime: crun (default) or runc\n"
    "      --security-opt OPT     no-new-privileges[:true|false]\n"
    "      --shm-size BYTES       Size of /dev/shm (default 64m)\n"
    "      --stop-signal SIG      Signal that stops the container (default SIGTERM)\n"
    "      --stop-timeout N       Seconds to wait before SIGKILL at stop (default 10)\n"
    "      --sysctl K=V           Namespaced kernel parameter (repeatable)\n"
    "      --tmpfs PATH[:OPTS]    Mount a tmpfs (repeatable)\n"
    "  -t, --tty                  Allocate a pseudo-TTY\n"
    "      --ulimit NAME=S[:H]    Resource limit (repeatable)\n"
    "  -u, --user USER[:GROUP]    Username or UID (and group or GID)\n"
    "  -v, --volume SRC:DST[:OPTS]  Bind mount (absolute or ./ path) or named volume;\n"
    "                             DST alone: an anonymous volume\n"
    "  -w, --workdir DIR          Working directory inside the container\n"
    "      --help                 Print this help\n";

#define CTR_VERB(n, a, s, o, r)                                                                    \
  {                                                                                                \
    .parent = "container", .name = n, .args = a, .summary = s, .options = o, .run = r              \
  }
#define HELP_LINE "  -h, --help                 Print this help\n"
#define STOP_LINES                                                                                 \
  "  -s, --signal SIG           Signal to send first (default: the container's stop signal)\n"     \
  "  -t, --timeout N            Seconds to wait before SIGKILL (default: the container's, 10)\n"

static const struct mtk_cli_cmd container_cmds[] = {
    CTR_VERB("create", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container", run_options,
             mtk_cli_container_create),
    CTR_VERB("exec", "[OPTIONS] CONTAINER COMMAND [ARG...]",
             "Execute a command in a running container",
             "  -d, --detach               Run the command in the background\n"
             "  -e, --env K[=V]            Set an environment variable\n"
             "      --env-file FILE        Read environment variables from FILE\n"
             "  -i, --interactive          Keep STDIN open\n"
             "      --privileged           Give the command every capability\n"
             "  -t, --tty                  Allocate a pseudo-TTY\n"
             "  -u, --user USER[:GROUP]    Username or UID (and group or GID)\n"
             "  -w, --workdir DIR          Working directory inside the container\n"
             "      --help                 Print this help\n",
             mtk_cli_container_exec),
    CTR_VERB("inspect", "[OPTIONS] CONTAINER [CONTAINER...]",
             "Display detailed information on one or more containers",
             "  -f, --format FORMAT        json (default), or a Go template ({{.State.Status}},\n"
             "                             {{json .Config}}, {{range ...}}{{end}}, ...)\n"
             "  -s, --size                 Accepted for compatibility\n" HELP_LINE,
             mtk_cli_container_inspect),
    CTR_VERB("kill", "[OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers",
             "  -s, --signal SIG           Signal to send (default KILL)\n" HELP_LINE,
             mtk_cli_container_kill),
    CTR_VERB("logs", "[OPTIONS] CONTAINER", "Fetch the logs of a container",
             "  -f, --follow               Follow the output until the container stops\n"
             "      --since TIME           Logs since a timestamp (2013-01-02T13:23:37Z) or a\n"
             "                             relative time (42m)\n"
             "  -n, --tail N               Number of lines from the end (default all)\n"
             "  -t, --timestamps           Show timestamps\n"
             "      --until TIME           Logs before a timestamp or a relative time\n" HELP_LINE,
             mtk_cli_container_logs),
    CTR_VERB("ls", "[OPTIONS]", "List containers",
             "  -a, --all                  Show all containers (default: the running ones)\n"
             "  -f, --filter K=V           status=, name=, id=, label=, exited=, ancestor=,\n"
             "                             network=\n"
             "      --format FORMAT        table (default), json, or a Go template\n"
             "                             ({{.ID}} {{.Names}} {{.Status}} {{.Image}} ...)\n"
             "  -n, --last N               Show the N last created containers (all states)\n"
             "  -l, --latest               Show the latest created container\n"
             "      --no-trunc             Don't truncate the output\n"
             "  -q, --quiet                Only display container IDs\n"
             "  -s, --size                 Add the SIZE column\n" HELP_LINE,
             mtk_cli_container_ps),
    VERB("container", "pause", "CONTAINER [CONTAINER...]",
         "Pause all processes within one or more containers"),
    CTR_VERB("port", "CONTAINER [PRIVATE_PORT[/PROTO]]",
             "List port mappings or a specific mapping for the container", NULL,
             mtk_cli_container_port),
    CTR_VERB("prune", "[OPTIONS]", "Remove all stopped containers",
             "      --filter K=V           Only the containers that pass (label=, ...)\n"
             "  -f, --force                Do not prompt for confirmation\n" HELP_LINE,
             mtk_cli_container_prune),
    CTR_VERB("ps", "[OPTIONS]", "List containers (same as ls)",
             "  -a, --all                  Show all containers (default: the running ones)\n"
             "  -f, --filter K=V           status=, name=, id=, label=, exited=, ancestor=,\n"
             "                             network=\n"
             "      --format FORMAT        table (default), json, or a Go template\n"
             "  -n, --last N               Show the N last created containers (all states)\n"
             "  -l, --latest               Show the latest created container\n"
             "      --no-trunc             Don't truncate the output\n"
             "  -q, --quiet                Only display container IDs\n"
             "  -s, --size                 Add the SIZE column\n" HELP_LINE,
             mtk_cli_container_ps),
    CTR_VERB("restart", "[OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers",
             STOP_LINES HELP_LINE, mtk_cli_container_restart),
    CTR_VERB(
        "rm", "[OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers",
        "  -f, --force                Force the removal of a running container (SIGKILL)\n"
        "  -v, --volumes              Remove the anonymous volumes of the container\n" HELP_LINE,
        mtk_cli_container_rm),
    CTR_VERB("run", "[OPTIONS] IMAGE [COMMAND] [ARG...]",
             "Create and run a new container from an image", run_options, mtk_cli_container_run),
    CTR_VERB("start", "[OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers",
             "  -a, --attach               Attach STDOUT/STDERR and forward signals\n"
             "  -i, --interactive          Attach the container's STDIN\n" HELP_LINE,
             mtk_cli_container_start),
    CTR_VERB("stop", "[OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers",
             STOP_LINES HELP_LINE, mtk_cli_container_stop),
    CTR_VERB("top", "CONTAINER [ps OPTIONS]", "Display the running processes of a container", NULL,
             mtk_cli_container_top),
    VERB("container", "unpause", "CONTAINER [CONTAINER...]",
         "Unpause all processes within one or more containers"),
    CTR_VERB("wait", "CONTAINER [CONTAINER...]",
             "Block until one or more containers stop, then print their exit codes", NULL,
             mtk_cli_container_wait),
    {0},
};

#define IMAGE_VERB(n, a, s, o, r)                                                                  \
  {                                                                                                \
    .parent = "image", .name = n, .args = a, .summary = s, .options = o, .run = r                  \
  }

static const struct mtk_cli_cmd image_cmds[] = {
    {.parent = "image",
     .name = "build",
     .args = "[OPTIONS] PATH",
     .summary = "Build an image from a Dockerfile",
     .options = image_build_options,
     .run = mtk_cli_image_build},
    IMAGE_VERB("import", "[OPTIONS] FILE|- [REPOSITORY[:TAG]]",
               "Import the contents from a tarball to create a filesystem image",
               "  -m, --message MESSAGE      Set the commit message for the imported image\n"
               "      --platform PLATFORM    Set the platform of the image (default: the host's)\n"
               "  -h, --help                 Print this help\n",
               mtk_cli_image_import),
    IMAGE_VERB("inspect", "[OPTIONS] IMAGE [IMAGE...]",
               "Display detailed information on one or more images",
               "  -f, --format FORMAT        json (default), or a template of {{.Field}}\n"
               "                             and {{json .Field}} items\n"
               "  -h, --help                 Print this help\n",
               mtk_cli_image_inspect),
    IMAGE_VERB("load", "[OPTIONS]", "Load an image from a tar archive or STDIN",
               "  -i, --input FILE           Read from tar archive file, instead of STDIN\n"
               "      --platform PLATFORM    Platform to pick from multi-platform archives\n"
               "  -q, --quiet                Suppress the load output\n"
               "  -h, --help                 Print this help\n",
               mtk_cli_image_load),
    IMAGE_VERB("ls", "[OPTIONS] [REPOSITORY[:TAG]]", "List images",
               "  -a, --all                  Show all images (untagged ones too)\n"
               "      --digests              Show digests\n"
               "      --format FORMAT        table (default), json (one object per line), or a\n"
               "                             template of {{.Field}} ({{.Repository}}, {{.Tag}},\n"
               "                             {{.ID}}, {{.Digest}}, {{.CreatedSince}}, {{.Size}})\n"
               "      --no-trunc             Don't truncate output\n"
               "  -q, --quiet                Only show image IDs\n"
               "  -h, --help                 Print this help\n",
               mtk_cli_image_ls),
    IMAGE_VERB("prune", "[OPTIONS]", "Remove unused images",
               "  -a, --all                  Remove all unused images, not just dangling ones\n"
               "  -f, --force                Do not prompt for confirmation\n"
               "  -h, --help                 Print this help\n",
               mtk_cli_image_prune),
    IMAGE_VERB("pull", "[OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry",
               "      --platform PLATFORM    Pick this platform from a multi-platform image\n"
               "                             (default: the host's, or DOCKER_DEFAULT_PLATFORM)\n"
               "  -q, --quiet                Suppress verbose output\n"
               "  -h, --help                 Print this help\n",
               mtk_cli_image_pull),
    IMAGE_VERB("push", "[OPTIONS] NAME[:TAG]", "Upload an image to a registry",
               "  -q, --quiet                Suppress verbose output\n"
               "  -h, --help                 Print this help\n",
               mtk_cli_image_push),
    IMAGE_VERB("rm", "[OPTIONS] IMAGE [IMAGE...]", "Remove one or more images",
               "  -f, --force                Force removal of the image\n"
               "      --no-prune             Accepted for compatibility (layers stay until\n"
               "                             'mtk image prune')\n"
               "  -h, --help                 Print this help\n",
               mtk_cli_image_rm),
    IMAGE_VERB("save", "[OPTIONS] IMAGE [IMAGE...]",
               "Save one or more images to a tar archive (streamed to STDOUT by default)",
               "  -o, --output FILE          Write to a file, instead of STDOUT\n"
               "  -h, --help                 Print this help\n",
               mtk_cli_image_save),
    IMAGE_VERB("tag", "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
               "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", NULL, mtk_cli_image_tag),
    {0},
};

#define NET_VERB(n, a, s, o, r)                                                                    \
  {                                                                                                \
    .parent = "network", .name = n, .args = a, .summary = s, .options = o, .run = r                \
  }

static const struct mtk_cli_cmd network_cmds[] = {
    NET_VERB("connect", "[OPTIONS] NETWORK CONTAINER", "Connect a container to a network",
             "      --alias NAME           Network-scoped alias for the container (repeatable)\n"
             "      --ip ADDRESS           IPv4 address (default: the next free one)\n"
             "  -h, --help                 Print this help\n",
             mtk_cli_network_connect),
    NET_VERB(
        "create", "[OPTIONS] NETWORK", "Create a network",
        "  -d, --driver DRIVER        Driver to manage the network (only bridge)\n"
        "      --gateway IP           IPv4 gateway of the subnet (default: its first address)\n"
        "      --internal             Restrict external access to the network\n"
        "      --ipv6                 Enable IPv6 (a ULA /64 beside the IPv4 subnet)\n"
        "      --label K[=V]          Set metadata on the network (repeatable)\n"
        "      --subnet CIDR          IPv4 subnet (default: a free one of the pool)\n"
        "  -h, --help                 Print this help\n",
        mtk_cli_network_create),
    NET_VERB("disconnect", "[OPTIONS] NETWORK CONTAINER", "Disconnect a container from a network",
             "  -f, --force                Also for a container that no longer exists\n"
             "  -h, --help                 Print this help\n",
             mtk_cli_network_disconnect),
    NET_VERB("inspect", "[OPTIONS] NETWORK [NETWORK...]",
             "Display detailed information on one or more networks",
             "  -f, --format FORMAT        json (default)\n"
             "  -v, --verbose              Accepted for compatibility\n"
             "  -h, --help                 Print this help\n",
             mtk_cli_network_inspect),
    NET_VERB("ls", "[OPTIONS]", "List networks",
             "  -f, --filter K=V           name=, id=, label=K[=V], driver=\n"
             "      --format FORMAT        table (default) or json\n"
             "      --no-trunc             Do not truncate the output\n"
             "  -q, --quiet                Only display network IDs\n"
             "  -h, --help                 Print this help\n",
             mtk_cli_network_ls),
    NET_VERB("prune", "[OPTIONS]", "Remove all unused networks",
             "  -f, --force                Do not prompt for confirmation\n"
             "  -h, --help                 Print this help\n",
             mtk_cli_network_prune),
    NET_VERB("rm", "NETWORK [NETWORK...]", "Remove one or more networks",
             "  -f, --force                Do not error if a network does not exist\n"
             "  -h, --help                 Print this help\n",
             mtk_cli_network_rm),
    {0},
};

static const struct mtk_cli_cmd volume_cmds[] = {
    {.parent = "volume",
     .name = "create",
     .args = "[OPTIONS] VOLUME",
     .summary = "Create a volume",
     .run = mtk_cli_volume_create},
    {.parent = "volume",
     .name = "inspect",
     .args = "[OPTIONS] VOLUME [VOLUME...]",
     .summary = "Display detailed information on one or more volumes",
     .run = mtk_cli_volume_inspect},
    {.parent = "volume",
     .name = "ls",
     .args = "[OPTIONS]",
     .summary = "List volumes",
     .run = mtk_cli_volume_ls},
    {.parent = "volume",
     .name = "prune",
     .args = "[OPTIONS]",
     .summary = "Remove unused local volumes (anonymous ones; all unused with -a)",
     .run = mtk_cli_volume_prune},
    {.parent = "volume",
     .name = "rm",
     .args = "[OPTIONS] VOLUME [VOLUME...]",
     .summary = "Remove one or more volumes",
     .run = mtk_cli_volume_rm},
    {0},
};

static int help_cmd(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                    struct mtk_err **err);

/* Project verbs (as `docker compose VERB`), then nouns, then stand-alone commands. */
const struct mtk_cli_cmd mtk_cli_commands[] = {
    {.name = "build",
     .args = "[OPTIONS] [SERVICE...]",
     .summary = "Build or rebuild services",
     .options = build_options,
     .run = mtk_cli_build},
    {.name = "config",
     .args = "[OPTIONS] [SERVICE...]",
     .summary = "Parse, resolve and render the compose files in canonical format",
     .options = config_options,
     .run = mtk_cli_config},
    {.name = "create",
     .args = "[OPTIONS] [SERVICE...]",
     .summary = "Create containers for the services",
     .run = mtk_cli_project_create},
    {.name = "down",
     .args = "[OPTIONS]",
     .summary = "Stop and remove containers and networks",
     .options = down_options,
     .run = mtk_cli_down},
    {.name = "exec",
     .args = "[OPTIONS] SERVICE COMMAND [ARGS...]",
     .summary = "Execute a command in a running service container",
     .options = project_exec_options,
     .run = mtk_cli_project_exec},
    {.name = "images",
     .args = "[OPTIONS] [SERVICE...]",
     .summary = "List images used by the created containers",
     .run = mtk_cli_project_images},
    {.name = "kill",
     .args = "[OPTIONS] [SERVICE...]",
     .summary = "Force stop service containers",
     .options = project_kill_options,
     .run = mtk_cli_project_kill},
    {.name = "logs",
     .args = "[OPTIONS] [SERVICE...]",
     .summary = "View output from containers",
     .options = project_logs_options,
     .run = mtk_cli_project_logs},
    {.name = "ls",
     .args = "[OPTIONS]",
     .summary = "List projects (-a: also stopped ones; --format json)",
     .run = mtk_cli_project_ls},
    VERB(NULL, "pause", "[SERVICE...]", "Pause services"),
    {.name = "port",
     .args = "[OPTIONS] SERVICE PRIVATE_PORT",
     .summary = "Print the public port for a port binding",
     .run = mtk_cli_project_port},
    {.name = "ps",
     .args = "[OPTIONS] [SERVICE...]",
     .summary = "List containers",
     .options = project_ps_options,
     .run = mtk_cli_project_ps},
    {.name = "pull",
     .args = "[OPTIONS] [SERVICE...]",
     .summary = "Pull service images (-q, --ignore-pull-failures)",
     .run = mtk_cli_project_pull},
    VERB(NULL, "push", "[OPTIONS] [SERVICE...]", "Push service images"),
    {.name = "restart",
     .args = "[OPTIONS] [SERVICE...]",
     .summary = "Restart service containers",
     .options = project_stop_options,
     .run = mtk_cli_project_restart},
    {.name = "rm",
     .args = "[OPTIONS] [SERVICE...]",
     .summary = "Remove stopped service containers",
     .options = project_rm_options,
     .run = mtk_cli_project_rm},
    {.name = "run",
     .args = "[OPTIONS] SERVICE [COMMAND] [ARGS...]",
     .summary = "Run a one-off command on a service",
     .options = project_run_options,
     .run = mtk_cli_project_run},
    {.name = "start",
     .args = "[SERVICE...]",
     .summary = "Start services",
     .run = mtk_cli_project_start},
    {.name = "stop",
     .args = "[OPTIONS] [SERVICE...]",
     .summary = "Stop services",
     .options = project_stop_options,
     .run = mtk_cli_project_stop_cmd},
    {.name = "top",
     .args = "[SERVICE...]",
     .summary = "Display the running processes",
     .run = mtk_cli_project_top},
    VERB(NULL, "unpause", "[SERVICE...]", "Unpause services"),
    {.name = "up",
     .args = "[OPTIONS] [SERVICE...]",
     .summary = "Create and start containers",
     .options = up_options,
     .run = mtk_cli_up},
    {.name = "wait",
     .args = "SERVICE [SERVICE...]",
     .summary = "Block until the containers of the services stop",
     .run = mtk_cli_project_wait},
    {.name = "container",
     .args = "COMMAND",
     .summary = "Manage containers",
     .subs = container_cmds},
    {.name = "image", .args = "COMMAND", .summary = "Manage images", .subs = image_cmds},
    {.name = "network", .args = "COMMAND", .summary = "Manage networks", .subs = network_cmds},
    {.name = "volume", .args = "COMMAND", .summary = "Manage volumes", .subs = volume_cmds},
    {.name = "help",
     .args = "[COMMAND...]",
     .summary = "Show the help of mtk or of a command",
     .run = help_cmd,
     .standalone = true},
    {.name = "login",
     .args = "[OPTIONS] [SERVER]",
     .summary = "Log in to a registry",
     .options = "  -u, --username USER        Username\n"
                "  -p, --password PASSWORD    Password (insecure: use --password-stdin)\n"
                "      --password-stdin       Take the password from stdin\n"
                "  -h, --help                 Print this help\n",
     .run = mtk_cli_login,
     .standalone = true},
    {.name = "logout",
     .args = "[SERVER]",
     .summary = "Log out from a registry",
     .run = mtk_cli_logout,
     .standalone = true},
    {.name = "version",
     .args = "[OPTIONS]",
     .summary = "Show the mtk version information",
     .options = version_options,
     .run = mtk_cli_version,
     .standalone = true},
    {0},
};

static const char global_options[] =
    "  -f, --file FILE               Compose file (repeatable; default: compose.yaml ...)\n"
    "  -p, --project-name NAME       Project name\n"
    "      --project-directory DIR   Project directory (default: the first file's directory)\n"
    "      --env-file FILE           Alternate environment file (repeatable)\n"
    "      --profile PROFILE         Profile to enable (repeatable)\n"
    "      --root DIR                Persistent data (env MTK_ROOT, default " MTK_DEFAULT_ROOT ")\n"
    "      --runroot DIR             Runtime state (env MTK_RUNROOT, default " MTK_DEFAULT_RUNROOT
    ")\n"
    "      --log-level LEVEL         debug, info, warn (default) or error\n"
    "      --ansi WHEN               Colour: never, always or auto (default)\n"
    "      --all-resources           Keep resources that no service uses\n"
    "  -h, --help                    Print this help\n"
    "  -v, --version                 Print the version and exit\n";

const struct mtk_cli_cmd *mtk_cli_cmd_find(const struct mtk_cli_cmd *table, const char *name)
{
  for (const struct mtk_cli_cmd *c = table; c->name; c++)
    if (strcmp(c->name, name) == 0)
      return c;
  return NULL;
}

char *mtk_cli_cmd_path(const struct mtk_cli_cmd *cmd)
{
  if (cmd->parent)
    return mtk_xasprintf("%s %s", cmd->parent, cmd->name);
  return mtk_xstrdup(cmd->name);
}

static void print_list(FILE *out, const char *title, const struct mtk_cli_cmd *table, int which)
{
  fprintf(out, "\n%s:\n", title);
  for (const struct mtk_cli_cmd *c = table; c->name; c++) {
    int kind = c->subs ? 1 : c->standalone ? 2 : 0;
    if (c->hidden || kind != which)
      continue;
    fprintf(out, "  %-11s%s%s\n", c->name, c->summary,
            c->run || c->subs ? "" : " (not available yet)");
  }
}

void mtk_cli_print_main_help(FILE *out)
{
  fprintf(out,
          "Usage:  mtk [OPTIONS] COMMAND [ARGS...]\n\n"
          "Matryoshka: run Docker Compose projects without a daemon.\n\n"
          "Options:\n%s",
          global_options);
  print_list(out, "Project commands", mtk_cli_commands, 0);
  print_list(out, "Management commands", mtk_cli_commands, 1);
  print_list(out, "Commands", mtk_cli_commands, 2);
  fprintf(out, "\nGlobal options go before the command. "
               "Run 'mtk COMMAND --help' for more information on a command.\n");
}

void mtk_cli_print_cmd_help(FILE *out, const struct mtk_cli_cmd *cmd)
{
  mtk_autofree char *path = mtk_cli_cmd_path(cmd);
  fprintf(out, "Usage:  mtk [GLOBAL OPTIONS] %s %s\n\n%s\n", path, cmd->args, cmd->summary);
  if (cmd->subs) {
    fprintf(out, "\nCommands:\n");
    for (const struct mtk_cli_cmd *c = cmd->subs; c->name; c++)
      if (!c->hidden)
        fprintf(out, "  %-10s%s%s\n", c->name, c->summary, c->run ? "" : " (not available yet)");
    fprintf(out, "\nRun 'mtk %s COMMAND --help' for more information on a command.\n", path);
    return;
  }
  if (!cmd->run)
    fprintf(out, "\nNot available in this version yet.\n");
  if (cmd->options)
    fprintf(out, "\nOptions:\n%s", cmd->options);
  else
    fprintf(out, "\nOptions:\n  -h, --help                 Print this help\n");
}

int mtk_cli_usage_error(const struct mtk_cli_cmd *cmd, struct mtk_err **err, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int r = mtk_err_setv(err, MTK_E_USAGE, fmt, ap);
  va_end(ap);
  if (cmd) {
    mtk_autofree char *path = mtk_cli_cmd_path(cmd);
    mtk_err_hint(err, "Run 'mtk %s --help' for usage.", path);
  } else {
    mtk_err_hint(err, "Run 'mtk --help' for usage.");
  }
  return r;
}

/* Options that are global: given after a command they deserve a better hint. */
static bool is_global_option(const char *opt)
{
  static const char *const globals[] = {
      "-f",         "--file",          "-p",     "--project-name", "--project-directory",
      "--env-file", "--profile",       "--root", "--runroot",      "--log-level",
      "--ansi",     "--all-resources", NULL};
  size_t n = strcspn(opt, "=");
  for (size_t i = 0; globals[i]; i++)
    if (strlen(globals[i]) == n && strncmp(opt, globals[i], n) == 0)
      return true;
  return false;
}

int mtk_cli_getopt_error(const struct mtk_cli_cmd *cmd, int c, char **argv, struct mtk_err **err)
{
  extern int optind, optopt;
  const char *word = argv[optind - 1];
  bool long_word = strncmp(word, "--", 2) == 0;
  mtk_autofree char *opt = NULL;
  int r;
  /* getopt_long leaves optopt 0 for an unknown long option, the option's
   * character for an unknown short one (the word may then be a cluster). */
  if (c == ':') {
    opt = mtk_xstrdup(word);
    r = mtk_cli_usage_error(cmd, err, "option \"%s\" needs a value", opt);
  } else if (optopt && long_word && strchr(word, '=')) {
    opt = mtk_xstrndup(word, strcspn(word, "="));
    r = mtk_cli_usage_error(cmd, err, "option \"%s\" does not take a value", opt);
  } else {
    opt = optopt ? mtk_xasprintf("-%c", optopt) : mtk_xstrndup(word, strcspn(word, "="));
    r = mtk_cli_usage_error(cmd, err, "unknown option \"%s\"", opt);
    if (cmd && is_global_option(opt))
      mtk_err_hint(err, "\"%s\" is a global option: give it before the command (mtk %s ... %s).",
                   opt, opt, cmd->name);
  }
  return r;
}

/* -h/--help among the arguments (up to "--") of a command without a handler. */
static bool wants_help(int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0)
      return false;
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
      return true;
  }
  return false;
}

static int unknown_command(const struct mtk_cli_cmd *table, const char *name, struct mtk_err **err)
{
  int r;
  if (table->parent)
    r = mtk_err_set(err, MTK_E_USAGE, "unknown command \"%s\" for \"mtk %s\"", name, table->parent);
  else
    r = mtk_err_set(err, MTK_E_USAGE, "unknown command \"%s\"", name);
  const char *best = mtk_cli_suggest(table, name);
  if (best)
    mtk_err_hint(err, "Did you mean \"%s\"?", best);
  else if (table->parent)
    mtk_err_hint(err, "Run 'mtk %s --help' for the list of commands.", table->parent);
  else
    mtk_err_hint(err, "Run 'mtk --help' for the list of commands.");
  return r;
}

static int not_available(const struct mtk_cli_cmd *cmd, struct mtk_err **err)
{
  mtk_autofree char *path = mtk_cli_cmd_path(cmd);
  int r = mtk_err_set(err, MTK_E_GENERIC, "'%s' is not available in this version yet", path);
  mtk_err_hint(err, "'mtk --help' lists what this version implements (commands marked "
                    "\"not available yet\" are not); building images is not in it yet.");
  return r;
}

int mtk_cli_cmd_dispatch(struct mtk_cli *cli, const struct mtk_cli_cmd *table, int argc,
                         char **argv, struct mtk_err **err)
{
  const struct mtk_cli_cmd *cmd = mtk_cli_cmd_find(table, argv[0]);
  if (cmd == NULL)
    return unknown_command(table, argv[0], err);
  if (cmd->subs) {
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
      mtk_cli_print_cmd_help(stdout, cmd);
      return 0;
    }
    if (argv[1][0] == '-')
      return mtk_cli_usage_error(cmd, err, "unknown option \"%s\"", argv[1]);
    return mtk_cli_cmd_dispatch(cli, cmd->subs, argc - 1, argv + 1, err);
  }
  if (cmd->run)
    return cmd->run(cli, cmd, argc, argv, err);
  if (wants_help(argc, argv)) {
    mtk_cli_print_cmd_help(stdout, cmd);
    return 0;
  }
  return not_available(cmd, err);
}

/* `mtk help [NOUN] [VERB]`: the help of the named command, or of mtk. */
static int help_cmd(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                    struct mtk_err **err)
{
  const struct mtk_cli_cmd *table = mtk_cli_commands, *found = NULL;
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] == '-') {
      if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
        break;
      return mtk_cli_usage_error(cmd, err, "unknown option \"%s\"", argv[i]);
    }
    if (table == NULL)
      return mtk_cli_usage_error(cmd, err, "too many arguments");
    found = mtk_cli_cmd_find(table, argv[i]);
    if (found == NULL)
      return unknown_command(table, argv[i], err);
    table = found->subs;
  }
  if (found)
    mtk_cli_print_cmd_help(stdout, found);
  else
    mtk_cli_print_main_help(stdout);
  return 0;
}
