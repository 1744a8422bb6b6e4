"""`docker: install`: the engine installed on a machine that has none (a pristine public box), from
Debian's or Ubuntu's packages: the machine's own apt sources, or a folder of .deb files on this host
(copied over the run's connection, for machines that reach no mirror). What was installed is
recorded, with the version the machine got."""
from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError, MachineError
from ..machines.connection import Remote
from .engines import ENGINES

APT = "DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Options::=--force-confold"


def engine_packages(scenario) -> list[str]:
    """docker.io, and the packages of every rootless engine the lab's modes run."""
    wanted = ["docker.io"]
    for mode in scenario.modes.values():
        wanted += [p for p in ENGINES[mode.engine].packages if p not in wanted]
    return wanted


def install_docker(remote: Remote, scenario, packages_folder: str | None, log) -> dict:
    """Installs the engine unless the machine has one; returns what was done, for the manifest."""
    # As root: dockerd lives in /usr/sbin, which a login user's PATH may not hold.
    if remote.run("command -v dockerd", sudo=True).ok:
        return {"installed": False, "reason": "the machine has dockerd"}
    if packages_folder:
        folder = Path(packages_folder).expanduser()
        debs = sorted(folder.glob("*.deb"))
        if not debs:
            raise ConfigError(f"docker packages: no .deb file in {folder}")
        log(f"docker: installing from {len(debs)} packages of {folder}")
        # The login user's own folder (0700): no other user of the machine can swap a package in it
        # before root installs it.
        staged = remote.check("mktemp -d /var/tmp/nslab-docker-packages.XXXXXX").strip()
        for deb in debs:
            remote.put(deb, f"{staged}/{deb.name}")
        # apt resolves what the packages need from the machine's packages and these; a dependency
        # the folder lacks is then sought in the machine's apt sources (an offline machine names it).
        install = f"{APT} --no-install-recommends install {staged}/*.deb; status=$?; rm -rf {staged}; exit $status"
        source = str(folder)
    else:
        wanted = engine_packages(scenario)
        log(f"docker: installing {', '.join(wanted)} from the machine's apt sources")
        # From trixie on the client is a package of its own; older suites have no such package.
        install = (f"{APT} update && {{ extra=$(apt-cache show docker-cli >/dev/null 2>&1 && echo docker-cli); "
                   f"{APT} --no-install-recommends install {' '.join(wanted)} $extra; }}")
        source = "the machine's apt sources"
    result = remote.run(install, sudo=True, timeout=900)
    if not result.ok:
        said = [said for said in result.output.strip().splitlines() if said.startswith(("E:", "dpkg:"))] or \
            result.output.strip().splitlines()[-1:]
        raise MachineError(f"docker: installing the engine failed: {' '.join(said)[:400]}")
    # Debian's packages start the daemon where an init runs it; a container's sysvinit may not.
    remote.run("pidof dockerd >/dev/null || service docker start", sudo=True, timeout=120)
    versions = remote.check("dpkg-query -W -f '${Package} ${Version}\\n' docker.io containerd runc "
                            "2>/dev/null || true")
    got = dict(line.split(" ", 1) for line in versions.splitlines() if " " in line)
    log(f"docker: installed docker.io {got.get('docker.io', '?')}")
    return {"installed": True, "source": source, "packages": got}
