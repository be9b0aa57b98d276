"""Call building: query encoding, filters, timestamps, version gating — no I/O."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest

from engineapi import OPERATIONS, APIVersionError
from engineapi.api import containers, images, system
from engineapi.api._call import encode_filters, encode_timestamp
from engineapi.api._versions import check, negotiate, version_key


def query_of(target: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(target).query)


def test_target_has_version_prefix_and_encoded_query() -> None:
    call = containers.list(all=True, limit=3, filters={"label": ["a=b"], "status": "running"})
    target = call.target("1.51")
    assert target.startswith("/v1.51/containers/json?")
    query = dict(query_of(target))
    assert query["all"] == "1" and query["limit"] == "3"
    assert json.loads(query["filters"]) == {"label": ["a=b"], "status": ["running"]}
    assert "size" not in query  # defaults are not sent


def test_unversioned_ping() -> None:
    assert system.ping().target("1.51") == "/_ping"
    assert system.ping_head().method == "HEAD"


def test_repeated_query_parameter() -> None:
    call = system.data_usage(type=["image", "volume"])
    assert query_of(call.target("1.51")) == [("type", "image"), ("type", "volume")]


def test_filters_mapping_form_passes_through() -> None:
    assert json.loads(encode_filters({"dangling": {"true": True}}) or "") == {
        "dangling": {"true": True}
    }
    assert encode_filters({}) is None


def test_timestamps() -> None:
    assert encode_timestamp(1700000000) == "1700000000"
    moment = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert float(encode_timestamp(moment) or 0) == moment.timestamp()
    assert encode_timestamp("2024-01-02T03:04:05Z") == "2024-01-02T03:04:05Z"
    ago = float(encode_timestamp(timedelta(minutes=5)) or 0)
    assert ago == pytest.approx(datetime.now(UTC).timestamp() - 300, abs=5)
    with pytest.raises(TypeError):
        encode_timestamp(True)


def test_every_builder_names_a_real_operation() -> None:
    for call in [
        system.ping(),
        system.ping_head(),
        system.version(),
        system.info(),
        system.events(),
        system.data_usage(),
        containers.list(),
        images.list(),
    ]:
        operation = OPERATIONS[call.operation_id]
        assert operation.http_method == call.method
        assert operation.path == call.path


def test_gating_by_operation_parameter() -> None:
    call = images.list(manifests=True)
    check(call, version_key("1.47"), "1.47")
    with pytest.raises(APIVersionError, match="'manifests'.*1.47"):
        check(call, version_key("1.46"), "1.46")


def test_gating_refuses_a_parameter_newer_specs_removed() -> None:
    """``keep-storage`` of ``POST /build/prune`` is in the specs up to 1.51 only."""
    call = images.build_prune(keep_storage=1 << 30)
    for version in ("1.41", "1.51"):
        check(call, version_key(version), version)
    with pytest.raises(APIVersionError, match="'keep-storage'.*removed after API 1.51.*1.52"):
        check(call, version_key("1.52"), "1.52")
    check(images.build_prune(), version_key("1.55"), "1.55")  # not given: nothing to refuse


def test_an_optional_parameter_is_sent_only_where_the_version_has_it() -> None:
    from engineapi.api._versions import supported

    ws = containers.attach_websocket("c")
    assert not supported(ws, "stdout", version_key("1.41"))
    assert supported(ws, "stdout", version_key("1.42"))
    prune = images.build_prune()
    assert supported(prune, "keep-storage", version_key("1.51"))
    assert not supported(prune, "keep-storage", version_key("1.52"))


def test_negotiation() -> None:
    assert negotiate("1.41", "h") == "1.41"
    assert negotiate("1.99", "h") == "1.55"
    with pytest.raises(APIVersionError, match="1.40"):
        negotiate("1.40", "h")


def test_decode_list_pauses_the_collector_only_while_decoding() -> None:
    import gc

    from engineapi.api._call import Reply, decode_list
    from engineapi.errors import RemoteProtocolError
    from engineapi.http import Headers
    from engineapi.models import ContainerSummary

    decode = decode_list(ContainerSummary)
    reply = Reply(200, Headers([]), b'[{"Id": "a", "Names": ["/x"]}, {"Id": "b"}]')
    assert gc.isenabled()
    assert [c.id for c in decode(reply)] == ["a", "b"]
    assert gc.isenabled()
    with pytest.raises(RemoteProtocolError):
        decode(Reply(200, Headers([]), b"[{"))
    assert gc.isenabled()  # restored after an error too
    gc.disable()
    try:
        decode(reply)
        assert not gc.isenabled()  # a caller's choice is left alone
    finally:
        gc.enable()
    assert decode(Reply(200, Headers([]), b"null")) == []
