"""`invoke restore`: existing hosts restored from the bundle a run kept on them (a run cut off before
it restored), then verified."""
from __future__ import annotations

import functools

from ..errors import ConfigError, NslabError
from ..machines.inventory import load_lab
from .common import NO_HOSTS, HostTargets, log, parse_boxes


def execute(box_names: str | None, hosts: HostTargets = NO_HOSTS) -> int:
    from ..machines.connection import Remote
    from ..machines.existing import ExistingHost
    from ..machines.providers import PROVIDERS
    from ..run import restore as restoring

    if not box_names and not hosts.spec:
        raise ConfigError("restore: name the host, --box NAME (an ssh box of lab.yaml) or --host USER@HOST[:PORT]")
    boxes = parse_boxes(box_names, load_lab(), hosts=hosts)
    for box in boxes:
        if not PROVIDERS[box.provider].existing_host:
            raise ConfigError(f"restore: box {box.name} is a machine nslab builds ({box.provider}); "
                              f"only existing hosts (provider ssh) are restored")
    code = 0
    for box in boxes:
        host = ExistingHost(box, accept_new_host_key=hosts.accept_new_host_key)
        said = functools.partial(_said_for, host.address)
        try:
            remote = Remote(host.ssh_endpoint()).open(attempts_until=10)
            try:
                if not remote.run("true", sudo=True).ok:
                    raise restoring.HostRefused(f"host {host.address}: passwordless sudo is required")
                done = restoring.restore_pending(remote, host.address, said, asked=True)
            finally:
                remote.close()
        except Exception as exc:      # one host that cannot be restored does not stop the others
            code = 2
            log(f"{host.address}: not restored: {exc if isinstance(exc, NslabError) else repr(exc)}")
            continue
        if done is None:
            said("no restore bundle on the host: nothing to restore")
        elif done[1]:
            code = 2
            for line in done[1]:
                said(f"not as found: {line}")
        else:
            said("restored and verified as the run found it; bundle removed")
    return code


def _said_for(address: str, text: str) -> None:
    log(f"{address}: {text}")
