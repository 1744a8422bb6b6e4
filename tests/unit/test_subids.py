import pytest

from nslab.errors import ConfigError
from nslab.subids import SubIdRange, map_to_host, next_free_start, overlapping, parse_subids, range_of

MACHINE = "vagrant:100000:65536\ndockremap:165536:65536\n"


def test_parses_name_start_count_lines():
    ranges = parse_subids(MACHINE)
    assert ranges == [SubIdRange("vagrant", 100000, 65536), SubIdRange("dockremap", 165536, 65536)]
    assert range_of(ranges, "dockremap").start == 165536
    assert range_of(ranges, "nobody") is None


def test_malformed_line_names_file_and_line():
    with pytest.raises(ConfigError, match=r"^/etc/subgid:2: expected name:start:count, got 'bozo:5000'$"):
        parse_subids("vagrant:100000:65536\nbozo:5000\n", "/etc/subgid")


def test_container_ids_map_through_the_remap_users_range():
    ranges = parse_subids(MACHINE)
    assert map_to_host(ranges, None, 1000) == 1000          # no remapping: identity
    assert map_to_host(ranges, "dockremap", 0) == 165536
    assert map_to_host(ranges, "dockremap", 1000) == 166536
    assert map_to_host(ranges, "dockremap", 65536) is None   # beyond the range: unmapped
    assert map_to_host(ranges, "ghost", 0) is None


def test_several_ranges_of_one_user_map_in_order_of_start():
    ranges = parse_subids("bozo:300000:10\nbozo:5000:10\n")
    assert range_of(ranges, "bozo").start == 5000
    assert map_to_host(ranges, "bozo", 9) == 5009
    assert map_to_host(ranges, "bozo", 10) == 300000


def test_overlap_and_next_free_range():
    ranges = parse_subids(MACHINE)
    assert overlapping(ranges, SubIdRange("bozo", 5000, 10000)) == []
    assert overlapping(ranges, SubIdRange("bozo", 160000, 10000)) == [ranges[0], ranges[1]]
    assert next_free_start(ranges, 65536) == 231072
    assert next_free_start(parse_subids("a:100000:10\nb:200000:10\n"), 50000) == 100010
