#!/usr/bin/env bash
# Print the path of a headless-capable Chromium for the documentation's browser test,
# installing Debian's `chromium` package first when it is missing (root on Debian, as
# tests/engines/engines.sh installs the engines). Exit 1, saying why, when there is none.
set -euo pipefail

if path=$(command -v chromium); then
    echo "$path"
    exit 0
fi
if [ "$(id -u)" != 0 ] || [ ! -f /etc/debian_version ]; then
    echo "chromium is not installed and this is not root on Debian: install Chromium," \
        "or set ENGINEAPI_NO_BROWSER=1 to skip the browser test" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
install=(apt-get install -y -q --no-install-recommends chromium)
if ! "${install[@]}" >&2; then
    apt-get update -q >&2
    "${install[@]}" >&2 || { echo "apt-get install chromium failed" >&2; exit 1; }
fi
command -v chromium
