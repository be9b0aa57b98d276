"""The model codecs built at run time (engineapi/models/_codec.py): lazily, once per class,
into the functions a caller may already hold; subclasses, threads, tracebacks."""

from __future__ import annotations

import subprocess
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

import attrs
import pytest

import engineapi.models as models
from engineapi.errors import MissingFieldError
from engineapi.models import PortSummary, PortSummaryType, WireModel, field_info, lenient_decoding
from engineapi.models._base import wire_field

REPO = Path(__file__).resolve().parents[2]


def _run(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout.strip()


def test_the_generated_modules_declare_fields_only() -> None:
    for path in (REPO / "engineapi/models/_generated").glob("*.py"):
        text = path.read_text()
        assert "def from_wire" not in text and "def to_wire" not in text, path.name


def test_a_codec_is_built_on_first_use_not_on_import() -> None:
    out = _run(
        "import sys\n"
        "from engineapi.models import ContainerSummary\n"
        "decode = ContainerSummary.from_wire  # taken before the codec exists\n"
        "print('engineapi.models._codec' in sys.modules)\n"
        "summary = decode({'Id': 'a', 'Ports': [{'PrivatePort': 1, 'Type': 'tcp'}]})\n"
        "from engineapi.models import _codec\n"
        "print(sorted(c.__name__ for c in _codec.BUILT))\n"
        "print(decode.__code__.co_filename.startswith('<engineapi codec'))\n"
        "print(decode.__func__ is ContainerSummary.from_wire.__func__)\n"
        "print(summary.ports[0].type is summary.ports[0].type.TCP)\n"
    )
    assert out.splitlines() == [
        "False",
        "['ContainerSummary']",  # only what decoding met: the ports wait for their first read
        "True",
        "True",
        "True",
    ]


@attrs.define(slots=True, kw_only=True, repr=False)
class _NotedPort(PortSummary):
    note: str | None = wire_field("Note", default=None, since="1.50")


class _PlainPort(PortSummary):
    pass


class _CustomPort(PortSummary):
    @classmethod
    def from_wire(cls, data: Any) -> _CustomPort:
        port = super().from_wire(data)
        port.extra["custom"] = True
        return port


def test_a_subclass_gets_a_codec_of_its_own_keys() -> None:
    decode = _NotedPort.from_wire  # before the first call
    port = decode({"PrivatePort": 1, "Type": "udp", "Note": None, "Later": 2})
    assert type(port) is _NotedPort and port.type is PortSummaryType.UDP
    assert port.extra == {"Later": 2}
    assert port.to_wire() == {"PrivatePort": 1, "Type": "udp", "Note": None, "Later": 2}
    every = dict.fromkeys(info.wire for info in field_info(_NotedPort).values())
    with lenient_decoding():  # every key null, the required ones too
        assert decode(every).to_wire() == every  # the fast path, one key more than the base
        assert PortSummary.from_wire(every).extra == {"Note": None}
    plain = _PlainPort.from_wire({"PublicPort": 80, "PrivatePort": 8, "Type": "tcp"})
    assert type(plain) is _PlainPort and plain.public_port == 80


def test_a_class_that_defines_from_wire_keeps_it_and_can_call_the_base() -> None:
    port = _CustomPort.from_wire({"PrivatePort": 2, "Type": "tcp"})
    assert type(port) is _CustomPort and port.private_port == 2
    assert port.to_wire() == {"PrivatePort": 2, "Type": "tcp", "custom": True}


def test_first_calls_from_many_threads_agree() -> None:
    @attrs.define(slots=True, kw_only=True, repr=False)
    class Fresh(PortSummary):
        note: str | None = wire_field("Note", default=None)

    data = {"PrivatePort": 3, "Type": "sctp", "Note": "n", "Odd": [1]}
    results: list[dict[str, Any]] = []
    start = threading.Barrier(8)

    def first_call() -> None:
        start.wait()
        results.append(Fresh.from_wire(data).to_wire())

    threads = [threading.Thread(target=first_call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [data] * 8


def test_a_traceback_shows_the_codec_line() -> None:
    try:
        models.HostConfig.from_wire(None)  # type: ignore[arg-type]
    except TypeError as error:
        text = "".join(traceback.format_exception(error))
    assert "<engineapi codec engineapi.models._generated.host_config.HostConfig>" in text
    assert "if len(data) == " in text


def test_every_model_builds_and_encodes_in_declaration_order() -> None:
    for name in models.__all__:
        cls = getattr(models, name)
        if not (isinstance(cls, type) and issubclass(cls, WireModel)) or cls is WireModel:
            continue
        keys = [info.wire for info in field_info(cls).values()]
        with lenient_decoding():  # every key null, the required ones too
            decoded = cls.from_wire(dict.fromkeys(reversed(keys)))
        assert list(decoded.to_wire()) == keys, name


def test_the_base_class_has_no_codec() -> None:
    with pytest.raises(NotImplementedError):
        WireModel.from_wire({})


def test_a_codec_is_built_after_its_module_left_sys_modules() -> None:
    """pytester and reloaders drop modules from sys.modules while their classes live on."""
    out = _run(
        "import sys\n"
        "from engineapi.models import SystemVersion, SystemVersionPlatform\n"
        "del sys.modules[SystemVersion.__module__]\n"
        "v = SystemVersion.from_wire({'Platform': {'Name': 'Docker Engine'}})\n"
        "print(type(v.platform) is SystemVersionPlatform, v.platform.name)\n"
    )
    assert out == "True Docker Engine"


# -- nested models decoded on first read --------------------------------------------------------

_SUMMARY: dict[str, Any] = {
    "Id": "c" * 64,
    "Names": ["/web"],
    "Ports": [{"PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}],
    "HostConfig": {"NetworkMode": "bridge"},
    "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.2", "Aliases": None}}},
    "Mounts": [{"Type": "volume", "Name": "data", "RW": True}],
}


def _slot_is_set(model: WireModel, attr: str) -> bool:
    try:
        object.__getattribute__(model, attr)
    except AttributeError:
        return False
    return True


def test_nested_models_that_cannot_fail_are_decoded_on_first_read() -> None:
    """A list reply's nested models are most of what decoding allocates, and most callers read
    a few top-level fields: those whose decoding cannot raise wait until they are read."""
    summary = models.ContainerSummary.from_wire(_SUMMARY)
    assert not _slot_is_set(summary, "host_config")
    assert not _slot_is_set(summary, "network_settings")
    assert not _slot_is_set(summary, "mounts")
    assert _slot_is_set(summary, "names")

    host_config = summary.host_config
    assert isinstance(host_config, models.ContainerSummaryHostConfig)
    assert host_config.network_mode == "bridge"
    assert summary.host_config is host_config  # decoded once, then stored
    assert _slot_is_set(summary, "host_config")
    endpoint = summary.network_settings.networks["bridge"]  # type: ignore[union-attr, index]
    assert endpoint.ip_address == "172.17.0.2"
    assert models.is_null(endpoint, "Aliases")
    assert summary.mounts[0].rw is True  # type: ignore[index]
    assert _slot_is_set(summary, "_wire_raw")  # the ports still wait: the reply is kept
    assert summary.ports[0].private_port == 80  # type: ignore[index]
    assert not _slot_is_set(summary, "_wire_raw")  # every one decoded: the reply let go


def test_a_nested_model_lacking_a_required_key_is_decoded_at_once() -> None:
    """PortSummary requires PrivatePort: deferred only when every port has it (checked with a
    few lookups, no objects made); its absence raises where the reply is decoded (with the
    operation named by the client), not later at some attribute read."""
    summary = models.ContainerSummary.from_wire(_SUMMARY)
    assert not _slot_is_set(summary, "ports")  # every required key there: it can wait
    assert summary.ports == [PortSummary(private_port=80, public_port=8080, type="tcp")]
    broken = {**_SUMMARY, "Ports": [{"PublicPort": 8080, "Type": "tcp"}]}
    with pytest.raises(MissingFieldError, match="PortSummary.private_port"):
        models.ContainerSummary.from_wire(broken)
    with lenient_decoding():
        assert models.ContainerSummary.from_wire(broken).ports[0].private_port is None  # type: ignore[index]


def test_a_deferred_decode_behaves_like_an_eager_one() -> None:
    import copy
    import pickle

    eager = models.ContainerSummary.from_wire(_SUMMARY)
    _ = eager.host_config, eager.network_settings, eager.mounts
    for fresh in (
        lambda: models.ContainerSummary.from_wire(_SUMMARY),
        lambda: pickle.loads(pickle.dumps(models.ContainerSummary.from_wire(_SUMMARY))),
        lambda: copy.deepcopy(models.ContainerSummary.from_wire(_SUMMARY)),
    ):
        assert fresh() == eager
        assert fresh().to_wire() == _SUMMARY
        assert repr(fresh()) == repr(eager)
        assert attrs.asdict(fresh()) == attrs.asdict(eager)
    assignment = models.ContainerSummary.from_wire(_SUMMARY)
    assignment.host_config = None  # an assignment before the first read wins
    assert assignment.host_config is None
    assert "HostConfig" not in assignment.to_wire()


def test_a_misspelt_attribute_still_raises_attribute_error() -> None:
    summary = models.ContainerSummary.from_wire(_SUMMARY)
    with pytest.raises(
        AttributeError, match="'ContainerSummary' object has no attribute 'host_cfg'"
    ):
        summary.host_cfg  # type: ignore[attr-defined]  # noqa: B018
    assert not hasattr(summary, "host_cfg")


def _first_reads(summary: models.ContainerSummary, threads: int) -> list[object]:
    seen: list[object] = []
    start = threading.Barrier(threads)

    def read() -> None:
        start.wait()
        seen.append(summary.network_settings)

    running = [threading.Thread(target=read) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    return seen


def test_threads_reading_a_deferred_attribute_first_get_one_object() -> None:
    for _ in range(20):
        summary = models.ContainerSummary.from_wire(_SUMMARY)
        seen = _first_reads(summary, 6)
        assert len(seen) == 6
        assert all(item is summary.network_settings for item in seen)


def test_which_attributes_wait_for_their_first_read() -> None:
    """The nested models, alone, in lists or in maps (those with a required key below them
    only when the reply has it: see the test above)."""
    models.ContainerSummary.from_wire(_SUMMARY)  # builds the codec
    assert set(models.ContainerSummary._wire_late) == {
        "ports",
        "image_manifest_descriptor",
        "host_config",
        "network_settings",
        "mounts",
        "health",
    }
