#!/bin/sh
# Install the Debian packages of tools/packages.txt that are missing.
# Runs `apt-get update` only when something must be installed.
set -e
here=$(dirname "$0")
pkgs=$(grep -v '^#' "$here/packages.txt" | grep -v '^$')
missing=""
for p in $pkgs; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "leaktrace: missing Debian packages:$missing" >&2
	echo "leaktrace: run make as root, or with sudo (sudo make ...), or install them: sudo apt-get install -y$missing" >&2
	exit 2
fi
echo "leaktrace: installing$missing" >&2
apt-get update -q >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >&2
