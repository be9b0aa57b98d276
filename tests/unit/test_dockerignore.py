"""``.dockerignore`` parsing and matching, and build contexts from a directory.

The expectations are the docker CLI's (its pattern matcher and its classic-builder context
walk); tests/conformance/test_build_context_vs_cli.py checks the same cases against the real
CLI.
"""

from __future__ import annotations

import io
import os
import tarfile
import time
import tracemalloc
from pathlib import Path

import pytest

from engineapi.api import images
from engineapi.archive.dockerignore import (
    BuildContextError,
    DockerIgnore,
    DockerignoreError,
    build_context,
    read_patterns,
    resolve_dockerfile,
)


def names(chunks: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(chunks)) as tar:
        return [m.name.rstrip("/") for m in tar.getmembers()]


def members(chunks: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(chunks)) as tar:
        return {m.name.rstrip("/"): m for m in tar.getmembers()}


def tree(root: Path, *paths: str) -> Path:
    for path in paths:
        target = root / path
        if path.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path)
    return root


# ---------------------------------------------------------------------------------------------
# Reading a .dockerignore


@pytest.mark.parametrize(
    ("text", "patterns"),
    [
        ("# comment\n\nfoo\n", ["foo"]),
        (" # not a comment\n", ["# not a comment"]),  # only column one starts a comment
        ("  spaced  \n\tTab\t\n", ["spaced", "Tab"]),
        ("/abs\n/\n./rel\n", ["abs", "/", "rel"]),
        ("a//b/./c/\n", ["a/b/c"]),
        ("a/../b\n../up\n/..\n", ["b", "../up", "/"]),
        ("!keep\n!  ./spaced/\n", ["!keep", "!spaced"]),
        ("!\n", ["!"]),  # refused later, by DockerIgnore
        ("crlf\r\nlast", ["crlf", "last"]),
        ("\ufeffbom\n\ufeffsecond\n", ["bom", "\ufeffsecond"]),  # only the first line's
        ("\xa0nbsp\u3000\n", ["nbsp"]),  # Go's TrimSpace trims Unicode spaces…
        ("\x1cfs\n", ["\x1cfs"]),  # …but not what Python alone calls space
        ("", []),
        ("\n\n", []),
    ],
)
def test_read_patterns(text: str, patterns: list[str]) -> None:
    assert read_patterns(text) == patterns
    assert read_patterns(text.encode()) == patterns


def test_a_bom_is_dropped_from_the_first_line_only_in_bytes() -> None:
    assert read_patterns(b"\xef\xbb\xbf#c\nx\n") == ["x"]


def test_a_line_over_64_kib_is_refused_like_the_cli() -> None:
    assert read_patterns("a" * 65535 + "\n") == ["a" * 65535]
    with pytest.raises(DockerignoreError, match="64 KiB"):
        read_patterns("a" * 65536 + "\n")
    with pytest.raises(DockerignoreError):
        read_patterns("a" * 65536)


@pytest.mark.parametrize(
    "bad", ["!", "[", "[a", "a\\", "[a-", "[]a]", "[]]", "[^]", "[--]", "[a-]", "[a-b-c]"]
)
def test_malformed_patterns_are_refused(bad: str) -> None:
    with pytest.raises(DockerignoreError):
        DockerIgnore([bad])


@pytest.mark.parametrize("good", ["a]", "[\\]]", "[\\-a]", "[!a]", "[^a]", "\\*", "**", "[a-bc-d]"])
def test_patterns_go_accepts_are_accepted(good: str) -> None:
    DockerIgnore([good])


# ---------------------------------------------------------------------------------------------
# Matching


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        # exact, and a matched directory excludes its contents
        (["foo"], "foo", True),
        (["foo"], "foo/bar/baz", True),
        (["foo"], "foobar", False),
        (["foo"], "a/foo", False),
        (["foo/bar"], "foo/bar/x", True),
        # * and ? stay within a component
        (["*.log"], "a.log", True),
        (["*.log"], "dir/a.log", False),
        (["*/*.log"], "dir/a.log", True),
        (["*"], "anything/below", True),
        (["file?.md"], "file1.md", True),
        (["file?.md"], "file12.md", False),
        (["a?b"], "a/b", False),
        # ** crosses directories
        (["**/*.log"], "a.log", True),
        (["**/*.log"], "x/y/z.log", True),
        (["**/foo"], "foo", True),
        (["**/foo"], "a/b/foo", True),
        (["**/foo"], "a/xfoo", False),
        (["**foo"], "a/xfoo", True),  # a suffix match, as the CLI does it
        (["**foo"], "barfoo", True),
        (["foo/**"], "foo", False),
        (["foo/**"], "foo/x", True),
        (["foo**"], "foobar/x", True),
        (["a/**/b"], "a/b", True),
        (["a/**/b"], "a/x/y/b", True),
        (["a/**/b"], "ab", False),
        (["**"], "x", True),
        (["**/**/**/x"], "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/y", False),
        # classes and escapes
        (["[a-c].txt"], "b.txt", True),
        (["[a-c].txt"], "d.txt", False),
        (["[^x].cfg"], "y.cfg", True),
        (["[^x].cfg"], "x.cfg", False),
        (["[!x]"], "!", True),  # ! does not negate: it is a member
        (["[!x]"], "y", False),
        (["\\[literal\\].txt"], "[literal].txt", True),
        (["\\*"], "*", True),
        (["\\*"], "x", False),
        (["[[:digit:]]x"], "3x", True),
        (["[[:^digit:]]x"], "ax", True),
        (["\\d"], "7", True),
        (["\\x41"], "A", True),
        (["\\101"], "A", True),
        # the CLI's regular-expression quirks
        (["[*]"], "*", False),  # becomes "[[^/]*]": one of [ ^ / repeated, then ]
        (["[*]"], "]", True),
        (["[*]"], "[^]", True),
        (["z\\z"], "zz", False),  # \z is "end of text"
        (["z\\z"], "z", True),
        (["a\\Q*"], "a[^/]*$tail", True),  # \Q quotes the rest, anchor included
        (["a^b"], "a^b", True),  # no wildcard: compared as is
        (["a^b*"], "a^b", False),  # a regexp: ^ is an anchor
        (["a$b*"], "a$b", True),
        (["(x)+*"], "(x)+", True),
        # later patterns win
        (["*.md", "!README.md"], "README.md", False),
        (["*.md", "!README.md"], "x.md", True),
        (["!README.md", "*.md"], "README.md", True),
        (["docs", "!docs/keep", "docs/keep/secret"], "docs/keep/a", False),
        (["docs", "!docs/keep", "docs/keep/secret"], "docs/keep/secret", True),
        # cleaned and anchored at the context root
        (["/build"], "build", True),
        (["./dist/"], "dist/app", True),
        (["/a/../b"], "b", True),
        (["."], "x", False),
        ([".."], "x", False),
    ],
)
def test_matches(patterns: list[str], path: str, excluded: bool) -> None:
    assert DockerIgnore.parse("\n".join(patterns)).matches(path) is excluded


def test_an_excluded_directory_is_entered_only_for_an_exception_under_it() -> None:
    ignore = DockerIgnore.parse("foo\n!*/keep\nbar\n!bar/keep\n")
    assert ignore.matches("foo/keep")  # the CLI never looks inside foo
    assert not ignore.matches_or_parent("foo/keep")  # although the patterns take it back
    assert not ignore.matches("bar/keep")
    assert ignore.matches("bar/drop")


def test_the_walk_passes_match_results_from_directory_to_contents() -> None:
    ignore = DockerIgnore.parse("d/f\n!d\n")
    assert not ignore.matches("d")
    assert ignore.matches("d/f")  # !d matched neither d/f itself nor (in the walk) d
    assert not ignore.matches_or_parent("d/f")  # the daemon's rule tries the parents


def test_matches_normalizes_the_path() -> None:
    ignore = DockerIgnore.parse("a/b\n")
    assert ignore.matches("./a//b/")
    assert ignore.matches("/a/b/c")
    assert not ignore.matches("")
    assert not ignore.matches(".")


def test_an_invalid_regexp_fails_when_first_used_like_the_cli() -> None:
    ignore = DockerIgnore.parse("!\\y\n")  # an exception never reached: never compiled
    assert not ignore.matches("x")
    ignore = DockerIgnore.parse("\\y\n")
    with pytest.raises(DockerignoreError, match="invalid escape"):
        ignore.matches("x")
    with pytest.raises(DockerignoreError, match="range"):
        DockerIgnore.parse("[z-a]\n").matches("x")
    with pytest.raises(DockerignoreError, match="class"):
        DockerIgnore.parse("[[:nope:]]\n").matches("x")
    with pytest.raises(DockerignoreError, match="not supported"):
        DockerIgnore.parse("\\pL\n").matches("x")


def test_empty_and_repr() -> None:
    assert not DockerIgnore()
    assert not DockerIgnore.parse("# only a comment\n")
    assert DockerIgnore(["a", " ", "!b"]).patterns == ("a", "!b")
    assert "a" in repr(DockerIgnore(["a"]))


# ---------------------------------------------------------------------------------------------
# Keeping the Dockerfile and .dockerignore


@pytest.mark.parametrize(
    ("patterns", "dockerfile", "added"),
    [
        ([], "Dockerfile", []),
        (["*.md"], "Dockerfile", []),
        (["*"], "Dockerfile", ["!.dockerignore", "!Dockerfile"]),
        ([".dockerignore"], "Dockerfile", ["!.dockerignore"]),
        (["docker"], "docker/app.Dockerfile", ["!docker/app.Dockerfile"]),
        # the CLI's older matching rule: only the parent with as many components as the
        # pattern is tried, so a ** pattern over a deeper directory does not keep it
        (["**/c"], "a/b/c/Dockerfile", []),
        (["a/*"], "a/b/Dockerfile", ["!a/b/Dockerfile"]),
    ],
)
def test_keeping_the_build_files(patterns: list[str], dockerfile: str, added: list[str]) -> None:
    ignore = DockerIgnore(patterns)
    assert list(ignore.keeping(dockerfile).patterns) == [*patterns, *added]


def test_a_dockerfile_lost_to_the_older_rule_is_not_sent(tmp_path: Path) -> None:
    ctx = tree(tmp_path, "a/b/c/Dockerfile", "x")
    (ctx / ".dockerignore").write_text("**/c\n")
    assert names(b"".join(build_context(ctx, dockerfile="a/b/c/Dockerfile"))) == [
        ".dockerignore",
        "a",
        "a/b",
        "x",
    ]


# ---------------------------------------------------------------------------------------------
# Build contexts


def test_build_context_applies_the_dockerignore(tmp_path: Path) -> None:
    ctx = tree(tmp_path, "Dockerfile", "src/app.py", "src/app.log", "node_modules/x/y", "empty/")
    (ctx / ".dockerignore").write_text("**/*.log\nnode_modules\nDockerfile\n.dockerignore\n")
    sent = names(b"".join(build_context(ctx)))
    assert sent == [".dockerignore", "Dockerfile", "empty", "src", "src/app.py"]


def test_build_context_headers_are_the_clis(tmp_path: Path) -> None:
    ctx = tree(tmp_path, "Dockerfile", "a")
    os.link(ctx / "a", ctx / "b")
    (ctx / "link").symlink_to("/etc/passwd")
    sent = members(b"".join(build_context(ctx)))
    assert sent["b"].type == tarfile.LNKTYPE and sent["b"].linkname == "a"
    assert sent["link"].issym() and sent["link"].linkname == "/etc/passwd"
    assert {(m.uid, m.gid) for m in sent.values()} == {(0, 0)}


def test_build_context_gzip(tmp_path: Path) -> None:
    ctx = tree(tmp_path, "Dockerfile", "a")
    packed = b"".join(build_context(ctx, gzip=True))
    assert packed[:2] == b"\x1f\x8b"
    assert names(packed) == ["Dockerfile", "a"]


def test_build_context_checks_before_the_first_piece(tmp_path: Path) -> None:
    with pytest.raises(BuildContextError, match="unable to prepare context"):
        build_context(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(BuildContextError, match="must be a directory"):
        build_context(tmp_path / "file")
    ctx = tree(tmp_path / "ctx", "x")
    with pytest.raises(BuildContextError, match="cannot locate Dockerfile"):
        build_context(ctx)
    tree(ctx, "Dockerfile")
    (ctx / ".dockerignore").write_text("!\n")
    with pytest.raises(DockerignoreError):
        build_context(ctx)


def test_build_context_through_a_symlinked_directory(tmp_path: Path) -> None:
    ctx = tree(tmp_path / "real", "Dockerfile", "a")
    (tmp_path / "link").symlink_to(ctx)
    assert names(b"".join(build_context(tmp_path / "link"))) == ["Dockerfile", "a"]


def test_resolve_dockerfile(tmp_path: Path) -> None:
    ctx = tree(tmp_path / "ctx", "dockerfile", "docker/prod.Dockerfile")
    assert resolve_dockerfile(ctx) == "dockerfile"  # the lower-case fallback
    tree(ctx, "Dockerfile")
    assert resolve_dockerfile(ctx) == "Dockerfile"
    assert resolve_dockerfile(ctx, "docker/prod.Dockerfile") == "docker/prod.Dockerfile"
    (ctx / "Dockerfile").unlink()
    (ctx / "Dockerfile").symlink_to("docker/prod.Dockerfile")
    assert resolve_dockerfile(ctx) == "docker/prod.Dockerfile"
    tree(tmp_path, "outside.Dockerfile")
    with pytest.raises(BuildContextError, match="outside the build context"):
        resolve_dockerfile(ctx, "../outside.Dockerfile")
    with pytest.raises(BuildContextError, match="cannot locate"):
        resolve_dockerfile(ctx, "nope")


def test_a_large_context_streams_with_flat_memory(tmp_path: Path) -> None:
    ctx = tree(tmp_path, "Dockerfile")
    with open(ctx / "big.bin", "wb") as big:
        big.truncate(256 * 1024 * 1024)  # sparse: no disk used, 256 MiB read
    tracemalloc.start()
    try:
        total = 0
        largest = 0
        for piece in build_context(ctx):
            total += len(piece)
            largest = max(largest, len(piece))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total > 256 * 1024 * 1024
    assert largest <= 512 * 1024
    assert peak < 8 * 1024 * 1024


# ---------------------------------------------------------------------------------------------
# images.build with a directory


def test_images_build_takes_a_directory(tmp_path: Path) -> None:
    ctx = tree(tmp_path / "ctx", "docker/app.Dockerfile", "src/main.py")
    (ctx / ".dockerignore").write_text("docker\n")
    call = images.build(ctx, tag="app:1", dockerfile="docker/app.Dockerfile", gzip=True)
    headers = dict(call.headers)
    assert headers["Content-Encoding"] == "gzip"
    assert call.credentials is not None  # the client adds X-Registry-Config
    # The builder only names the directory; the client opens it when it sends the call.
    assert call.body is None and "dockerfile" not in dict(call.query)
    assert call.local is not None
    local = call.local.open()
    assert dict(local.query)["dockerfile"] == "docker/app.Dockerfile"
    assert names(b"".join(local.body)) == [
        ".dockerignore",
        "docker/app.Dockerfile",
        "src",
        "src/main.py",
    ]


def test_images_build_defaults_to_the_clis_dockerfile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = tree(tmp_path / "ctx", "dockerfile")
    found = images.build(str(ctx)).local
    assert found is not None and dict(found.open().query)["dockerfile"] == "dockerfile"
    missing = images.build(tmp_path / "ctx", dockerfile="Missingfile").local  # no error yet
    assert missing is not None
    with pytest.raises(BuildContextError):
        missing.open()


def test_images_build_still_takes_a_tar(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    call = images.build(b"tar bytes", registry_config={})
    assert call.body == b"tar bytes"
    assert "dockerfile" not in dict(call.query)
    assert dict(call.headers)["X-Registry-Config"] == "e30="  # {}


# -- linear-time matching (the fuzzer found backtracking blow-ups) --------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from engineapi.archive.dockerignore import _Pattern  # noqa: E402


@pytest.mark.parametrize(
    ("pattern", "name"),
    [
        ("*a*a*a*a*b", "a" * 200),
        ("a/**/a/**/a/**/a/**/a/**/x", "/".join(["a"] * 100)),
        ("**/*a*a*a*[bc]", "dir/" + "a" * 300),
    ],
)
def test_pathological_patterns_match_in_linear_time(pattern: str, name: str) -> None:
    """These took over 20 s with a backtracking regex; RE2 (the CLI) answers at once."""
    ignore = DockerIgnore([pattern])
    started = time.process_time()
    assert ignore.matches(name) is False
    assert time.process_time() - started < 1.0


_ALPHABET = st.sampled_from(list("ab/*?[]^-!\\.c"))


@settings(max_examples=500, deadline=None)
@given(
    st.text(_ALPHABET, min_size=1, max_size=12),
    st.lists(st.text(st.sampled_from(list("abc/.")), max_size=12), min_size=1, max_size=5),
)
def test_the_linear_matcher_agrees_with_the_regex(pattern: str, paths: list[str]) -> None:
    """Every pattern matched both ways (the linear matcher forced on, then off) gives the same
    answers."""
    import engineapi.archive.dockerignore as module

    results = []
    for risk in (0, 10**9):
        original = module._BACKTRACK_RISK
        module._BACKTRACK_RISK = risk  # type: ignore[misc]
        try:
            compiled = _Pattern(pattern, False)
            try:
                results.append([compiled.match(path) for path in paths])
            except DockerignoreError:
                results.append(["error"])
        finally:
            module._BACKTRACK_RISK = original  # type: ignore[misc]
    assert results[0] == results[1], (pattern, paths, results)
