"""Context store, config.json and resolve_endpoint precedence, on temporary DOCKER_CONFIG dirs.

Every test passes an explicit environment mapping; the real environment is never read.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path

import pytest

from engineapi.config import (
    ConfigError,
    ConfigWarning,
    DockerContext,
    Endpoint,
    TLSConfig,
    config_dir,
    context_dir_name,
    list_contexts,
    load_context,
    read_current_context,
    resolve_context_name,
    resolve_endpoint,
)

PEM = "-----BEGIN CERTIFICATE-----\nnot parsed by these tests\n-----END CERTIFICATE-----\n"


class DockerHome:
    """A throwaway HOME with a DOCKER_CONFIG directory laid out as the docker CLI does."""

    def __init__(self, root: Path) -> None:
        self.home = root / "home"
        self.config = root / "dockercfg"
        self.home.mkdir()
        self.config.mkdir()

    def env(self, **extra: str) -> dict[str, str]:
        return {"HOME": str(self.home), "DOCKER_CONFIG": str(self.config), **extra}

    @property
    def config_json(self) -> Path:
        return self.config / "config.json"

    def meta_file(self, name: str) -> Path:
        return self.config / "contexts" / "meta" / context_dir_name(name) / "meta.json"

    def tls_dir(self, name: str) -> Path:
        return self.config / "contexts" / "tls" / context_dir_name(name)

    def add_context(
        self,
        name: str,
        host: str | None,
        *,
        skip_tls_verify: bool = False,
        tls_files: tuple[str, ...] = (),
        description: str | None = None,
        raw: str | None = None,
    ) -> None:
        meta = self.meta_file(name)
        meta.parent.mkdir(parents=True)
        if raw is None:
            endpoint: dict[str, object] = {"SkipTLSVerify": skip_tls_verify}
            if host is not None:
                endpoint["Host"] = host
            doc = {
                "Name": name,
                "Metadata": {"Description": description} if description else {},
                "Endpoints": {"docker": endpoint},
            }
            raw = json.dumps(doc)
        meta.write_text(raw)
        if tls_files:
            endpoint_dir = self.tls_dir(name) / "docker"
            endpoint_dir.mkdir(parents=True)
            for file_name in tls_files:
                (endpoint_dir / file_name).write_text(PEM)

    def use(self, name: str) -> None:
        self.config_json.write_text(json.dumps({"auths": {}, "currentContext": name}))

    def cert_dir(self, *files: str, name: str = "certs") -> Path:
        path = self.home / name
        path.mkdir()
        for file_name in files:
            (path / file_name).write_text(PEM)
        return path


@pytest.fixture
def dh(tmp_path: Path) -> DockerHome:
    return DockerHome(tmp_path)


# -- the store ------------------------------------------------------------------------------------


def test_context_dir_name_matches_the_cli() -> None:
    # Directory names the 28.2.2 CLI created for these context names.
    assert (
        context_dir_name("tlsctx")
        == "71614c1fecf740cb7c15fc358b0458ce7ab245624a47b58c430fc3334c3d64f2"
    )
    assert (
        context_dir_name("nonexist")
        == "806fa28dc2ea0084c31fdd36efe5853804e8b573bae351792af8775cfd2af744"
    )


def test_config_dir(dh: DockerHome) -> None:
    assert config_dir(dh.env()) == str(dh.config)
    assert config_dir({"HOME": "/h", "DOCKER_CONFIG": ""}) == "/h/.docker"
    assert config_dir({"HOME": "/h"}) == "/h/.docker"


def test_load_context(dh: DockerHome) -> None:
    dh.add_context(
        "remote",
        "tcp://10.0.0.1:2376",
        tls_files=("ca.pem", "cert.pem", "key.pem"),
        description="the build box",
    )
    ctx = load_context("remote", dh.env())
    tls_dir = dh.tls_dir("remote")
    assert ctx == DockerContext(
        name="remote",
        host="tcp://10.0.0.1:2376",
        skip_tls_verify=False,
        description="the build box",
        metadata_path=str(dh.meta_file("remote").parent),
        tls_path=str(tls_dir),
        has_docker_endpoint=True,
        has_tls_data=True,
        ca_cert=str(tls_dir / "docker" / "ca.pem"),
        client_cert=str(tls_dir / "docker" / "cert.pem"),
        client_key=str(tls_dir / "docker" / "key.pem"),
    )
    assert ctx.meta_file == str(dh.meta_file("remote"))
    assert ctx.tls_config() == TLSConfig(ctx.ca_cert, ctx.client_cert, ctx.client_key, True)


def test_context_tls_rules(dh: DockerHome) -> None:
    dh.add_context("plain", "tcp://h:1")
    dh.add_context("skip", "tcp://h:1", skip_tls_verify=True)
    dh.add_context("certonly", "tcp://h:1", tls_files=("cert.pem",))
    dh.add_context("skipca", "tcp://h:1", skip_tls_verify=True, tls_files=("ca.pem",))
    dh.add_context("emptydir", "tcp://h:1")
    (dh.tls_dir("emptydir") / "docker").mkdir(parents=True)
    env = dh.env()
    assert load_context("plain", env).tls_config() is None
    assert load_context("skip", env).tls_config() == TLSConfig(verify=False)
    certonly = load_context("certonly", env).tls_config()
    assert certonly is not None and certonly.verify and certonly.ca_cert is None
    assert certonly.client_cert is not None and certonly.client_key is None
    skipca = load_context("skipca", env).tls_config()
    assert skipca is not None and not skipca.verify and skipca.ca_cert is not None
    # An empty docker/ TLS directory alone turns TLS on in the CLI (TLSData is non-nil).
    assert load_context("emptydir", env).tls_config() == TLSConfig(verify=True)


def test_load_missing_context(dh: DockerHome) -> None:
    with pytest.raises(ConfigError) as info:
        load_context("ghost", dh.env(), source="DOCKER_CONTEXT")
    message = str(info.value)
    assert "'ghost'" in message and "DOCKER_CONTEXT" in message
    assert str(dh.meta_file("ghost")) in message
    assert info.value.source == "DOCKER_CONTEXT"
    with pytest.raises(ConfigError, match="implicit context"):
        load_context("default", dh.env())


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("{broken", "not valid JSON"),
        ("[]", "not a JSON object"),
        ('{"Name": 5}', "Name is not a string"),
        ('{"Name": "bad", "Endpoints": []}', "Endpoints is not an object"),
        ('{"Name": "bad", "Endpoints": {"docker": 1}}', "Endpoints.docker is not an object"),
        ('{"Name": "bad", "Endpoints": {"docker": {"Host": 1}}}', "Host is not a string"),
        (
            '{"Name": "bad", "Endpoints": {"docker": {"SkipTLSVerify": "yes"}}}',
            "SkipTLSVerify is not a boolean",
        ),
    ],
)
def test_malformed_meta(dh: DockerHome, raw: str, fragment: str) -> None:
    dh.add_context("bad", None, raw=raw)
    with pytest.raises(ConfigError, match=fragment) as info:
        load_context("bad", dh.env())
    assert info.value.source == str(dh.meta_file("bad"))
    # The error names the context, not only its sha256 directory.
    assert str(info.value).startswith("context 'bad': ")
    with pytest.raises(ConfigError, match="context 'bad' \\(DOCKER_CONTEXT\\): ") as named:
        load_context("bad", dh.env(), source="DOCKER_CONTEXT")
    assert named.value.source == "DOCKER_CONTEXT"


def test_meta_and_config_json_nested_too_deeply(dh: DockerHome) -> None:
    """A depth bomb is a malformed file like any other, not a RecursionError."""
    bomb = "[" * 100_000 + "]" * 100_000
    dh.add_context("deep", None, raw=bomb)
    with pytest.raises(ConfigError, match="context 'deep': .*nested too deeply"):
        load_context("deep", dh.env())
    dh.config_json.write_text('{"currentContext": ' + bomb + "}")
    with pytest.warns(ConfigWarning, match="nested too deeply"):
        assert read_current_context(dh.env()) is None


def test_meta_keys_match_like_go(dh: DockerHome) -> None:
    # encoding/json matches struct fields ignoring case, the last key winning; the
    # endpoint name is a map key and must be exactly "docker".
    dh.add_context(
        "lower",
        None,
        raw='{"name": "lower", "endpoints": {"docker": {"host": "tcp://a:1", '
        '"HOST": "tcp://b:2", "skiptlsverify": true}}}',
    )
    dh.add_context("upper", None, raw='{"Name": "upper", "Endpoints": {"Docker": {}}}')
    lower = load_context("lower", dh.env())
    assert lower.host == "tcp://b:2" and lower.skip_tls_verify
    assert not load_context("upper", dh.env()).has_docker_endpoint


def test_list_contexts_natural_order(dh: DockerHome) -> None:
    for name in ("ctx10", "ctx2", "b", "a", "ctx1"):
        dh.add_context(name, "tcp://h:1")
    (dh.config / "contexts" / "meta" / "stray-dir").mkdir()
    names = [c.name for c in list_contexts(dh.env())]
    assert names == ["a", "b", "ctx1", "ctx2", "ctx10"]


def test_list_contexts_empty(dh: DockerHome) -> None:
    assert list_contexts(dh.env()) == ()


def test_read_current_context(dh: DockerHome) -> None:
    env = dh.env()
    assert read_current_context(env) is None
    dh.use("remote")
    assert read_current_context(env) == "remote"
    dh.config_json.write_text('{"currentcontext": "lower"}')
    assert read_current_context(env) == "lower"
    for text in ("", "  \n", '{"currentContext": ""}', '{"currentContext": null}', "{}"):
        dh.config_json.write_text(text)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert read_current_context(env) is None


@pytest.mark.parametrize("text", ["{broken", '{"currentContext": 5}', "[1]", "\xff"])
def test_malformed_config_json_warns_and_is_ignored(dh: DockerHome, text: str) -> None:
    dh.config_json.write_bytes(text.encode("latin-1"))
    with pytest.warns(ConfigWarning, match="config.json"):
        assert read_current_context(dh.env()) is None


def test_config_json_directory_warns(dh: DockerHome) -> None:
    dh.config_json.mkdir()
    with pytest.warns(ConfigWarning):
        assert read_current_context(dh.env()) is None


# -- precedence -----------------------------------------------------------------------------------


def test_nothing_set_means_default_socket(dh: DockerHome) -> None:
    ep = resolve_endpoint(environ=dh.env())
    assert ep == Endpoint(
        host=ep.host,
        tls=None,
        context_name="default",
        source="default (unix:///var/run/docker.sock)",
    )
    assert ep.host.url == "unix:///var/run/docker.sock"


def test_docker_host(dh: DockerHome) -> None:
    ep = resolve_endpoint(environ=dh.env(DOCKER_HOST="tcp://1.2.3.4"))
    assert (ep.host.url, ep.context_name, ep.source, ep.tls) == (
        "tcp://1.2.3.4:2375",
        "default",
        "DOCKER_HOST",
        None,
    )


def test_docker_host_beats_docker_context(dh: DockerHome) -> None:
    dh.add_context("remote", "tcp://10.0.0.1:2376")
    # The CLI picks "default" whenever DOCKER_HOST is non-empty, even with DOCKER_CONTEXT
    # naming a context, existing or not.
    for name in ("remote", "ghost"):
        ep = resolve_endpoint(environ=dh.env(DOCKER_HOST="tcp://9.9.9.9", DOCKER_CONTEXT=name))
        assert ep.context_name == "default"
        assert ep.host.url == "tcp://9.9.9.9:2375"
        assert ep.source == f"DOCKER_HOST (overrides DOCKER_CONTEXT={name!r})"


def test_blank_docker_host_still_selects_default(dh: DockerHome) -> None:
    dh.add_context("remote", "tcp://10.0.0.1:2376")
    ep = resolve_endpoint(environ=dh.env(DOCKER_HOST="  ", DOCKER_CONTEXT="remote"))
    assert ep.context_name == "default"
    assert ep.host.url == "unix:///var/run/docker.sock"
    assert ep.source.startswith("blank DOCKER_HOST")


def test_empty_docker_host_is_unset(dh: DockerHome) -> None:
    dh.add_context("remote", "tcp://10.0.0.1:2376")
    ep = resolve_endpoint(environ=dh.env(DOCKER_HOST="", DOCKER_CONTEXT="remote"))
    assert ep.context_name == "remote"


def test_docker_context(dh: DockerHome) -> None:
    dh.add_context("remote", "tcp://10.0.0.1:2376")
    dh.add_context("other", "tcp://10.0.0.2:2376")
    dh.use("other")
    ep = resolve_endpoint(environ=dh.env(DOCKER_CONTEXT="remote"))
    assert ep.context_name == "remote"
    assert ep.host.url == "tcp://10.0.0.1:2376"
    assert ep.source == "context 'remote' from DOCKER_CONTEXT"


def test_current_context(dh: DockerHome) -> None:
    dh.add_context("other", "unix:///tmp/other.sock")
    dh.use("other")
    ep = resolve_endpoint(environ=dh.env(DOCKER_CONTEXT=""))
    assert ep.context_name == "other"
    assert ep.host.socket_path == "/tmp/other.sock"
    assert ep.source == f"context 'other' from currentContext in {dh.config_json}"


def test_arguments_win(dh: DockerHome) -> None:
    dh.add_context("remote", "tcp://10.0.0.1:2376")
    env = dh.env(DOCKER_HOST="tcp://9.9.9.9", DOCKER_CONTEXT="ghost")
    ep = resolve_endpoint("unix:///tmp/mine.sock", environ=env)
    assert (ep.host.url, ep.context_name, ep.source) == (
        "unix:///tmp/mine.sock",
        "default",
        "argument host=",
    )
    ep = resolve_endpoint(context="remote", environ=env)
    assert (ep.host.url, ep.context_name, ep.source) == (
        "tcp://10.0.0.1:2376",
        "remote",
        "argument context='remote'",
    )


def test_host_and_context_conflict(dh: DockerHome) -> None:
    with pytest.raises(ConfigError, match="both host= and context="):
        resolve_endpoint("tcp://a", context="b", environ=dh.env())


def test_empty_context_argument(dh: DockerHome) -> None:
    with pytest.raises(ConfigError, match="context= is empty"):
        resolve_endpoint(context="", environ=dh.env())


def test_empty_host_argument_is_default_like_cli_dash_h(dh: DockerHome) -> None:
    ep = resolve_endpoint("", environ=dh.env(DOCKER_HOST="tcp://9.9.9.9"))
    assert ep.host.url == "unix:///var/run/docker.sock"
    assert ep.source == "blank argument host=: default (unix:///var/run/docker.sock)"


def test_context_named_default(dh: DockerHome) -> None:
    dh.use("default")
    ep = resolve_endpoint(environ=dh.env())
    assert ep.context_name == "default"
    assert ep.source == (
        f"context 'default' from currentContext in {dh.config_json}: "
        "default (unix:///var/run/docker.sock)"
    )
    ep = resolve_endpoint(environ=dh.env(DOCKER_CONTEXT="default"))
    assert (
        ep.source == "context 'default' from DOCKER_CONTEXT: default (unix:///var/run/docker.sock)"
    )
    # --context default still reads DOCKER_HOST (verified: DOCKER_HOST=tcp://x docker
    # --context default context inspect shows tcp://x:2375).
    ep = resolve_endpoint(context="default", environ=dh.env(DOCKER_HOST="tcp://x"))
    assert ep.host.url == "tcp://x:2375"
    assert ep.source == "argument context='default': DOCKER_HOST"


def test_missing_context_from_docker_context(dh: DockerHome) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_endpoint(environ=dh.env(DOCKER_CONTEXT="ghost"))
    message = str(info.value)
    assert "'ghost'" in message
    assert "DOCKER_CONTEXT" in message
    assert str(dh.meta_file("ghost")) in message
    assert info.value.source == "DOCKER_CONTEXT"


def test_missing_context_from_current_context(dh: DockerHome) -> None:
    dh.use("ghost")
    with pytest.raises(ConfigError) as info:
        resolve_endpoint(environ=dh.env())
    message = str(info.value)
    assert "'ghost'" in message
    assert f"currentContext in {dh.config_json}" in message
    assert str(dh.meta_file("ghost")) in message


def test_missing_context_argument(dh: DockerHome) -> None:
    with pytest.raises(ConfigError, match="argument context="):
        resolve_endpoint(context="ghost", environ=dh.env())


def test_malformed_config_json_falls_back_to_default(dh: DockerHome) -> None:
    dh.config_json.write_text("{broken")
    with pytest.warns(ConfigWarning):
        ep = resolve_endpoint(environ=dh.env())
    assert ep.context_name == "default"


def test_docker_config_unset_uses_home(dh: DockerHome) -> None:
    docker_dir = dh.home / ".docker"
    docker_dir.mkdir()
    (docker_dir / "config.json").write_text('{"currentContext": "ghost"}')
    with pytest.raises(ConfigError, match=re.escape(str(docker_dir / "config.json"))):
        resolve_endpoint(environ={"HOME": str(dh.home)})


def test_resolve_context_name_is_context_show(dh: DockerHome) -> None:
    dh.use("ghost")
    assert resolve_context_name(environ=dh.env()) == "ghost"  # not validated, like the CLI
    assert resolve_context_name(environ=dh.env(DOCKER_CONTEXT="x")) == "x"
    assert resolve_context_name(environ=dh.env(DOCKER_CONTEXT="x", DOCKER_HOST="tcp://a")) == (
        "default"
    )
    assert resolve_context_name("tcp://a", environ=dh.env(DOCKER_CONTEXT="x")) == "default"
    assert resolve_context_name(context="y", environ=dh.env(DOCKER_HOST="tcp://a")) == "y"


# -- named contexts -------------------------------------------------------------------------------


def test_named_context_tls_from_store(dh: DockerHome) -> None:
    dh.add_context("remote", "tcp://10.0.0.1:2376", tls_files=("ca.pem", "cert.pem", "key.pem"))
    ep = resolve_endpoint(environ=dh.env(DOCKER_CONTEXT="remote"))
    docker_tls = dh.tls_dir("remote") / "docker"
    assert ep.tls == TLSConfig(
        ca_cert=str(docker_tls / "ca.pem"),
        client_cert=str(docker_tls / "cert.pem"),
        client_key=str(docker_tls / "key.pem"),
        verify=True,
    )
    assert ep.tls_source == f"context 'remote' ({dh.tls_dir('remote')})"


def test_named_context_ignores_tls_environment(dh: DockerHome) -> None:
    dh.add_context("plain", "tcp://10.0.0.1:2375")
    env = dh.env(
        DOCKER_CONTEXT="plain", DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=str(dh.home / "nope")
    )
    ep = resolve_endpoint(environ=env)
    assert ep.tls is None


def test_named_context_skip_tls_verify(dh: DockerHome) -> None:
    dh.add_context("skip", "tcp://10.0.0.2", skip_tls_verify=True)
    ep = resolve_endpoint(context="skip", environ=dh.env(DOCKER_TLS_VERIFY="1"))
    assert ep.tls == TLSConfig(verify=False)
    assert ep.host.port == 443  # no port in the context: Go's https default


def test_named_context_without_port_plain(dh: DockerHome) -> None:
    dh.add_context("noport", "tcp://10.0.0.3")
    ep = resolve_endpoint(context="noport", environ=dh.env())
    assert ep.host.url == "tcp://10.0.0.3:80"
    assert ep.tls is None


def test_named_context_without_host(dh: DockerHome) -> None:
    dh.add_context("empty", None)
    ep = resolve_endpoint(context="empty", environ=dh.env())
    assert ep.host.url == "unix:///var/run/docker.sock"


def test_named_context_without_docker_endpoint(dh: DockerHome) -> None:
    dh.add_context("k8s", None, raw='{"Name": "k8s", "Endpoints": {"kubernetes": {}}}')
    with pytest.raises(ConfigError, match="no docker endpoint"):
        resolve_endpoint(context="k8s", environ=dh.env())


def test_named_context_bad_host(dh: DockerHome) -> None:
    dh.add_context("bad", "1.2.3.4")
    with pytest.raises(ConfigError, match="unable to parse docker host") as info:
        resolve_endpoint(context="bad", environ=dh.env())
    assert "Endpoints.docker.Host" in str(info.value.source)


def test_no_tls_over_unix_or_ssh(dh: DockerHome) -> None:
    dh.add_context("u", "unix:///tmp/u.sock", skip_tls_verify=True, tls_files=("ca.pem",))
    dh.add_context("s", "ssh://user@host:2222", tls_files=("ca.pem",))
    for name in ("u", "s"):
        ep = resolve_endpoint(context=name, environ=dh.env())
        assert ep.tls is None and ep.tls_source is None
    ssh = resolve_endpoint(context="s", environ=dh.env()).host
    assert (ssh.user, ssh.hostname, ssh.port) == ("user", "host", 2222)


def test_https_context_implies_tls(dh: DockerHome) -> None:
    dh.add_context("h", "https://10.0.0.4")
    ep = resolve_endpoint(context="h", environ=dh.env())
    assert ep.tls == TLSConfig(verify=True)
    assert ep.host.port == 443
    with pytest.raises(ConfigError, match="https://"):
        resolve_endpoint(context="h", tls=False, environ=dh.env())


# -- default context TLS from the environment -----------------------------------------------------


@pytest.mark.parametrize("value", ["1", "0", "false", "no"])
def test_tls_verify_any_non_empty_value_is_on(dh: DockerHome, value: str) -> None:
    certs = dh.cert_dir("ca.pem", "cert.pem", "key.pem")
    env = dh.env(DOCKER_TLS_VERIFY=value, DOCKER_CERT_PATH=str(certs))
    ep = resolve_endpoint(environ=env)
    assert ep.host.url == "tcp://localhost:2376"
    assert ep.tls == TLSConfig.from_cert_path(certs, verify=True)
    assert ep.tls_source == f"DOCKER_TLS_VERIFY with DOCKER_CERT_PATH={certs}"
    assert ep.source == "default (tcp://localhost:2376)"


def test_docker_tls_without_verify(dh: DockerHome) -> None:
    certs = dh.cert_dir("ca.pem")
    ep = resolve_endpoint(environ=dh.env(DOCKER_TLS="1", DOCKER_CERT_PATH=str(certs)))
    assert ep.tls == TLSConfig(ca_cert=str(certs / "ca.pem"), verify=False)


def test_tls_keeps_2375_for_explicit_host_without_port(dh: DockerHome) -> None:
    certs = dh.cert_dir("ca.pem")
    env = dh.env(DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=str(certs), DOCKER_HOST="tcp://h")
    ep = resolve_endpoint(environ=env)
    assert ep.host.url == "tcp://h:2375"
    assert ep.tls is not None and ep.tls.verify


def test_cert_path_defaults_to_docker_config(dh: DockerHome) -> None:
    for file_name in ("ca.pem", "cert.pem", "key.pem"):
        (dh.config / file_name).write_text(PEM)
    ep = resolve_endpoint(environ=dh.env(DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=""))
    assert ep.tls == TLSConfig.from_cert_path(dh.config, verify=True)
    assert ep.tls_source == f"DOCKER_TLS_VERIFY with certificates in {dh.config}"


def test_missing_ca_is_an_error(dh: DockerHome) -> None:
    certs = dh.cert_dir("cert.pem", "key.pem")
    with pytest.raises(ConfigError) as info:
        resolve_endpoint(environ=dh.env(DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=str(certs)))
    assert os.path.join(str(certs), "ca.pem") in str(info.value)
    assert info.value.source == "DOCKER_CERT_PATH"
    with pytest.raises(ConfigError) as info:
        resolve_endpoint(environ=dh.env(DOCKER_TLS="1"))
    assert info.value.source == "DOCKER_TLS"
    # Checked even for a Unix socket, where TLS is then not used.
    with pytest.raises(ConfigError):
        resolve_endpoint(environ=dh.env(DOCKER_TLS="1", DOCKER_HOST="unix:///x.sock"))


def test_cert_path_alone_does_nothing(dh: DockerHome) -> None:
    certs = dh.cert_dir("ca.pem")
    ep = resolve_endpoint(environ=dh.env(DOCKER_CERT_PATH=str(certs), DOCKER_HOST="tcp://h:1"))
    assert ep.tls is None


def test_tls_env_over_unix_is_dropped(dh: DockerHome) -> None:
    certs = dh.cert_dir("ca.pem")
    env = dh.env(DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=str(certs), DOCKER_HOST="unix:///x")
    assert resolve_endpoint(environ=env).tls is None


def test_https_docker_host(dh: DockerHome) -> None:
    ep = resolve_endpoint(environ=dh.env(DOCKER_HOST="https://h"))
    assert ep.host.url == "tcp://h:2376"
    assert ep.tls == TLSConfig(verify=True)
    with pytest.raises(ConfigError, match="tls=False"):
        resolve_endpoint(tls=False, environ=dh.env(DOCKER_HOST="https://h"))


# -- the tls= argument ----------------------------------------------------------------------------


def test_tls_false_overrides_environment(dh: DockerHome) -> None:
    env = dh.env(DOCKER_TLS_VERIFY="1", DOCKER_HOST="tcp://h:1")
    ep = resolve_endpoint(tls=False, environ=env)
    assert ep.tls is None


def test_tls_true_is_tlsverify(dh: DockerHome) -> None:
    ep = resolve_endpoint(tls=True, environ=dh.env())
    assert ep.host.url == "tcp://localhost:2376"
    assert ep.tls == TLSConfig(verify=True)  # no ca.pem: the system trust store
    certs = dh.cert_dir("ca.pem", "key.pem")
    ep = resolve_endpoint("tcp://h:1", True, environ=dh.env(DOCKER_CERT_PATH=str(certs)))
    assert ep.tls == TLSConfig(ca_cert=str(certs / "ca.pem"), client_key=str(certs / "key.pem"))


def test_tls_config_argument_is_used_as_given(dh: DockerHome) -> None:
    given = TLSConfig(ca_cert="/x/ca.pem", verify=True, server_hostname="daemon.internal")
    ep = resolve_endpoint("tcp://10.1.1.1:2376", given, environ=dh.env(DOCKER_TLS="1"))
    assert ep.tls is given
    assert ep.tls_source == "argument tls="
    dh.add_context("skip", "tcp://h:2376", skip_tls_verify=True)
    assert resolve_endpoint(tls=given, context="skip", environ=dh.env()).tls is given


def test_tls_true_forces_verification_on_a_context(dh: DockerHome) -> None:
    dh.add_context("skip", "tcp://h:2376", skip_tls_verify=True, tls_files=("ca.pem",))
    ep = resolve_endpoint(tls=True, context="skip", environ=dh.env())
    assert ep.tls is not None and ep.tls.verify and ep.tls.ca_cert is not None
    assert resolve_endpoint(tls=False, context="skip", environ=dh.env()).tls is None


def test_reads_process_environment_by_default(
    dh: DockerHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in list(os.environ):
        if key.startswith("DOCKER_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("DOCKER_CONFIG", str(dh.config))
    monkeypatch.setenv("DOCKER_HOST", "tcp://from-process-env:1")
    assert resolve_endpoint().host.url == "tcp://from-process-env:1"


@pytest.mark.parametrize("tls", ["bad ssl context", 1, 0, b"yes", {"verify": True}])
def test_a_tls_argument_of_another_type_is_refused(tls: object) -> None:
    """It used to be ignored: a client asked for TLS spoke plaintext. (An ssl.SSLContext is
    taken since issue #16: see tests/unit/test_peer_parity.py.)"""
    from engineapi import AsyncClient, Client

    for make in (Client, AsyncClient):
        with pytest.raises(TypeError, match="tls= takes True, False, None, an engineapi"):
            make("tcp://127.0.0.1:2376", tls=tls, environ={})  # type: ignore[arg-type]


def test_the_documented_tls_arguments_are_taken() -> None:
    from engineapi.config import TLSConfig

    assert resolve_endpoint("tcp://h:2376", True, environ={}).tls is not None
    assert resolve_endpoint("tcp://h:2375", False, environ={}).tls is None
    assert resolve_endpoint("tcp://h:2375", None, environ={}).tls is None
    given = TLSConfig(verify=False)
    assert resolve_endpoint("tcp://h:2376", given, environ={}).tls is given
    with pytest.raises(TypeError, match="host= takes a str"):
        resolve_endpoint(2376, environ={})  # type: ignore[arg-type]
