from nslab.judge.normalize import error_line, normalize_line


def test_ids_digests_times_and_durations_are_stripped():
    line = ('time="2026-11-22T07:02:28.34542583Z" level=error msg="response completed with error" '
            'err.detail="filesystem: mkdir /var/lib/registry/docker: permission denied" '
            'http.response.duration="843.699µs" id=57970ecc2f59 digest=sha256:' + "ab" * 32)
    normal = normalize_line(line)
    assert "2026" not in normal and "57970ecc2f59" not in normal and "843.699" not in normal
    assert 'time="<time>"' in normal and "id=<id>" in normal and "digest=sha256:<digest>" in normal
    assert "filesystem: mkdir /var/lib/registry/docker: permission denied" in normal


def test_vagrant_ports_go_but_the_lab_registry_port_stays():
    assert normalize_line("ssh vagrant@127.0.0.1:2201") == "ssh vagrant@127.0.0.1:<port>"
    assert normalize_line("push 127.0.0.1:5000/hello-world") == "push 127.0.0.1:5000/hello-world"


def test_the_first_error_line_is_kept():
    output = "Using default tag: latest\nreceived unexpected HTTP status: 500 Internal Server Error\n"
    assert error_line(output) == "received unexpected HTTP status: 500 Internal Server Error"
    assert error_line("all good\n") is None

