import pytest

from nslab.config.scenario import load_scenario, render
from nslab.errors import ConfigError
from nslab.machines.inventory import load_lab

GOOD = """\
name: tiny
title: a tiny lab
images:
  alpine: {pull: alpine, offline: alpine}
modes:
  root: {}
steps:
  - id: id
    title: id
    mode: root
    run: docker run --rm {images.alpine} id
"""


def write(tmp_path, text):
    path = tmp_path / "lab.yaml"
    path.write_text(text)
    return str(path)


def error_of(tmp_path, text):
    with pytest.raises(ConfigError) as caught:
        load_scenario(write(tmp_path, text))
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_the_userns_lab_loads_with_its_three_modes():
    scenario = load_scenario("userns")
    assert list(scenario.modes) == ["root", "userns", "bozo"]
    assert scenario.modes["bozo"].subid_start == 5000
    assert {s.expect.uid.container for s in scenario.steps if s.expect.uid} == {"registry", "clock"}


def test_a_good_file_loads(tmp_path):
    assert load_scenario(write(tmp_path, GOOD)).steps[0].id == "id"


def test_malformed_yaml_names_the_line(tmp_path):
    message = error_of(tmp_path, GOOD.replace("  root: {}", "  root: {"))
    assert message.startswith(f"{tmp_path}/lab.yaml:") and "invalid YAML" in message


def test_unknown_key_names_line_and_key(tmp_path):
    message = error_of(tmp_path, GOOD + "    expect: {exit: 0, stdout_has: x}\n")
    assert message == f"{tmp_path}/lab.yaml:12: steps[0].expect.stdout_has: unknown key 'stdout_has'"


def test_missing_field_names_where_it_is_missing(tmp_path):
    message = error_of(tmp_path, GOOD.replace("    title: id\n", ""))
    assert message == f"{tmp_path}/lab.yaml:8: steps[0]: missing required key 'title'"


def test_wrong_type_names_the_value(tmp_path):
    message = error_of(tmp_path, GOOD + "    timeout: soon\n")
    assert message.startswith(f"{tmp_path}/lab.yaml:12: steps[0].timeout: ")


def test_unknown_mode_lists_the_known_ones(tmp_path):
    message = error_of(tmp_path, GOOD.replace("    mode: root", "    mode: userns"))
    assert message == f"{tmp_path}/lab.yaml:10: steps[0].mode: unknown mode 'userns' (this scenario defines: root)"


def test_unknown_placeholder_is_refused(tmp_path):
    message = error_of(tmp_path, GOOD.replace("{images.alpine}", "{images.busybox}"))
    assert message.startswith(f"{tmp_path}/lab.yaml:11: steps[0].run: unknown placeholder '{{images.busybox}}'")


def test_duplicate_key_is_refused(tmp_path):
    message = error_of(tmp_path, GOOD.replace("    mode: root\n", "    mode: root\n    mode: root\n"))
    assert message == f"{tmp_path}/lab.yaml:11: steps[0].mode: duplicate key"


def test_a_step_needs_run_or_action_not_both(tmp_path):
    message = error_of(tmp_path, GOOD + "    action: images\n    images: [alpine]\n")
    assert "exactly one of 'run' or 'action'" in message and ":8: steps[0]:" in message


def test_remap_range_needs_a_user_of_its_own(tmp_path):
    message = error_of(tmp_path, GOOD.replace("  root: {}", "  root: {userns_remap: default, subid_start: 5000}"))
    assert "subid_start applies only to a remap user of its own" in message


def test_unknown_scenario_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"^unknown scenario 'nope' \(known: .*userns.*\)$"):
        load_scenario("nope")


def test_placeholders_are_shell_quoted():
    rendered = render("docker run {images.alpine} id", {"alpine": "x; touch /tmp/pwned"})
    assert rendered == "docker run 'x; touch /tmp/pwned' id"


def test_lab_yaml_defines_the_local_box():
    box = load_lab().box("debian12")
    assert (box.provider, box.config_style, box.lab_images) == ("docker", "daemon-json", "offline")
    with pytest.raises(ConfigError, match="unknown box 'xenial'"):
        load_lab().box("xenial")


MATERIAL = GOOD.replace("images:\n", "files:\n  notes: notes\nimages:\n  built: {build: recipe, base: alpine}\n") \
    .replace("{images.alpine} id", "-v {files.notes}:/notes {images.built} id")


def material(tmp_path, dockerfile=True):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("a\n")
    (tmp_path / "recipe").mkdir()
    if dockerfile:
        (tmp_path / "recipe" / "Dockerfile").write_text("ARG BASE\nFROM ${BASE}\n")


def test_files_and_a_built_image_load_and_render(tmp_path):
    material(tmp_path)
    scenario = load_scenario(write(tmp_path, MATERIAL))
    assert scenario.files == {"notes": "notes"} and scenario.images["built"].base == "alpine"
    rendered = render(scenario.steps[0].run, {"built": "nslab/tiny-built:built"},
                      {"notes": "/tmp/nslab-files/tiny/notes"})
    assert rendered == "docker run --rm -v /tmp/nslab-files/tiny/notes:/notes nslab/tiny-built:built id"


@pytest.mark.parametrize("change, line, wanted", [
    (lambda text: text.replace("notes: notes", "notes: ../elsewhere"), 4, "no absolute path, no '..'"),
    (lambda text: text.replace("notes: notes", "notes: /etc"), 4, "no absolute path, no '..'"),
    (lambda text: text.replace("notes: notes", "notes: missing"), 4, "'missing' is not a folder beside the scenario"),
    (lambda text: text.replace("build: recipe", "build: notes"), 6, "'notes' holds no Dockerfile"),
    (lambda text: text.replace("base: alpine", "base: built"), 6, "'built' is not an image this scenario pulls"),
    (lambda text: text.replace("{build: recipe, base: alpine}", "{build: recipe}"), 6,
     "a built image names its 'base'"),
    (lambda text: text.replace("{files.notes}", "{files.other}"), 14, "unknown placeholder '{files.other}'"),
])
def test_material_is_checked_at_load_time_with_file_and_line(tmp_path, change, line, wanted):
    material(tmp_path)
    message = error_of(tmp_path, change(MATERIAL))
    assert message.startswith(f"{tmp_path}/lab.yaml:{line}: ") and wanted in message, message


def test_a_link_leaving_the_scenarios_folder_is_refused(tmp_path):
    material(tmp_path)
    (tmp_path / "notes" / "passwd").symlink_to("/etc/passwd")
    message = error_of(tmp_path, MATERIAL)
    assert message.startswith(f"{tmp_path}/lab.yaml:4: files.notes: ")
    assert "a symbolic link leaving the folder" in message


QUESTIONS = """\
name: asked
title: one question in three modes
images:
  alpine: {pull: alpine, offline: alpine}
modes:
  root: {}
  user: {container_options: "--user 1000:1000"}
  podman: {engine: rootless-podman, user: nslab-podman}
steps:
  - id: setup
    title: setup
    mode: root
    run: "true"
  - each_mode: [root, user, podman]
    steps:
      - id: cat
        title: reads the secret
        run: "{mode.engine} run --rm {mode.options} {images.alpine} cat /secret"
        refs: [https://docs.docker.com/engine/security/rootless/]
        expect: {exit: nonzero, output_contains: Permission denied}
        expect_in:
          root: {exit: 0, output_contains: null}
"""


def test_a_block_of_questions_is_asked_mode_by_mode_with_the_modes_own_expectations(tmp_path):
    steps = load_scenario(write(tmp_path, QUESTIONS)).steps
    assert [(s.id, s.mode, s.question) for s in steps] == [
        ("setup", "root", None), ("cat-root", "root", "cat"), ("cat-user", "user", "cat"),
        ("cat-podman", "podman", "cat")]
    by_id = {s.id: s for s in steps}
    assert by_id["cat-root"].expect.checks() == ["exit"] and by_id["cat-root"].expect.exit == 0
    assert by_id["cat-podman"].expect.exit == "nonzero"
    assert by_id["cat-podman"].expect.output_contains == "Permission denied"
    assert by_id["cat-user"].refs == ["https://docs.docker.com/engine/security/rootless/"]


@pytest.mark.parametrize("change, where, says", [
    (("          root: {exit: 0, output_contains: null}", "          rootless: {exit: 0}"),
     ":22: steps[1].steps[0].expect_in.rootless", "'rootless' is not a mode of this block (root, user, podman)"),
    (("  - each_mode: [root, user, podman]", "  - each_mode: [root, ghost]"),
     ":14: steps[1].each_mode[1]", "unknown mode 'ghost'"),
    (("        title: reads the secret", "        title: reads the secret\n        mode: root"),
     ":18: steps[1].steps[0].mode", "a step of an each_mode block takes its mode from the block"),
    (("          root: {exit: 0, output_contains: null}", "          root: {exit: maybe}"),
     ":22: steps[1].steps[0].expect_in.root.exit", "Input should be"),
    (("{mode.options}", "{mode.flags}"), ":18: steps[1].steps[0].run", "unknown placeholder '{mode.flags}'"),
    (("  user: {container_options: \"--user 1000:1000\"}", "  user: {container_options: \"--user 1000; rm -rf /\"}"),
     ":7: modes.user.container_options", "should match pattern"),
    (("  podman: {engine: rootless-podman, user: nslab-podman}", "  podman: {engine: rootless-podman}"),
     ":8: modes.podman", "engine rootless-podman needs 'user'"),
    (("  podman: {engine: rootless-podman, user: nslab-podman}", "  podman: {engine: lxc, user: x}"),
     ":8: modes.podman", "engine: unknown 'lxc' (known: dockerd, rootless-docker, rootless-podman)"),
    (("  podman: {engine: rootless-podman, user: nslab-podman}",
      "  podman: {engine: rootless-podman, user: x, userns_remap: default}"),
     ":8: modes.podman", "userns_remap, subid_start and daemon_options apply to the machine's dockerd"),
])
def test_a_bad_question_block_or_mode_names_its_line(tmp_path, change, where, says):
    message = error_of(tmp_path, QUESTIONS.replace(*change))
    assert message.startswith(f"{tmp_path}/lab.yaml{where}: "), message
    assert says in message


def test_mode_placeholders_are_written_as_they_are_and_the_others_quoted():
    command = render("{mode.engine} run {mode.options} {images.alpine} cat {files.notes}",
                     {"alpine": "nslab/alpine:offline"}, {"notes": "/srv/my notes"},
                     {"engine": "sudo -n -u u env HOME=/home/u podman", "options": "--user 1000:1000"})
    assert command == ("sudo -n -u u env HOME=/home/u podman run --user 1000:1000 nslab/alpine:offline "
                       "cat '/srv/my notes'")


def test_expect_in_outside_a_block_and_data_root_under_a_rootless_engine_are_refused(tmp_path):
    message = error_of(tmp_path, GOOD + "    expect_in: {root: {exit: 0}}\n")
    assert message == f"{tmp_path}/lab.yaml:12: steps[0].expect_in: expect_in applies to a step of an each_mode block"
    rootless = QUESTIONS.replace('''  - id: setup
    title: setup
    mode: root''', '''  - id: setup
    title: setup
    mode: podman
    expect: {data_root: true}''')
    message = error_of(tmp_path, rootless)
    assert message.startswith(f"{tmp_path}/lab.yaml:13: steps[0].expect: data_root judges the machine's dockerd")
