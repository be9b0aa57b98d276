"""Per-layer progress aggregation, fed the messages a daemon sends during a pull and a push."""

from __future__ import annotations

from engineapi.models import CreateImageInfo, PushImageInfo
from engineapi.streams.progress import ProgressTracker

# The shape Docker 28 sends for `docker pull` of a two-layer image (ids shortened by the daemon).
PULL = [
    {"status": "Pulling from library/app", "id": "1.0"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "aaa111"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "bbb222"},
    {"status": "Downloading", "progressDetail": {"current": 500, "total": 1000}, "id": "aaa111"},
    {"status": "Downloading", "progressDetail": {"current": 100, "total": 4000}, "id": "bbb222"},
    {"status": "Download complete", "progressDetail": {}, "id": "aaa111"},
    {"status": "Extracting", "progressDetail": {"current": 1000, "total": 1000}, "id": "aaa111"},
    {"status": "Pull complete", "progressDetail": {}, "id": "aaa111"},
    {"status": "Downloading", "progressDetail": {"current": 3000, "total": 4000}, "id": "bbb222"},
]


def test_pull_layers_are_tracked_in_order() -> None:
    tracker = ProgressTracker()
    for message in PULL:
        tracker.feed(CreateImageInfo.from_wire(message))
    assert list(tracker.layers) == ["1.0", "aaa111", "bbb222"]
    assert tracker.layers["aaa111"].done
    assert tracker.layers["bbb222"].fraction == 0.75
    assert tracker.total() == (3000, 4000)  # the finished layer's size is not known any more
    lines = tracker.render(width=10)
    assert lines[1] == "aaa111: Pull complete"
    assert lines[2] == "bbb222: Downloading [======>   ] 3.0 kB/4.0 kB"
    assert not tracker.complete
    tracker.feed(CreateImageInfo.from_wire({"status": "Pull complete", "id": "bbb222"}))
    tracker.feed(CreateImageInfo.from_wire({"status": "Digest: sha256:abc"}))
    assert tracker.messages == ["Digest: sha256:abc"]


def test_push_messages_carry_their_id_outside_the_spec() -> None:
    tracker = ProgressTracker()
    for message in [
        {"status": "The push refers to repository [127.0.0.1:15000/x]"},
        {"status": "Preparing", "progressDetail": {}, "id": "ccc333"},
        {"status": "Pushing", "progressDetail": {"current": 512, "total": 2048}, "id": "ccc333"},
        {"status": "Pushed", "progressDetail": {}, "id": "ccc333"},
    ]:
        tracker.feed(PushImageInfo.from_wire(message))
    assert tracker.layers["ccc333"].done and tracker.complete
    assert tracker.messages == ["The push refers to repository [127.0.0.1:15000/x]"]


def test_plain_dicts_work_too() -> None:
    tracker = ProgressTracker()
    tracker.feed(
        {"id": "l1", "status": "Loading layer", "progressDetail": {"current": 5, "total": 5}}
    )
    assert tracker.layers["l1"].done


def test_wrong_typed_fields_are_absent_not_a_crash() -> None:
    """What the fuzzer fed: progressDetail as a string, a list, counts as strings, NaN."""
    tracker = ProgressTracker()
    for message in [
        {"id": "a", "status": "Downloading", "progressDetail": "50%"},
        {"id": "a", "status": "Downloading", "progressDetail": [1, 2]},
        {"id": "a", "status": "Downloading", "progressDetail": {"current": "1", "total": {}}},
        {"id": "a", "status": "Downloading", "progressDetail": {"current": float("nan")}},
        {"id": ["x"], "status": 5},
        {"id": "b", "status": "Downloading", "progressDetail": {"current": 5, "total": 10.0}},
    ]:
        tracker.feed(message)
    assert tracker.layers["a"].current is None
    assert (tracker.layers["b"].current, tracker.layers["b"].total) == (5, 10)
    assert tracker.total() == (5, 10)
    assert tracker.render()  # renders without error
    decoded = CreateImageInfo.from_wire({"id": "c", "progressDetail": "broken"})
    tracker.feed(decoded)
    assert tracker.layers["c"].current is None
