"""nslab's command line: thin Invoke tasks over the nslab package.

    invoke up scenario=userns      (or: invoke up --scenario=userns)
    invoke judge [RUN] [--write]
    invoke compare [--runs a,b] [--baseline DIR]
    invoke matrix --boxes debian11,debian12,debian13 --scenarios userns,workshop --jobs 3
    invoke status
    invoke down
    invoke box.build
    invoke docs
"""
import os
import sys

from invoke import Collection, task

from nslab import commands
from nslab.commands.common import HostTargets
from nslab.errors import NslabError


def _value(name: str, given: str) -> str:
    """Accepts `name=value` as well as a bare value, so `invoke up scenario=userns` reads naturally."""
    prefix = f"{name}="
    return given[len(prefix):] if given and given.startswith(prefix) else given


def _help_if_asked(task_name: str, value: str) -> None:
    # Invoke hands `invoke up --help` to the positional argument; show the help instead.
    if value in ("-h", "--help"):
        os.execvp(sys.argv[0], [sys.argv[0], "--help", task_name])


def _exit(call, *args, **kwargs):
    try:
        code = call(*args, **kwargs)
    except NslabError as exc:
        print(f"nslab: {exc}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = 130
    sys.exit(code or 0)


HOST_HELP = {
    "host": "existing hosts to run on, USER@HOST[:PORT] comma-separated (with --identity): nslab did not "
            "build them, so it records them, keeps a restore bundle on them and leaves them as found",
    "identity": "the private key for --host (passwordless sudo is required on the host)",
    "known-hosts": "the known_hosts file host keys are checked against (default ~/.ssh/known_hosts)",
    "accept-new-host-key": "record an unknown host key in the known_hosts file (as ssh's accept-new); "
                           "a changed key is always refused",
    "allow-disruption": "run on a host whose containers are running (they stop with the mode "
                        "switches, and are started again afterwards)",
}


def _hosts(host: str, identity: str, known_hosts: str, accept_new_host_key: bool,
           allow_disruption: bool) -> HostTargets:
    return HostTargets(_value("host", host) or None, _value("identity", identity) or None,
                       known_hosts or None, accept_new_host_key, allow_disruption)


@task(positional=["scenario"], help={
    "scenario": "lab to run: a name in scenarios/ (userns) or a path to a scenario file",
    "box": "machines to run it on, comma-separated names from lab.yaml (default: the first box)",
    "destroy": "on-error (default) | always | never | passing: what happens to the machines afterwards",
    "instance": "run on a separate set of machines (own Vagrant state, names, ports), "
                "e.g. beside another run; default: the project's machines",
    "allow-live-user": "let a mode remap container root to an existing user nslab did not create "
                       "(the lab calls this a terrible idea)",
    "provider": "docker (container machines) | libvirt (VMs): the machine of that provider for each "
                "box, e.g. --box debian12 --provider libvirt (default: each box's own)",
    "prove": "then show every passed check able to fail, as `invoke judge --mutate` (exit 1 if one cannot)",
    **HOST_HELP,
    "docker-packages": "a folder of .deb files (docker.io and what it needs) that boxes with "
                       "`docker: install` install from, instead of the machine's apt sources",
})
def up(c, scenario, box="", destroy="on-error", instance="", allow_live_user=False, provider="", prove=False,
       host="", identity="", known_hosts="", accept_new_host_key=False, allow_disruption=False,
       docker_packages=""):
    """Bring up machines and run a lab on them; every step judged, a verdict table at the end.
    Existing hosts (--host) are left exactly as found: restored and verified after the run (exit 2 if not)."""
    _help_if_asked("up", scenario)
    _exit(commands.up.execute, _value("scenario", scenario), _value("box", box) or None,
          _value("destroy", destroy), instance or None, allow_live_user, _value("provider", provider) or None, prove,
          _hosts(host, identity, known_hosts, accept_new_host_key, allow_disruption), docker_packages or None)


@task(help={
    "boxes": "boxes, comma-separated (default: lab.yaml's default_boxes); boxes that cannot run "
             "here are listed as not available, with the reason",
    "scenarios": "labs, comma-separated (default: userns)",
    "jobs": "cells running at once (default 3)",
    "continue-on-failure": "keep starting cells after one failed (default: stop starting new ones)",
    "destroy": "always (default) | never | passing | on-error: what happens to each cell's machine",
    "prove": "then prove each cell's run as `invoke judge --mutate` does: every passed check shown able to fail",
    **HOST_HELP,
})
def matrix(c, boxes="", scenarios="userns", jobs=3, continue_on_failure=False, destroy="always",
           host="", identity="", known_hosts="", accept_new_host_key=False, allow_disruption=False, prove=False):
    """Run labs on several boxes or existing hosts in parallel, each cell on a machine of its own
    (a host's cells take turns); compare them all."""
    _exit(commands.matrix.execute, boxes or None, scenarios, int(jobs), continue_on_failure, destroy,
          _hosts(host, identity, known_hosts, accept_new_host_key, allow_disruption), prove)


@task(help={
    "box": "ssh boxes of lab.yaml to restore, comma-separated",
    "host": "or existing hosts, USER@HOST[:PORT] comma-separated (with --identity)",
    "identity": "the private key for --host",
    "known-hosts": "the known_hosts file host keys are checked against (default ~/.ssh/known_hosts)",
    "accept-new-host-key": "record an unknown host key (as ssh's accept-new)",
})
def restore(c, box="", host="", identity="", known_hosts="", accept_new_host_key=False):
    """Restore existing hosts from the bundle a run kept on them, then verify them (exit 2 if not as found).
    Needed only when a run was cut off before it restored (the connection lost, the process killed);
    the next `invoke up` on such a host does it first anyway."""
    _exit(commands.restore.execute, _value("box", box) or None,
          _hosts(host, identity, known_hosts, accept_new_host_key, False))


@task(help={
    "scenario": "lab whose operations are measured (default: userns)",
    "repeat": "runs of each column (default 5)",
    "out": "folder for results.json and results.png (default: bench/)",
})
def bench(c, scenario="userns", repeat=5, out=""):
    """Measure nslab against the raw operations and `vagrant ssh -c`; print ratios, write JSON and a chart.
    The matrix figure comes from the newest sequential and --jobs 3 runs of the same cells."""
    _exit(commands.bench.execute, _value("scenario", scenario), int(repeat), out or None)


@task
def faults(c):
    """Inject real faults (refused mode, killed dockerd and sshd, broken box, Ctrl-C, host daemon restart,
    full disk, killed qemu and libvirtd, two runs at once) and bad inputs; print what was survived,
    artifacts lost and machines left behind."""
    _exit(commands.faults.execute)


def _optional_positional(task_name: str, flag: str) -> None:
    # Invoke's positional arguments are all required; `invoke judge [RUN]` takes an optional
    # one, so a bare value right after the task name is read as its flag.
    # Invoke has read its command line before it loads this file, so start again with the flag.
    argv = sys.argv
    words = [i for i, word in enumerate(argv[1:], start=1) if not word.startswith("-")]
    if words and argv[words[0]] == task_name:
        at = words[0] + 1
        if at < len(argv) and not argv[at].startswith("-"):
            os.execvp(argv[0], argv[:at] + [flag] + argv[at:])


_optional_positional("judge", "--run")


@task(help={
    "run": "a run id under artifacts/ or a run directory (default: the latest run)",
    "write": "also write the re-derived verdicts into the run as judgement.json",
    "mutate": "mutation proof: judge every passed check again on mutated copies of the evidence it "
              "reads; each must turn to fail (exit 1 naming those that stayed green)",
})
def judge(c, run="", write=False, mutate=False):
    """Judge a run again from its artifacts alone, offline: the verdict table, every edited file named.
    Exits 0 when every verdict passed, 1 when one failed (or, with --mutate, a check cannot fail),
    2 when evidence changed or the run is unreadable."""
    _exit(commands.judge.execute, _value("run", run) or None, write, mutate)


@task(help={
    "runs": "runs to compare, comma-separated run ids or paths (default: the latest run)",
    "baseline": "a saved run (id or path; comma-separated for several): report every fact that "
                "changed and exit 1 when any did",
    "out": "folder for the reports (default: beside the run, or artifacts/compare/<id> for several)",
})
def compare(c, runs="", baseline="", out=""):
    """Modes × machines side by side; reports in Markdown, HTML, JSON and JUnit XML."""
    _exit(commands.compare.execute, runs or None, baseline or None, out or None)


@task(help={
    "boxes": "boxes, comma-separated (with --scenarios, instead of lab.yaml's nightly: cells)",
    "scenarios": "labs, comma-separated (default with --boxes: userns)",
    "jobs": "cells at once (default, or 0: lab.yaml's nightly: jobs)",
    "keep": "nights to keep; older ones are removed (default, or 0: lab.yaml's nightly: keep)",
    "folder": "where nights are kept (default: artifacts/nightly)",
    "from-runs": "a folder of runs made elsewhere (a CI job's matrix cells): keep and compare those, run nothing",
})
def nightly(c, boxes="", scenarios="", jobs=0, keep=0, folder="", from_runs=""):
    """Run the night's cells, keep them as a night, compare with the night before: every change named
    with the distro and Docker of both nights. Exits 1 on a change, 0 with "no change since <night>"."""
    _exit(commands.nightly.execute, boxes or None, scenarios or None, int(jobs) or None, int(keep) or None,
          folder or None, from_runs or None)


@task(help={
    "folder": "where nights are kept (default: artifacts/nightly)",
    "out": "the HTML page to write (default: <folder>/history.html; Markdown beside it)",
})
def history(c, folder="", out=""):
    """One page over the kept nights: cells × nights coloured by verdict, drift marked, each change at the
    night it first appeared, links to each night's report."""
    _exit(commands.history.execute, folder or None, out or None)


@task(help={
    "out": "folder for the built site (default: .nslab/site)",
})
def docs(c, out=""):
    """Build the documentation site (docs/ and mkdocs.yml) with `mkdocs build --strict`: a broken link or
    anchor, a missing page or a page left out of the nav fails it (exit 1, each warning named)."""
    _exit(commands.docs.execute, out or None)


@task(auto_shortflags=False, help={
    "box": "machines to destroy, comma-separated (default: all in lab.yaml)",
    "host-daemon": "also stop the host Docker daemon (and libvirtd) nslab started itself, never a system one; "
                   "kept, with the reason, while another clone on this host has machines or work on it",
    "instance": "only this instance's machines (default: every instance: the project's and any a matrix "
                "or `up --instance` left)",
})
def down(c, box="", host_daemon=False, instance=""):
    """Destroy this clone's lab machines (of every instance, or of one); machines a run is using are left to it."""
    _exit(commands.down.execute, box or None, host_daemon=host_daemon, instance_name=instance or None)


@task(help={
    "box": "the machine's box (needed when more than one lab machine runs)",
    "instance": "the machine's instance (default: any; the project's own is 'default')",
})
def login(c, box="", instance=""):
    """An interactive shell on a lab machine a run kept (`invoke up … --destroy never`), as `vagrant ssh`
    gives it; one line saying so when none runs."""
    _exit(commands.login.execute, box or None, instance or None)


@task
def status(c):
    """List lab machines, their state and their daemon's current mode."""
    _exit(commands.status.execute)


@task(name="build", help={
    "box": "boxes to build, comma-separated (default: all in lab.yaml)",
    "force": "rebuild even when a box of the same recipe is cached",
    "provider": "docker | libvirt: build that provider's box of each name (--box debian12 "
                "--provider libvirt: the VM box); without --box, every box of that provider",
})
def box_build(c, box="", force=False, provider=""):
    """Build lab boxes offline from Debian packages (cached by recipe): container images, VM boxes."""
    _exit(commands.build.execute, box or None, force=force, provider=provider or None)


box = Collection("box")
box.add_task(box_build, default=False)
ns = Collection(up, judge, compare, matrix, nightly, history, faults, bench, down, status, login, restore, docs,
                box)
