"""lab.yaml: provider variants of a box, and the rules a box row must follow."""
from pathlib import Path

import pytest

from nslab.errors import ConfigError
from nslab.machines.inventory import load_lab
from nslab.paths import PROJECT_ROOT


def test_provider_picks_the_libvirt_machine_of_the_same_distro():
    lab = load_lab()
    assert lab.box("debian12", "libvirt").name == "debian12-vm"
    assert lab.box("debian12", "docker").name == "debian12"
    assert lab.box("debian12-vm", "libvirt").name == "debian12-vm"
    assert lab.box("debian12").provider == "docker"


def test_a_box_without_that_provider_is_refused_naming_what_it_has():
    with pytest.raises(ConfigError, match=r"box 'debian11' has no libvirt machine in lab.yaml "
                                          r"\(it has: docker \(debian11\)\)"):
        load_lab().box("debian11", "libvirt")


def test_vm_boxes_built_here_are_named_nslab_and_public_ones_keep_their_name():
    lab = load_lab()
    assert lab.box("debian12-vm").built_here and lab.box("debian12-vm").box_name == "nslab/debian12-vm"
    assert not lab.box("ubuntu1604-libvirt").built_here
    assert lab.box("ubuntu1604-libvirt").box_name == "generic/ubuntu1604"


def _lab_with(tmp_path: Path, old: str, new: str) -> Path:
    text = (PROJECT_ROOT / "lab.yaml").read_text()
    assert old in text
    path = tmp_path / "lab.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_a_libvirt_box_with_both_a_recipe_and_a_download_is_refused_with_its_line(tmp_path):
    path = _lab_with(tmp_path, "    same_as: debian12\n", "    same_as: debian12\n    vagrant_box: x/y\n")
    with pytest.raises(ConfigError, match=r"lab.yaml:\d+: .*a libvirt box needs either suite"):
        load_lab(path)


def test_same_as_must_name_a_box(tmp_path):
    path = _lab_with(tmp_path, "    same_as: debian12\n", "    same_as: debian99\n")
    with pytest.raises(ConfigError, match=r"unknown box 'debian99'"):
        load_lab(path)


def test_bad_providers_are_refused_before_anything_runs():
    from nslab.commands import build, up
    with pytest.raises(ConfigError, match=r"--provider xen: expected one of docker, libvirt, ssh, virtualbox"):
        up.execute("userns", provider="xen")
    with pytest.raises(ConfigError, match=r"--provider virtualbox: no box of lab.yaml is built here"):
        build.execute(provider="virtualbox")
    with pytest.raises(ConfigError, match=r"box 'debian11' has no libvirt machine"):
        build.execute("debian11", provider="libvirt")


def test_the_debian_mirror_is_read_from_apt_sources_of_either_format():
    from nslab.machines.boxes import _apt_uris
    one_line = ("deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://mirror.invalid/debian bookworm main\n"
                "# deb http://commented.invalid/debian bookworm main\n")
    assert _apt_uris(one_line) == ["http://mirror.invalid/debian"]
    deb822 = ("Types: deb\nURIs: http://off.invalid/debian\nEnabled: no\n\n"
              "Types: deb\nURIs: http://on.invalid/debian\nSuites: bookworm\n")
    assert _apt_uris(deb822) == ["http://on.invalid/debian"]


def test_only_a_container_vanishing_under_vagrants_port_check_brings_a_machine_up_again():
    from nslab.machines.vagrant import VANISHED_CONTAINER

    # As Vagrant 2.3.4 said it in a matrix run, while a machine beside it was destroyed.
    vanished = ('A Docker command executed by Vagrant didn\'t complete successfully! The command run along '
                'with the output from the command is shown below. Command: ["docker", "inspect", '
                '"a083e281e087987eff58de88f94e49068748f6f98daa979b79934dd30c26d0ec", {:notify=>[:stdout, '
                ':stderr]}]\nStderr: Error: No such object: a083e281e087987eff58de88f94e49068748f6f98daa979b7993'
                '4dd30c26d0ec\nStdout: []')
    assert VANISHED_CONTAINER.search(vanished)
    assert not VANISHED_CONTAINER.search('Command: ["docker", "run", "--name", "x"] Stderr: No such image')
