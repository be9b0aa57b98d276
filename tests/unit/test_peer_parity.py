"""Issue #16 (peer parity), what needs no daemon: argument checks and model null tracking."""

from __future__ import annotations

import pytest

from engineapi import InvalidArgument, PortMapping
from engineapi.api import containers


@pytest.mark.parametrize("bad", ["80/tcpx", "http", "", True, 8.0, "80-81"])
def test_port_refuses_what_is_not_a_container_port(bad: object) -> None:
    with pytest.raises(InvalidArgument) as caught:
        containers.port("c", bad)  # type: ignore[arg-type]
    assert caught.value.argument == "private_port"


def test_port_mapping_prints_as_the_cli() -> None:
    assert str(PortMapping("80/tcp", "::", 8080)) == "80/tcp -> [::]:8080"
    assert PortMapping("53/udp", "", 5353).host == ":5353"
