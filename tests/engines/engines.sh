#!/usr/bin/env bash
# The real container engines that engineapi's live tests talk to.
#
#   engines.sh up      install what is missing, start every engine that is not
#                      running, import busybox:latest, smoke-check each engine
#                      and write /run/engineapi/engines.json; start the test
#                      sshd and write /run/engineapi/sshd.json
#   engines.sh down    stop the engines, unmount their leftovers, delete their
#                      bridges (installed packages and downloaded debs stay)
#   engines.sh status  one line per engine; exit status 1 if one is down
#
# Engines (each with its own socket, data root, exec root, containerd, bridge
# and cgroup parent, so that they neither disturb each other nor an engine
# the machine runs itself on /var/run/docker.sock):
#   docker20  bookworm's docker.io (20.10, API 1.41)
#             unix:///run/engineapi/docker20.sock
#             tcp://127.0.0.1:12376 with --tlsverify; client certificates in
#             /var/lib/engineapi/tls/client (ca.pem, cert.pem, key.pem)
#   docker28  sid's docker.io (28.x, API 1.51), unpacked, not installed;
#             trixie's (26.1) if sid's binaries do not run here
#             unix:///run/engineapi/docker28.sock, tcp://127.0.0.1:12375
#   podman    bookworm's podman 4.3, docker compat API
#             unix:///run/engineapi/podman.sock
# and one sshd for the ssh:// transports (the "remote host" of the tests):
#   sshd      bookworm's openssh-server on 127.0.0.1, a random port chosen
#             once; its own host key, user keys, authorized_keys and
#             sshd_config in /var/lib/engineapi/ssh; described (port, keys,
#             known_hosts, an ssh_config with the alias engineapi-test) in
#             /run/engineapi/sshd.json. Neither the machine's own sshd nor
#             ~/.ssh is touched.
# two registries for push/pull, plugins and auth (section "registry"):
#   reg-open  bookworm's docker-registry, http://127.0.0.1:15000, no auth
#   reg-auth  the same on http://127.0.0.1:15001 with htpasswd basic auth;
#             both described (user, password) in /run/engineapi/registry.json
# and a swarm worker for the two-node swarm tests (section "swarm worker"):
#   docker28w docker28's binaries in the network namespace engineapi-sw
#             (10.231.28.2, the host side of its veth is 10.231.28.1),
#             unix:///run/engineapi/docker28w.sock; described in
#             /run/engineapi/swarm.json, not in engines.json.
#
# Runs as root on Debian bookworm. Knobs (environment):
#   ENGINEAPI_WAIT_TIMEOUT   seconds to wait for an engine's socket (60)
#   ENGINEAPI_STOP_TIMEOUT   seconds to wait for an engine to stop (45)
#   ENGINEAPI_DEBIAN_MIRROR  Debian mirror for the docker28 debs (default:
#                            the one the machine's apt uses for its release)
#   ENGINEAPI_DOCKER28_SUITES  suites to try for docker28 ("sid trixie")
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

RUN_DIR=/run/engineapi
LIB_DIR=/var/lib/engineapi
LOG_DIR=$LIB_DIR/logs
TLS_DIR=$LIB_DIR/tls
IMAGE_TAR=$LIB_DIR/images/busybox.tar
ENGINES_JSON=$RUN_DIR/engines.json
WAIT_TIMEOUT=${ENGINEAPI_WAIT_TIMEOUT:-60}
STOP_TIMEOUT=${ENGINEAPI_STOP_TIMEOUT:-45}

D28_DIR=$LIB_DIR/docker28
D28_ROOT=$D28_DIR/root
# The docker CLI used for importing and smoke checks: sid's (it negotiates
# the API version down for the older engines).
DOCKER_CLI=$D28_ROOT/usr/bin/docker

ENGINES=(docker20 docker28 podman)

# Packages this script needs on a fresh bookworm machine.
PACKAGES=(
    # tools used here
    ca-certificates curl jq openssl iproute2 iptables tar
    # docker20 (bookworm), its containerd, runc and docker-init
    docker.io containerd runc tini
    # podman and what it runs with
    podman conmon crun netavark aardvark-dns
    golang-github-containers-common uidmap fuse-overlayfs slirp4netns
    # the busybox image
    busybox-static
    # for the sshd and registry components to come
    openssh-server docker-registry apache2-utils
)

# Keep the caller's docker settings away from the CLI calls made here.
unset DOCKER_HOST DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH \
    DOCKER_API_VERSION DOCKER_DEFAULT_PLATFORM
export DOCKER_CONFIG=$LIB_DIR/docker-cli-config
export LC_ALL=C

say() { printf '[engines] %s\n' "$*" >&2; }
die() {
    printf '[engines] ERROR: %s\n' "$*" >&2
    exit 1
}

engine_sock() { echo "$RUN_DIR/$1.sock"; }
engine_host() { echo "unix://$RUN_DIR/$1.sock"; }
engine_pidfile() { echo "$RUN_DIR/$1.pid"; }
engine_log() { echo "$LOG_DIR/$1.log"; }
engine_stamp() { echo "$RUN_DIR/$1.started"; }

# ---------------------------------------------------------------- engines --
# engine_setup NAME sets, for that engine:
#   KIND DAEMON_ENV DAEMON_CMD BRIDGE BRIDGE_CIDR SUBNET_PREFIX TCP_HOST
#   TLS_HOST CONFIG_FILES
# shellcheck disable=SC2054 # the commas are in --default-address-pool values
engine_setup() {
    KIND=docker BRIDGE='' BRIDGE_CIDR='' TCP_HOST='' TLS_HOST='' CONFIG_FILES=()
    case $1 in
    docker20)
        BRIDGE=eabr20 BRIDGE_CIDR=172.31.20.1/24 SUBNET_PREFIX=172.31.20.
        TLS_HOST=tcp://127.0.0.1:12376
        DAEMON_ENV=(PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root)
        DAEMON_CMD=(
            /usr/sbin/dockerd
            --config-file "$LIB_DIR/docker20/daemon.json"
            --host "$(engine_host docker20)"
            --host "$TLS_HOST"
            --tlsverify
            --tlscacert "$TLS_DIR/server/ca.pem"
            --tlscert "$TLS_DIR/server/cert.pem"
            --tlskey "$TLS_DIR/server/key.pem"
            --data-root "$LIB_DIR/docker20/data"
            --exec-root "$RUN_DIR/docker20"
            --pidfile "$(engine_pidfile docker20)"
            --bridge "$BRIDGE"
            --default-address-pool base=10.120.0.0/16,size=24
            --cgroup-parent /engineapi-docker20
            --userland-proxy-path /usr/sbin/docker-proxy
        )
        CONFIG_FILES=("$LIB_DIR/docker20/daemon.json")
        ;;
    docker28)
        BRIDGE=eabr28 BRIDGE_CIDR=172.31.28.1/24 SUBNET_PREFIX=172.31.28.
        TCP_HOST=tcp://127.0.0.1:12375
        # sid's binaries first; runc (and docker-init, should tini-static be
        # missing) come from bookworm.
        DAEMON_ENV=(
            "PATH=$D28_ROOT/usr/sbin:$D28_ROOT/usr/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            HOME=/root
        )
        DAEMON_CMD=(
            "$D28_ROOT/usr/sbin/dockerd"
            --config-file "$LIB_DIR/docker28/daemon.json"
            --host "$(engine_host docker28)"
            --host "$TCP_HOST"
            --tls=false
            --data-root "$LIB_DIR/docker28/data"
            --exec-root "$RUN_DIR/docker28"
            --pidfile "$(engine_pidfile docker28)"
            --bridge "$BRIDGE"
            --default-address-pool base=10.128.0.0/16,size=24
            --cgroup-parent /engineapi-docker28
            --userland-proxy-path "$D28_ROOT/usr/sbin/docker-proxy"
        )
        CONFIG_FILES=("$LIB_DIR/docker28/daemon.json")
        ;;
    docker28w)
        # The swarm worker (see "swarm worker" below): docker28's binaries
        # in the network namespace $SW_NETNS, where docker0 is its own.
        SUBNET_PREFIX=172.31.29.
        DAEMON_ENV=(
            "PATH=$D28_ROOT/usr/sbin:$D28_ROOT/usr/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            HOME=/root
        )
        DAEMON_CMD=(
            /usr/bin/nsenter "--net=/run/netns/$SW_NETNS" --
            /usr/bin/unshare --mount --propagation slave --
            /bin/sh -c "$SW_SYSFS" "$LIB_DIR/docker28w/resolv.conf"
            "$D28_ROOT/usr/sbin/dockerd"
            --config-file "$LIB_DIR/docker28w/daemon.json"
            --host "$(engine_host docker28w)"
            --data-root "$LIB_DIR/docker28w/data"
            --exec-root "$RUN_DIR/docker28w"
            --pidfile "$(engine_pidfile docker28w)"
            --bip 172.31.29.1/24
            --default-address-pool base=10.129.0.0/16,size=24
            --cgroup-parent /engineapi-docker28w
            --userland-proxy-path "$D28_ROOT/usr/sbin/docker-proxy"
        )
        CONFIG_FILES=("$LIB_DIR/docker28w/daemon.json" "$LIB_DIR/docker28w/resolv.conf")
        ;;
    podman)
        KIND=podman SUBNET_PREFIX=172.31.88.
        DAEMON_ENV=(PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "${PODMAN_ENV[@]}")
        DAEMON_CMD=(
            /usr/bin/podman --log-level=info
            system service --time=0 "$(engine_host podman)"
        )
        CONFIG_FILES=(
            "$LIB_DIR/podman/etc/containers.conf"
            "$LIB_DIR/podman/etc/storage.conf"
            "$LIB_DIR/podman/etc/registries.conf"
            "$LIB_DIR/podman/networks/podman.json"
        )
        ;;
    *) die "unknown engine $1" ;;
    esac
}

PODMAN_ENV=(
    "CONTAINERS_CONF=$LIB_DIR/podman/etc/containers.conf"
    "CONTAINERS_STORAGE_CONF=$LIB_DIR/podman/etc/storage.conf"
    "CONTAINERS_REGISTRIES_CONF=$LIB_DIR/podman/etc/registries.conf"
)

podman_cli() { env "${PODMAN_ENV[@]}" /usr/bin/podman "$@"; }

# Write the engine's configuration files (before it starts).
prepare_engine() {
    case $1 in
    docker20 | docker28 | docker28w)
        mkdir -p "$LIB_DIR/$1/data"
        # An own config file so /etc/docker/daemon.json is not read; 20.10
        # would otherwise write its trust key to /etc/docker/key.json.
        local conf='{}'
        [[ $1 == docker20 ]] && conf="{\"deprecated-key-path\": \"$LIB_DIR/docker20/key.json\"}"
        [[ -f $LIB_DIR/$1/daemon.json && $(<"$LIB_DIR/$1/daemon.json") == "$conf" ]] ||
            echo "$conf" >"$LIB_DIR/$1/daemon.json"
        if [[ $1 == docker28w && $(cat "$LIB_DIR/$1/resolv.conf" 2>/dev/null) != "nameserver 127.0.0.1" ]]; then
            echo "nameserver 127.0.0.1" >"$LIB_DIR/$1/resolv.conf"
        fi
        ;;
    podman)
        mkdir -p "$LIB_DIR/podman/etc" "$LIB_DIR/podman/networks" \
            "$LIB_DIR/podman/events" "$RUN_DIR/podman"
        local f
        for f in containers.conf storage.conf registries.conf; do
            install_if_changed "$HERE/podman/$f" "$LIB_DIR/podman/etc/$f"
        done
        # The default network, on a bridge of its own name.
        install_if_changed "$HERE/podman/podman.json" "$LIB_DIR/podman/networks/podman.json"
        ;;
    esac
}

install_if_changed() {
    cmp -s "$1" "$2" || install -m 0644 "$1" "$2"
}

# A digest of what the engine runs with: a running engine whose digest
# differs from the current one is restarted by `up`.
engine_fingerprint() {
    {
        printf '%s\n' "${DAEMON_ENV[@]}" "${DAEMON_CMD[@]}"
        cat "${CONFIG_FILES[@]}"
    } | sha256sum | cut -d' ' -f1
}

# ------------------------------------------------------------ processes --
# The pid in the engine's pidfile, if that process is alive and is the
# engine (its command line names the engine's socket).
engine_pid() {
    local pidfile pid
    pidfile=$(engine_pidfile "$1")
    [[ -s $pidfile ]] || return 1
    pid=$(<"$pidfile")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/cmdline ]] || return 1
    { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qF "$(engine_sock "$1")" || return 1
    echo "$pid"
}

ping_engine() {
    [[ -S $(engine_sock "$1") ]] &&
        curl -sf --max-time 5 --unix-socket "$(engine_sock "$1")" http://d/_ping >/dev/null 2>&1
}

engine_running_ok() {
    local e=$1 stamp
    stamp=$(engine_stamp "$e")
    ping_engine "$e" || return 1
    engine_pid "$e" >/dev/null || return 1
    [[ -f $stamp && $(<"$stamp") == "$(engine_fingerprint)" ]]
}

rotate_log() {
    local log=$1
    if [[ -f $log ]] && (($(stat -c %s "$log") > 50 * 1024 * 1024)); then
        mv -f "$log" "$log.1"
    fi
}

start_engine() {
    local e=$1 log pid
    log=$(engine_log "$e")
    rotate_log "$log"
    rm -f "$(engine_sock "$e")"
    {
        printf '\n===== %s engines.sh: starting %s\n' "$(date -Is)" "$e"
        printf '%q ' "${DAEMON_CMD[@]}"
        printf '\n'
    } >>"$log"
    say "starting $e (log: $log)"
    # setsid: the engine outlives the shell (and session) that started it.
    # (fd 9 is the lock: the engine must not keep it.)
    env -i "${DAEMON_ENV[@]}" setsid "${DAEMON_CMD[@]}" </dev/null >>"$log" 2>&1 9>&- &
    pid=$!
    # dockerd writes its own pidfile; podman gets one from us.
    [[ $KIND == podman ]] && echo "$pid" >"$(engine_pidfile "$e")"
    STARTED_PIDS[$e]=$pid
    engine_fingerprint >"$(engine_stamp "$e")"
}

fail_engine() {
    local e=$1 msg=$2 log
    log=$(engine_log "$e")
    {
        printf '[engines] ---- end of %s (since its last start) ----\n' "$log"
        # From the last start marker on, at most 40 lines.
        awk '/^===== .* engines\.sh: starting /{n=0} {line[n++]=$0}
             END{for (i = (n > 40 ? n - 40 : 0); i < n; i++) print line[i]}' "$log" 2>/dev/null || true
        printf '[engines] ----\n'
    } >&2
    die "$e: $msg (log: $log)"
}

wait_engine() {
    local e=$1 pid=${2:-} deadline=$((SECONDS + WAIT_TIMEOUT))
    until ping_engine "$e"; do
        if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
            fail_engine "$e" "the engine exited while starting"
        fi
        if ((SECONDS >= deadline)); then
            fail_engine "$e" "no answer on $(engine_host "$e") within ${WAIT_TIMEOUT}s"
        fi
        sleep 0.2
    done
}

# Kill the processes of cgroups named like PATTERN (containers of an engine
# whose daemon is gone).
kill_cgroup_procs() {
    local pattern=$1 f pid
    while IFS= read -r f; do
        while IFS= read -r pid; do
            if [[ -n $pid ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
        done <"$f"
    done < <(find /sys/fs/cgroup -path "*/$pattern/*" -name cgroup.procs 2>/dev/null)
}

# Kill leftover processes whose command line names one of the given paths
# (the engine's containerd and shims, podman's conmons).
kill_path_procs() {
    local p cmd path pids=()
    for p in /proc/[0-9]*; do
        [[ ${p#/proc/} == "$$" ]] && continue
        cmd=$({ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null) || continue
        for path in "$@"; do
            if [[ $cmd == *"$path"* ]]; then
                pids+=("${p#/proc/}")
                break
            fi
        done
    done
    ((${#pids[@]})) || return 0
    say "killing leftover processes ${pids[*]}"
    kill -TERM "${pids[@]}" 2>/dev/null || true
    sleep 1
    kill -KILL "${pids[@]}" 2>/dev/null || true
}

# Unmount everything mounted at or below the given directories, deepest first.
unmount_under() {
    local mp prefix
    while IFS= read -r mp; do
        mp=$(printf '%b' "${mp//\\/\\0}") # mountinfo escapes spaces as \040
        for prefix in "$@"; do
            if [[ $mp == "$prefix" || $mp == "$prefix"/* ]]; then
                umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true
            fi
        done
    done < <(awk '{print $5}' /proc/self/mountinfo | sort -r)
}

wait_gone() {
    local pid=$1 deadline=$((SECONDS + $2))
    while kill -0 "$pid" 2>/dev/null; do
        ((SECONDS >= deadline)) && return 1
        sleep 0.2
    done
}

# Stop containers quickly (an engine stops them on shutdown too, but one
# at a time and gracefully).
stop_containers() {
    local e=$1 ids
    if [[ $e == podman ]]; then
        # conmon keeps podman's containers alive without the service.
        [[ -x /usr/bin/podman && -f $LIB_DIR/podman/etc/containers.conf ]] || return 0
        timeout 60 env "${PODMAN_ENV[@]}" /usr/bin/podman stop --all --time 2 >/dev/null 2>&1 || true
    elif ping_engine "$e" && [[ -x $DOCKER_CLI ]]; then
        ids=$(timeout 30 "$DOCKER_CLI" -H "$(engine_host "$e")" ps -q 2>/dev/null) || true
        if [[ -n $ids ]]; then
            # shellcheck disable=SC2086
            timeout 60 "$DOCKER_CLI" -H "$(engine_host "$e")" kill $ids >/dev/null 2>&1 || true
        fi
    fi
}

# Stop the given engines (all at once), then clean up after them.
stop_engines() {
    local e pid
    local -A stopping=()
    for e in "$@"; do
        stop_containers "$e"
        if pid=$(engine_pid "$e"); then
            say "stopping $e (pid $pid)"
            kill -TERM "$pid" 2>/dev/null || true
            stopping[$e]=$pid
        fi
    done
    for e in "${!stopping[@]}"; do
        if ! wait_gone "${stopping[$e]}" "$STOP_TIMEOUT"; then
            say "$e did not stop within ${STOP_TIMEOUT}s; killing it"
            kill -KILL "${stopping[$e]}" 2>/dev/null || true
            wait_gone "${stopping[$e]}" 10 || true
        fi
    done
    for e in "$@"; do
        case $e in
        docker20 | docker28 | docker28w)
            kill_cgroup_procs "engineapi-$e"
            kill_path_procs "$RUN_DIR/$e/" "$LIB_DIR/$e/data"
            unmount_under "$RUN_DIR/$e" "$LIB_DIR/$e/data"
            ;;
        podman)
            kill_path_procs "$LIB_DIR/podman/storage" "$RUN_DIR/podman/"
            unmount_under "$RUN_DIR/podman" "$LIB_DIR/podman/storage"
            ;;
        esac
        rm -f "$(engine_sock "$e")" "$(engine_pidfile "$e")" "$(engine_stamp "$e")"
    done
}

# --------------------------------------------------------------- system --
ensure_packages() {
    local missing=() p updated=0 installed
    installed=" $(dpkg-query -W -f='${Package}=${db:Status-Status} ' "${PACKAGES[@]}" 2>/dev/null || true) "
    for p in "${PACKAGES[@]}"; do
        [[ $installed == *" $p=installed "* ]] || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-cache show --no-all-versions "${missing[@]}" >/dev/null 2>&1; then
        apt-get update -q >&2
        updated=1
    fi
    local install=(apt-get install -y -q --no-install-recommends "${missing[@]}")
    if ! "${install[@]}" >&2; then
        ((updated)) && die "apt-get install ${missing[*]} failed"
        apt-get update -q >&2
        "${install[@]}" >&2 || die "apt-get install ${missing[*]} failed"
    fi
}

# The dockerds need a working iptables; fall back to the legacy backend if
# the nftables one does not work on this kernel.
ensure_iptables() {
    if iptables -w -t nat -S >/dev/null 2>&1 && iptables -w -t filter -S >/dev/null 2>&1; then
        return 0
    fi
    if iptables-legacy -w -t nat -S >/dev/null 2>&1 && iptables-legacy -w -t filter -S >/dev/null 2>&1; then
        say "iptables (nft) does not work here; switching to iptables-legacy"
        update-alternatives --set iptables /usr/sbin/iptables-legacy >&2
        update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy >&2 || true
        return 0
    fi
    die "neither iptables-nft nor iptables-legacy works on this machine"
}

# Create (or complete) a bridge; BRIDGE_CREATED=1 if it did not exist.
ensure_bridge() {
    local br=$1 cidr=$2
    BRIDGE_CREATED=0
    if ! ip link show dev "$br" >/dev/null 2>&1; then
        ip link add name "$br" type bridge
        BRIDGE_CREATED=1
    fi
    if ! ip -4 -o addr show dev "$br" | grep -qF " inet $cidr "; then
        ip addr replace "$cidr" dev "$br"
    fi
    ip link set dev "$br" up
}

delete_bridge() {
    if ip link show dev "$1" >/dev/null 2>&1; then
        ip link del dev "$1"
    fi
}

# ------------------------------------------------------------------- TLS --
# A throwaway CA, a server certificate for 127.0.0.1/localhost (docker20's
# TCP socket) and a client certificate, laid out for DOCKER_CERT_PATH.
ensure_tls() {
    local f
    for f in ca.pem ca-key.pem server/ca.pem server/cert.pem server/key.pem \
        client/ca.pem client/cert.pem client/key.pem; do
        [[ -s $TLS_DIR/$f ]] || break
    done
    [[ -s $TLS_DIR/$f ]] && openssl verify -CAfile "$TLS_DIR/ca.pem" \
        "$TLS_DIR/server/cert.pem" "$TLS_DIR/client/cert.pem" >/dev/null 2>&1 && return 0

    say "generating TLS material in $TLS_DIR"
    local tmp=$TLS_DIR.new cnf=$HERE/openssl.cnf
    rm -rf "$tmp"
    mkdir -p "$tmp/server" "$tmp/client"
    (
        cd "$tmp"
        umask 077
        openssl req -x509 -config "$cnf" -extensions ca_ext -newkey rsa:2048 -nodes \
            -keyout ca-key.pem -out ca.pem -days 3650 -subj "/CN=engineapi test CA"
        openssl req -new -config "$cnf" -newkey rsa:2048 -nodes \
            -keyout server/key.pem -out server.csr -subj "/CN=localhost"
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
            -days 3650 -extfile "$cnf" -extensions server_ext -out server/cert.pem
        openssl req -new -config "$cnf" -newkey rsa:2048 -nodes \
            -keyout client/key.pem -out client.csr -subj "/CN=engineapi test client"
        openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
            -days 3650 -extfile "$cnf" -extensions client_ext -out client/cert.pem
        cp ca.pem server/ca.pem
        cp ca.pem client/ca.pem
        rm -f server.csr client.csr ca.srl
        # Test material: readable by whoever runs the tests.
        chmod 0755 . server client
        chmod 0644 ca.pem server/* client/*
    ) >/dev/null 2>&1 || die "generating the TLS material failed"
    rm -rf "$TLS_DIR"
    mv "$tmp" "$TLS_DIR"
}

# --------------------------------------------------------------- busybox --
# A busybox:latest image from bookworm's busybox-static: bin/busybox and a
# symlink for each applet, some directories and a passwd/group.
ensure_busybox_tar() {
    [[ -s $IMAGE_TAR ]] && return 0
    say "building $IMAGE_TAR"
    local bb=/bin/busybox rootfs applet
    [[ -x $bb ]] || die "$bb missing (package busybox-static)"
    mkdir -p "$(dirname "$IMAGE_TAR")"
    rootfs=$(mktemp -d "$LIB_DIR/images/rootfs.XXXXXX")
    mkdir -p "$rootfs"/{bin,dev,etc,home,proc,root,sys,tmp,usr,var}
    cp "$bb" "$rootfs/bin/busybox"
    while IFS= read -r applet; do
        # The list names busybox itself: keep the binary.
        [[ -z $applet || $applet == busybox || -e $rootfs/bin/$applet ]] && continue
        ln -s busybox "$rootfs/bin/$applet"
    done < <("$bb" --list)
    ln -s bin "$rootfs/sbin"
    ln -s ../bin "$rootfs/usr/bin"
    ln -s ../bin "$rootfs/usr/sbin"
    chmod 1777 "$rootfs/tmp"
    chmod 0700 "$rootfs/root"
    printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
        'nobody:x:65534:65534:nobody:/home:/bin/false' >"$rootfs/etc/passwd"
    printf '%s\n' 'root:x:0:' 'nobody:x:65534:' >"$rootfs/etc/group"
    tar -C "$rootfs" --sort=name --numeric-owner --owner=0 --group=0 \
        --mtime=@0 -cf "$IMAGE_TAR.new" .
    mv "$IMAGE_TAR.new" "$IMAGE_TAR"
    rm -rf "$rootfs"
}

docker_cli() {
    local e=$1
    shift
    "$DOCKER_CLI" -H "$(engine_host "$e")" "$@"
}

ensure_image() {
    local e=$1
    docker_cli "$e" image inspect busybox:latest >/dev/null 2>&1 && return 0
    say "importing busybox:latest into $e"
    timeout 120 "$DOCKER_CLI" -H "$(engine_host "$e")" import \
        --change 'CMD ["sh"]' "$IMAGE_TAR" busybox:latest >/dev/null ||
        fail_engine "$e" "docker import of $IMAGE_TAR failed"
}

# A container on the default network must start, and get an address on the
# engine's own bridge.
smoke_check() {
    local e=$1 out
    out=$(timeout 120 "$DOCKER_CLI" -H "$(engine_host "$e")" run --rm busybox \
        sh -c 'echo ok; ip -4 -o addr show eth0' 2>&1) || true
    if [[ $(head -n1 <<<"$out") != ok || $out != *" inet $SUBNET_PREFIX"* ]]; then
        printf '%s\n' "$out" >&2
        fail_engine "$e" "smoke check (docker run --rm busybox) failed"
    fi
}

# ---------------------------------------------------------------- docker28 --
debian_mirror() {
    if [[ -n ${ENGINEAPI_DEBIAN_MIRROR:-} ]]; then
        echo "$ENGINEAPI_DEBIAN_MIRROR"
        return 0
    fi
    local codename
    # shellcheck disable=SC1091
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    # shellcheck disable=SC2016 # apt expands $(...) in its format
    apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(IDENTIFIER)' 2>/dev/null |
        awk -v c="$codename" '$2 == c && $3 == "Packages" {print $1; exit}'
}

d28_binaries_run() {
    local r=$1
    "$r/usr/sbin/dockerd" --version >/dev/null 2>&1 &&
        "$r/usr/bin/containerd" --version >/dev/null 2>&1 &&
        "$r/usr/bin/containerd-shim-runc-v2" -v >/dev/null 2>&1 &&
        "$r/usr/bin/docker" --version >/dev/null 2>&1 &&
        "$r/usr/sbin/docker-proxy" --version >/dev/null 2>&1
}

# Download docker.io, containerd, docker-cli and tini-static of SUITE into
# $LIB_DIR/debs/SUITE, with an apt state of its own (the machine's apt
# sources, lists and cache are left alone).
fetch_debs() {
    local suite=$1 debdir=$LIB_DIR/debs/$1 aptdir=$LIB_DIR/apt/$1 mirror pkg ver
    if [[ -s $debdir/MANIFEST ]]; then
        local ok=1 f
        while IFS= read -r f; do [[ -s $debdir/$f ]] || ok=0; done <"$debdir/MANIFEST"
        ((ok)) && return 0
    fi
    mirror=$(debian_mirror)
    [[ -n $mirror ]] || die "cannot tell the machine's Debian mirror; set ENGINEAPI_DEBIAN_MIRROR"
    say "downloading docker from Debian $suite"
    mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial"
    echo "deb $mirror $suite main" >"$aptdir/sources.list"
    local opts=(
        -q
        -o "Dir::Etc::SourceList=$aptdir/sources.list"
        -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$aptdir/lists"
        -o "Dir::Cache=$aptdir/cache"
        -o Dir::Etc::Preferences=/dev/null
        -o Dir::Etc::PreferencesParts=/dev/null
        -o APT::Sandbox::User=root
    )
    apt-get "${opts[@]}" update >&2 || return 1
    rm -rf "$debdir.new"
    mkdir -p "$debdir.new"
    local specs=()
    for pkg in docker.io containerd docker-cli tini-static; do
        ver=$(apt-cache "${opts[@]}" madison "$pkg" 2>/dev/null |
            awk -F' *[|] *' -v s=" $suite/" 'index($3, s) {print $2; exit}')
        if [[ -z $ver ]]; then
            # docker-cli and tini-static are not separate packages everywhere
            [[ $pkg == docker.io || $pkg == containerd ]] && return 1
            continue
        fi
        specs+=("$pkg=$ver")
    done
    (cd "$debdir.new" && apt-get "${opts[@]}" download "${specs[@]}" >&2) || return 1
    (cd "$debdir.new" && ls -1 -- *.deb >MANIFEST)
    rm -rf "$debdir"
    mv "$debdir.new" "$debdir"
}

unpack_debs() {
    local suite=$1 debdir=$LIB_DIR/debs/$1 f
    rm -rf "$D28_ROOT.new"
    mkdir -p "$D28_ROOT.new"
    while IFS= read -r f; do
        dpkg -x "$debdir/$f" "$D28_ROOT.new"
    done <"$debdir/MANIFEST"
    if ! d28_binaries_run "$D28_ROOT.new"; then
        rm -rf "$D28_ROOT.new"
        return 1
    fi
    {
        echo "suite=$suite"
        sed 's/^/deb=/' "$debdir/MANIFEST"
    } >"$D28_ROOT.new/.engineapi-source"
    rm -rf "$D28_ROOT"
    mv "$D28_ROOT.new" "$D28_ROOT"
}

ensure_docker28_binaries() {
    if [[ -f $D28_ROOT/.engineapi-source ]] && d28_binaries_run "$D28_ROOT"; then
        return 0
    fi
    if engine_pid docker28 >/dev/null; then
        stop_engines docker28
    fi
    local suite
    for suite in ${ENGINEAPI_DOCKER28_SUITES:-sid trixie}; do
        if fetch_debs "$suite" && unpack_debs "$suite"; then
            local version
            version=$("$D28_ROOT/usr/sbin/dockerd" --version)
            say "docker28: $version from $suite"
            if [[ $version != "Docker version 28."* ]]; then
                say "WARNING: docker28 is not a 28.x here but $version"
            fi
            return 0
        fi
        say "docker from $suite could not be fetched or does not run here"
    done
    die "no usable docker for docker28 (tried: ${ENGINEAPI_DOCKER28_SUITES:-sid trixie})"
}

# ------------------------------------------------------------------- sshd --
# A throwaway sshd on 127.0.0.1 for the ssh:// transports. Root logs in with
# keys only; `docker` on the "remote" side is bookworm's /usr/bin/docker, and
# sessions get DOCKER_HOST=docker28 so that ssh URLs without a socket path
# reach an engine as on a real remote host. Three user keys:
#   id_ed25519   the normal key
#   id_nodocker  forced to a PATH without docker (a remote lacking the CLI)
#   id_banner    forced to print a line on stdout first (a chatty login
#                script, docker/cli#3019)
SSH_DIR=$LIB_DIR/ssh
SSHD_CONFIG=$SSH_DIR/sshd_config
SSHD_PIDFILE=$RUN_DIR/sshd.pid
SSHD_STAMP=$RUN_DIR/sshd.started
SSHD_JSON=$RUN_DIR/sshd.json
SSHD_LOG=$LOG_DIR/sshd.log
SSHD_ALIAS=engineapi-test
SSHD_DOCKER_HOST=unix://$RUN_DIR/docker28.sock
SSH_USER_KEYS=(id_ed25519 id_nodocker id_banner)

ensure_ssh_keys() {
    local k
    mkdir -p "$SSH_DIR"
    chmod 0755 "$SSH_DIR"
    if [[ ! -s $SSH_DIR/ssh_host_ed25519_key ]]; then
        say "generating the sshd host key in $SSH_DIR"
        rm -f "$SSH_DIR/ssh_host_ed25519_key" "$SSH_DIR/ssh_host_ed25519_key.pub"
        ssh-keygen -q -t ed25519 -N '' -C 'engineapi test sshd' \
            -f "$SSH_DIR/ssh_host_ed25519_key" >/dev/null
    fi
    for k in "${SSH_USER_KEYS[@]}"; do
        [[ -s $SSH_DIR/$k && -s $SSH_DIR/$k.pub ]] && continue
        rm -f "$SSH_DIR/$k" "$SSH_DIR/$k.pub"
        ssh-keygen -q -t ed25519 -N '' -C "engineapi test $k" -f "$SSH_DIR/$k" >/dev/null
    done
    # OpenSSH refuses private keys that others can read.
    chmod 0600 "$SSH_DIR/ssh_host_ed25519_key" "${SSH_USER_KEYS[@]/#/$SSH_DIR/}"
}

# The port chosen once (kept in $SSH_DIR/port) while it is ours or free.
ssh_port() {
    local port='' pid
    [[ -s $SSH_DIR/port ]] && port=$(<"$SSH_DIR/port")
    if [[ $port =~ ^[0-9]+$ ]]; then
        if pid=$(sshd_pid) && grep -qx "Port $port" "$SSHD_CONFIG" 2>/dev/null; then
            echo "$port"
            return 0
        fi
        if [[ -z $(ss -Hltn "sport = :$port" 2>/dev/null) ]]; then
            echo "$port"
            return 0
        fi
    fi
    local tries
    for ((tries = 0; tries < 50; tries++)); do
        port=$(shuf -i 20000-59999 -n 1)
        if [[ -z $(ss -Hltn "sport = :$port" 2>/dev/null) ]]; then
            echo "$port" >"$SSH_DIR/port"
            echo "$port"
            return 0
        fi
    done
    die "no free port for sshd"
}

# authorized_keys, sshd_config, known_hosts and ssh_config for PORT.
write_ssh_files() {
    local port=$1 tmp
    tmp=$(mktemp "$SSH_DIR/.new.XXXXXX")
    {
        cat "$SSH_DIR/id_ed25519.pub"
        # The forced commands run the client's command as sshd would.
        # shellcheck disable=SC2016 # $SSH_ORIGINAL_COMMAND is for the remote shell
        printf 'restrict,command="PATH=/nonexistent exec /bin/sh -c \\"$SSH_ORIGINAL_COMMAND\\"" %s\n' \
            "$(<"$SSH_DIR/id_nodocker.pub")"
        # shellcheck disable=SC2016
        printf 'restrict,command="echo %s; exec /bin/sh -c \\"$SSH_ORIGINAL_COMMAND\\"" %s\n' \
            "'Welcome to engineapi-test! (a login script that talks on stdout)'" \
            "$(<"$SSH_DIR/id_banner.pub")"
    } >"$tmp"
    replace_if_changed "$tmp" "$SSH_DIR/authorized_keys" 0644

    tmp=$(mktemp "$SSH_DIR/.new.XXXXXX")
    cat >"$tmp" <<EOF_SSHD
# engineapi test sshd (tests/engines/engines.sh); not the machine's sshd.
Port $port
ListenAddress 127.0.0.1
AddressFamily inet
HostKey $SSH_DIR/ssh_host_ed25519_key
PidFile $SSHD_PIDFILE
AuthorizedKeysFile $SSH_DIR/authorized_keys
AuthorizedPrincipalsFile none
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
UsePAM no
StrictModes yes
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PermitUserEnvironment no
MaxSessions 10
MaxStartups 64:30:128
LoginGraceTime 30
SetEnv DOCKER_HOST=$SSHD_DOCKER_HOST
LogLevel VERBOSE
EOF_SSHD
    replace_if_changed "$tmp" "$SSHD_CONFIG" 0644

    tmp=$(mktemp "$SSH_DIR/.new.XXXXXX")
    printf '[127.0.0.1]:%s,[localhost]:%s %s\n' "$port" "$port" \
        "$(cut -d' ' -f1,2 "$SSH_DIR/ssh_host_ed25519_key.pub")" >"$tmp"
    replace_if_changed "$tmp" "$SSH_DIR/known_hosts" 0644

    tmp=$(mktemp "$SSH_DIR/.new.XXXXXX")
    cat >"$tmp" <<EOF_SSH
# For ssh -F and asyncssh: the engineapi test sshd as "$SSHD_ALIAS".
Host $SSHD_ALIAS
    HostName 127.0.0.1
    Port $port
    User root
    IdentityFile $SSH_DIR/id_ed25519
    IdentitiesOnly yes
    IdentityAgent none
    UserKnownHostsFile $SSH_DIR/known_hosts
    StrictHostKeyChecking yes
    BatchMode yes
EOF_SSH
    replace_if_changed "$tmp" "$SSH_DIR/ssh_config" 0644
}

replace_if_changed() {
    local new=$1 target=$2 mode=$3
    chmod "$mode" "$new"
    if cmp -s "$new" "$target"; then
        rm -f "$new"
    else
        mv -f "$new" "$target"
    fi
}

sshd_fingerprint() {
    cat "$SSHD_CONFIG" "$SSH_DIR/authorized_keys" "$SSH_DIR/ssh_host_ed25519_key.pub" |
        sha256sum | cut -d' ' -f1
}

# The pid of our sshd listener (its command line names our sshd_config).
sshd_pid() {
    local pid
    [[ -s $SSHD_PIDFILE ]] || return 1
    pid=$(<"$SSHD_PIDFILE")
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
    { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qF "$SSHD_CONFIG" || return 1
    echo "$pid"
}

# The sshd greets on its port.
ping_sshd() {
    local port=$1 greeting
    greeting=$(timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && head -c 4 <&3" 2>/dev/null) ||
        return 1
    [[ $greeting == SSH- ]]
}

# Over ssh, dial-stdio reaches docker28 (ssh_config alias, exact host key).
smoke_check_sshd() {
    local out
    out=$(printf 'GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n' |
        timeout 30 ssh -F "$SSH_DIR/ssh_config" -T "$SSHD_ALIAS" docker system dial-stdio 2>&1) || true
    if [[ $out != "HTTP/1."*" 200 "* ]]; then
        printf '%s\n' "$out" >&2
        fail_sshd "smoke check (ssh $SSHD_ALIAS docker system dial-stdio) failed"
    fi
}

fail_sshd() {
    {
        printf '[engines] ---- end of %s ----\n' "$SSHD_LOG"
        tail -n 30 "$SSHD_LOG" 2>/dev/null || true
        printf '[engines] ----\n'
    } >&2
    die "sshd: $1 (log: $SSHD_LOG)"
}

start_sshd() {
    local port pid deadline
    ensure_ssh_keys
    port=$(ssh_port)
    [[ -n $port ]] || die "sshd: no port"
    write_ssh_files "$port"
    if pid=$(sshd_pid) && ping_sshd "$port" &&
        [[ -f $SSHD_STAMP && $(<"$SSHD_STAMP") == "$(sshd_fingerprint)" ]]; then
        write_sshd_json "$port"
        return 0
    fi
    stop_sshd
    # sshd insists on its privilege separation directory.
    mkdir -p /run/sshd
    chmod 0755 /run/sshd
    /usr/sbin/sshd -t -f "$SSHD_CONFIG" 2>>"$SSHD_LOG" || fail_sshd "sshd -t rejects $SSHD_CONFIG"
    rotate_log "$SSHD_LOG"
    printf '\n===== %s engines.sh: starting sshd on 127.0.0.1:%s\n' "$(date -Is)" "$port" >>"$SSHD_LOG"
    say "starting sshd on 127.0.0.1:$port (log: $SSHD_LOG)"
    # sshd daemonizes itself and writes its pidfile. (fd 9 is the lock.)
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /usr/sbin/sshd -f "$SSHD_CONFIG" -E "$SSHD_LOG" \
        </dev/null 9>&- || fail_sshd "sshd did not start"
    deadline=$((SECONDS + WAIT_TIMEOUT))
    until sshd_pid >/dev/null && ping_sshd "$port"; do
        ((SECONDS >= deadline)) && fail_sshd "no greeting on 127.0.0.1:$port within ${WAIT_TIMEOUT}s"
        sleep 0.2
    done
    sshd_fingerprint >"$SSHD_STAMP"
    smoke_check_sshd
    write_sshd_json "$port"
    say "sshd is up"
}

# Stop our sshd listener and the sessions it forked (by their parent pid).
stop_sshd() {
    local pid children
    if pid=$(sshd_pid); then
        say "stopping sshd (pid $pid)"
        children=$(ps -o pid= --ppid "$pid" 2>/dev/null | tr -d ' ' | tr '\n' ' ') || true
        kill -TERM "$pid" 2>/dev/null || true
        if [[ -n $children ]]; then
            # shellcheck disable=SC2086
            kill -TERM $children 2>/dev/null || true
        fi
        wait_gone "$pid" 10 || kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$SSHD_PIDFILE" "$SSHD_STAMP" "$SSHD_JSON"
}

write_sshd_json() {
    local port=$1
    jq -n --argjson port "$port" --arg dir "$SSH_DIR" --arg alias "$SSHD_ALIAS" \
        --arg docker_host "$SSHD_DOCKER_HOST" \
        '{host: "127.0.0.1", port: $port, user: "root", alias: $alias,
          identity: "\($dir)/id_ed25519",
          identities: {nodocker: "\($dir)/id_nodocker", banner: "\($dir)/id_banner"},
          known_hosts: "\($dir)/known_hosts",
          host_key: "\($dir)/ssh_host_ed25519_key.pub",
          config: "\($dir)/ssh_config",
          sshd_config: "\($dir)/sshd_config",
          default_docker_host: $docker_host}' >"$SSHD_JSON.new"
    mv "$SSHD_JSON.new" "$SSHD_JSON"
}

sshd_status() {
    local pid port
    port=$(cat "$SSH_DIR/port" 2>/dev/null) || port='?'
    if pid=$(sshd_pid) && ping_sshd "$port"; then
        printf '%-9s up    pid %-8s %-34s %s\n' sshd "$pid" "ssh://root@127.0.0.1:$port" \
            "alias $SSHD_ALIAS in $SSH_DIR/ssh_config"
    else
        printf '%-9s down  %s\n' sshd "(log: $SSHD_LOG)"
        return 1
    fi
}

# --------------------------------------------------------------- registry --
# Two throwaway registries (Debian's docker-registry, distribution 2.8) on
# 127.0.0.1, plain HTTP. The dockerds treat 127.0.0.0/8 as insecure by
# default, so neither engine needs a flag for them, and distribution does
# basic auth without TLS:
#   open  127.0.0.1:15000  anyone pushes and pulls
#   auth  127.0.0.1:15001  htpasswd basic auth, user engineapi, a password
#                          generated once ($REGISTRY_DIR/password)
# Configs, htpasswd and storage in $REGISTRY_DIR/<name>; described (open and
# auth addresses, user, password) in /run/engineapi/registry.json.
# Podman 4.3 would need the addresses in its registries.conf (insecure); it
# is not pointed at them, the registry tests run on the Docker engines.
REGISTRY_DIR=$LIB_DIR/registry
REGISTRY_JSON=$RUN_DIR/registry.json
REGISTRY_USER=engineapi
REGISTRIES=(open auth)
declare -A REGISTRY_PORT=([open]=15000 [auth]=15001)

registry_config() { echo "$REGISTRY_DIR/$1/config.yml"; }
registry_pidfile() { echo "$RUN_DIR/registry-$1.pid"; }
registry_stamp() { echo "$RUN_DIR/registry-$1.started"; }
registry_log() { echo "$LOG_DIR/registry-$1.log"; }

# The password, and an htpasswd (bcrypt) that accepts it.
ensure_registry_password() {
    mkdir -p "$REGISTRY_DIR/auth"
    if [[ ! -s $REGISTRY_DIR/password ]]; then
        (umask 077 && openssl rand -hex 16 >"$REGISTRY_DIR/password")
    fi
    if ! htpasswd -vb "$REGISTRY_DIR/auth/htpasswd" "$REGISTRY_USER" \
        "$(<"$REGISTRY_DIR/password")" >/dev/null 2>&1; then
        htpasswd -Bbc "$REGISTRY_DIR/auth/htpasswd" "$REGISTRY_USER" \
            "$(<"$REGISTRY_DIR/password")" >/dev/null 2>&1 ||
            die "registry: htpasswd failed"
    fi
}

write_registry_config() {
    local r=$1 tmp
    mkdir -p "$REGISTRY_DIR/$r/data"
    tmp=$(mktemp "$REGISTRY_DIR/$r/.new.XXXXXX")
    cat >"$tmp" <<EOF_REG
# engineapi test registry "$r" (tests/engines/engines.sh)
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $REGISTRY_DIR/$r/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${REGISTRY_PORT[$r]}
  secret: engineapi-test-$r
EOF_REG
    if [[ $r == auth ]]; then
        cat >>"$tmp" <<EOF_AUTH
auth:
  htpasswd:
    realm: engineapi-test
    path: $REGISTRY_DIR/auth/htpasswd
EOF_AUTH
    fi
    replace_if_changed "$tmp" "$(registry_config "$r")" 0644
}

registry_fingerprint() {
    cat "$(registry_config "$1")" "$REGISTRY_DIR/auth/htpasswd" | sha256sum | cut -d' ' -f1
}

registry_pid() {
    local pidfile pid
    pidfile=$(registry_pidfile "$1")
    [[ -s $pidfile ]] || return 1
    pid=$(<"$pidfile")
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
    { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null |
        grep -qF "$(registry_config "$1")" || return 1
    echo "$pid"
}

# The open registry answers /v2/ with 200, the auth one with 401 (and 200
# with the credentials).
ping_registry() {
    local r=$1 url code
    url="http://127.0.0.1:${REGISTRY_PORT[$r]}/v2/"
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url" 2>/dev/null) || return 1
    if [[ $r == open ]]; then
        [[ $code == 200 ]]
    else
        [[ $code == 401 ]] || return 1
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
            -u "$REGISTRY_USER:$(<"$REGISTRY_DIR/password")" "$url" 2>/dev/null) || return 1
        [[ $code == 200 ]]
    fi
}

fail_registry() {
    local r=$1 log
    log=$(registry_log "$r")
    {
        printf '[engines] ---- end of %s ----\n' "$log"
        tail -n 20 "$log" 2>/dev/null || true
        printf '[engines] ----\n'
    } >&2
    die "registry $r: $2 (log: $log)"
}

stop_registry() {
    local r=$1 pid
    if pid=$(registry_pid "$r"); then
        say "stopping registry $r (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        wait_gone "$pid" 10 || kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$(registry_pidfile "$r")" "$(registry_stamp "$r")"
}

start_registries() {
    local r pid deadline log
    [[ -x /usr/bin/docker-registry ]] || die "registry: /usr/bin/docker-registry missing"
    ensure_registry_password
    for r in "${REGISTRIES[@]}"; do
        write_registry_config "$r"
        if registry_pid "$r" >/dev/null && ping_registry "$r" &&
            [[ -f $(registry_stamp "$r") && $(<"$(registry_stamp "$r")") == "$(registry_fingerprint "$r")" ]]; then
            continue
        fi
        stop_registry "$r"
        [[ -z $(ss -Hltn "sport = :${REGISTRY_PORT[$r]}" 2>/dev/null) ]] ||
            die "registry $r: port ${REGISTRY_PORT[$r]} on 127.0.0.1 is taken by another process"
        log=$(registry_log "$r")
        rotate_log "$log"
        printf '\n===== %s engines.sh: starting registry %s\n' "$(date -Is)" "$r" >>"$log"
        say "starting registry $r on 127.0.0.1:${REGISTRY_PORT[$r]} (log: $log)"
        # (fd 9 is the lock.)
        env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root setsid \
            /usr/bin/docker-registry serve "$(registry_config "$r")" \
            </dev/null >>"$log" 2>&1 9>&- &
        pid=$!
        echo "$pid" >"$(registry_pidfile "$r")"
        deadline=$((SECONDS + WAIT_TIMEOUT))
        until ping_registry "$r"; do
            kill -0 "$pid" 2>/dev/null || fail_registry "$r" "exited while starting"
            ((SECONDS >= deadline)) && fail_registry "$r" "no answer within ${WAIT_TIMEOUT}s"
            sleep 0.2
        done
        registry_fingerprint "$r" >"$(registry_stamp "$r")"
    done
    jq -n --arg open "127.0.0.1:${REGISTRY_PORT[open]}" \
        --arg auth "127.0.0.1:${REGISTRY_PORT[auth]}" \
        --arg user "$REGISTRY_USER" --arg password "$(<"$REGISTRY_DIR/password")" \
        '{open: $open, auth: $auth, username: $user, password: $password,
          scheme: "http"}' >"$REGISTRY_JSON.new"
    chmod 0600 "$REGISTRY_JSON.new"
    mv "$REGISTRY_JSON.new" "$REGISTRY_JSON"
}

stop_registries() {
    local r
    for r in "${REGISTRIES[@]}"; do stop_registry "$r"; done
    rm -f "$REGISTRY_JSON"
}

registry_status() {
    local r pid down=0
    for r in "${REGISTRIES[@]}"; do
        if pid=$(registry_pid "$r") && ping_registry "$r"; then
            printf '%-9s up    pid %-8s %-34s %s\n' "reg-$r" "$pid" \
                "http://127.0.0.1:${REGISTRY_PORT[$r]}" "$(registry_config "$r")"
        else
            printf '%-9s down  %s\n' "reg-$r" "(log: $(registry_log "$r"))"
            down=1
        fi
    done
    return "$down"
}

# ----------------------------------------------------------- swarm worker --
# A fourth dockerd, docker28w (docker28's binaries, so Docker 28.x), for the
# two-node swarm tests. Two dockerds in one network namespace clash on the
# swarm ports (2377 control, 7946 gossip, 4789 VXLAN), so this one lives in
# a network namespace of its own, joined to the host by a veth pair:
#   host side  easw0       10.231.28.1/24  (the manager, docker20 in the
#                                           host namespace, advertises this)
#   netns      $SW_NETNS   eth0 10.231.28.2/24, default route via the host
# It also gets a mount namespace (a slave of the host's) whose /sys shows the
# network namespace's devices, the host's cgroup mounts moved onto it (what
# `ip netns exec` does, minus losing the cgroups); its socket
# unix:///run/engineapi/docker28w.sock is reached from the host as the others'.
# Its resolv.conf names 127.0.0.1 (nothing listens there): the namespace has
# no way out, and a lookup that fails at once beats one that times out (a
# swarm task tries to pull its image before it starts).
# It is not in engines.json (the per-engine tests do not run on it);
# /run/engineapi/swarm.json describes it. The swarm tests restart it (SIGTERM,
# then `engines.sh up`): an autolocked manager is only locked after a restart.
# Swarm mode runs on docker20 and docker28w only, never on docker28, which
# shares the host namespace with docker20: both would create their ingress
# VXLAN with VNI 4096 on port 4789 ("error creating vxlan interface: file
# exists") and a bridge device named docker_gwbridge.
SW_NETNS=engineapi-sw
SW_HOST_IF=easw0
SW_NS_IF=eth0
SW_HOST_ADDR=10.231.28.1
SW_NS_ADDR=10.231.28.2
SW_PREFIX=24
# shellcheck disable=SC2016 # expanded by the sh that starts docker28w
SW_SYSFS='d=$(mktemp -d) && mount --rbind /sys/fs/cgroup "$d" &&
    mount -t sysfs -o nosuid,nodev,noexec sysfs /sys &&
    mount --move "$d" /sys/fs/cgroup && rmdir "$d" &&
    mount --bind "$0" /etc/resolv.conf && exec "$@"'
SWARM_JSON=$RUN_DIR/swarm.json

# Create (or complete) the namespace and its link; SW_NETNS_CREATED=1 when
# the namespace is new (a dockerd in an old one must be restarted).
ensure_swarm_netns() {
    SW_NETNS_CREATED=0
    if ! ip netns exec "$SW_NETNS" true 2>/dev/null; then
        ip netns delete "$SW_NETNS" 2>/dev/null || true
        ip netns add "$SW_NETNS"
        SW_NETNS_CREATED=1
    fi
    if ! ip -n "$SW_NETNS" link show dev "$SW_NS_IF" >/dev/null 2>&1; then
        ip link del dev "$SW_HOST_IF" 2>/dev/null || true
        ip link add "$SW_HOST_IF" type veth peer name "$SW_NS_IF" netns "$SW_NETNS"
    fi
    ip addr replace "$SW_HOST_ADDR/$SW_PREFIX" dev "$SW_HOST_IF"
    ip link set dev "$SW_HOST_IF" up
    ip -n "$SW_NETNS" link set dev lo up
    ip -n "$SW_NETNS" addr replace "$SW_NS_ADDR/$SW_PREFIX" dev "$SW_NS_IF"
    ip -n "$SW_NETNS" link set dev "$SW_NS_IF" up
    ip -n "$SW_NETNS" route replace default via "$SW_HOST_ADDR"
}

delete_swarm_netns() {
    ip link del dev "$SW_HOST_IF" 2>/dev/null || true
    ip netns delete "$SW_NETNS" 2>/dev/null || true
}

# The running docker28w is in the current namespace.
swarm_worker_in_netns() {
    local pid
    pid=$(engine_pid docker28w) || return 1
    [[ $(readlink "/proc/$pid/ns/net") == "$(ip netns exec "$SW_NETNS" readlink /proc/self/ns/net)" ]]
}

start_swarm_worker() {
    local e=docker28w pid
    ensure_swarm_netns
    engine_setup "$e"
    prepare_engine "$e"
    if ((SW_NETNS_CREATED)) || ! swarm_worker_in_netns; then
        rm -f "$(engine_stamp "$e")"
    fi
    if ! engine_running_ok "$e"; then
        stop_engines "$e"
        start_engine "$e"
        wait_engine "$e" "${STARTED_PIDS[$e]}"
        say "$e is up (network namespace $SW_NETNS, $SW_NS_ADDR)"
    fi
    ensure_image "$e"
    smoke_check "$e"
    jq -n --arg host "$(engine_host "$e")" --arg netns "$SW_NETNS" \
        --arg manager_addr "$SW_HOST_ADDR" --arg worker_addr "$SW_NS_ADDR" \
        --arg api "$(curl -sf --max-time 10 --unix-socket "$(engine_sock "$e")" \
            http://d/version | jq -r .ApiVersion)" \
        '{manager: {engine: "docker20", address: $manager_addr},
          worker: {name: "docker28w", host: $host, api_version: $api,
                   netns: $netns, address: $worker_addr}}' >"$SWARM_JSON.new"
    mv "$SWARM_JSON.new" "$SWARM_JSON"
}

stop_swarm_worker() {
    stop_engines docker28w
    delete_swarm_netns
    rm -f "$SWARM_JSON"
}

swarm_worker_status() {
    local pid
    if ping_engine docker28w && pid=$(engine_pid docker28w); then
        printf '%-9s up    pid %-8s %-34s %s\n' docker28w "$pid" "$(engine_host docker28w)" \
            "swarm worker in netns $SW_NETNS ($SW_NS_ADDR)"
    else
        printf '%-9s down  %s\n' docker28w "(log: $(engine_log docker28w))"
        return 1
    fi
}

# --------------------------------------------------------------- results --
write_engines_json() {
    local e api entries=()
    for e in "${ENGINES[@]}"; do
        engine_setup "$e"
        api=$(curl -sf --max-time 10 --unix-socket "$(engine_sock "$e")" http://d/version |
            jq -r .ApiVersion) || die "$e: GET /version failed"
        entries+=("$(jq -n \
            --arg name "$e" --arg host "$(engine_host "$e")" --arg api "$api" \
            --arg kind "$KIND" --arg tcp "$TCP_HOST" --arg tls "$TLS_HOST" \
            --arg cert_path "$TLS_DIR/client" \
            '{name: $name, host: $host, api_version: $api, kind: $kind,
              tcp: (if $tcp == "" then null else $tcp end),
              tls: (if $tls == "" then null
                    else {host: $tls, cert_path: $cert_path} end)}')")
    done
    printf '%s\n' "${entries[@]}" | jq -s . >"$ENGINES_JSON.new"
    mv "$ENGINES_JSON.new" "$ENGINES_JSON"
}

# -------------------------------------------------------------- commands --
require_root() {
    ((EUID == 0)) || die "must run as root"
}

take_lock() {
    mkdir -p "$RUN_DIR"
    exec 9>"$RUN_DIR/engines.lock"
    flock -w 900 9 || die "another engines.sh holds $RUN_DIR/engines.lock"
}

declare -A STARTED_PIDS=()

cmd_up() {
    local t0=$SECONDS e
    require_root
    take_lock
    mkdir -p "$RUN_DIR" "$LIB_DIR" "$LOG_DIR" "$DOCKER_CONFIG"
    ensure_packages
    ensure_iptables
    ensure_tls
    ensure_busybox_tar
    ensure_docker28_binaries

    for e in "${ENGINES[@]}"; do
        engine_setup "$e"
        prepare_engine "$e"
        if [[ -n $BRIDGE ]]; then
            ensure_bridge "$BRIDGE" "$BRIDGE_CIDR"
            # A dockerd that lost its bridge cannot recover: restart it.
            ((BRIDGE_CREATED)) && rm -f "$(engine_stamp "$e")"
        fi
        if engine_running_ok "$e"; then
            continue
        fi
        stop_engines "$e"
        start_engine "$e"
    done
    for e in "${!STARTED_PIDS[@]}"; do
        wait_engine "$e" "${STARTED_PIDS[$e]}"
        say "$e is up"
    done
    for e in "${ENGINES[@]}"; do
        engine_setup "$e"
        ensure_image "$e"
        smoke_check "$e"
    done
    write_engines_json
    start_sshd
    start_registries
    start_swarm_worker
    cmd_status >&2 || true
    say "all engines, sshd, registries and swarm worker up ($((SECONDS - t0))s); see" \
        "$ENGINES_JSON, $SSHD_JSON, $REGISTRY_JSON and $SWARM_JSON"
}

cmd_down() {
    local e
    require_root
    take_lock
    stop_sshd
    stop_registries
    stop_swarm_worker
    stop_engines "${ENGINES[@]}"
    delete_bridge eabr20
    delete_bridge eabr28
    delete_bridge eabrpod
    rm -f "$ENGINES_JSON"
    say "all engines, sshd, registries and swarm worker down"
}

cmd_status() {
    local e pid info down=0
    for e in "${ENGINES[@]}"; do
        if ping_engine "$e"; then
            pid=$(engine_pid "$e") || pid='?'
            info=$(curl -sf --max-time 5 --unix-socket "$(engine_sock "$e")" http://d/version |
                jq -r '"\(.Version) api \(.ApiVersion)"' 2>/dev/null) || info='?'
            printf '%-9s up    pid %-8s %-34s %s\n' "$e" "$pid" "$(engine_host "$e")" "$info"
        else
            printf '%-9s down  %s\n' "$e" "(log: $(engine_log "$e"))"
            down=1
        fi
    done
    sshd_status || down=1
    registry_status || down=1
    swarm_worker_status || down=1
    return "$down"
}

case ${1:-} in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
*)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
