#!/bin/sh
# mkroots.sh - build (once) and cache the real CPython builds the tests trace.
#
# Usage: tools/mkroots.sh [sid] [stripped] [trixie] [all]   (default: sid stripped)
#
# Contract (the tests and .ci/run rely on it):
#   $LEAKTRACE_ROOTS (default /var/tmp/leaktrace-roots) holds, when this exits 0:
#     sid/            a Debian unstable minbase root with python3.13, python3.14 and python3.15
#                     (whichever of them sid has; READY says which), no -dbg package installed.
#                     Run it with: unshare --pid --mount --fork --mount-proc --root=sid python3.14 ...
#                     With each python3.X, its libpython3.X-testsuite (CPython's own test modules,
#                     /usr/lib/python3.X/test; tests/test_cpython_suite.py runs some). The root's
#                     .testsuite file lists them; a root cached before it existed (no such file)
#                     gets them installed in place on the next run, the file written last.
#     sid-dbg/        python3.X-dbg (libpython3.X-dbg too where libpython3.X is installed) of
#                     exactly the installed versions, only extracted
#                     (dpkg-deb -x): gdb reads their DWARF by build-id with
#                     `set debug-file-directory sid-dbg/usr/lib/debug`. Cross-checks only.
#     stripped/3.X/   for each pyenv 3.8-3.13: bin/python3.X and lib/libpython3.X.so.1.0, copied,
#                     `strip --strip-all`, build-id note removed; PREFIX names the original prefix
#                     (use it as PYTHONHOME; run with LD_LIBRARY_PATH=stripped/3.X/lib).
#     trixie/, trixie-dbg/  (only when asked) the same for Debian 13 and its python3.13.
#     READY           what is there: versions (python3.X -VV), build-ids, timings.
#   Each piece is built in a temporary directory and renamed into place, so a piece that exists
#   is complete; a second run reuses it and costs seconds. A lock serialises concurrent runs
#   (the test suite and CI may both call this).
#
# The Debian mirror is the one apt already uses on this machine, read from
# /etc/apt/sources.list.d/*.sources (deb822) or /etc/apt/sources.list at run time
# ($LEAKTRACE_MIRROR overrides it). No host name is written into this repository.
# Needs root, debootstrap, binutils (strip, objcopy, readelf) and util-linux (unshare, flock).
set -eu

ROOTS=${LEAKTRACE_ROOTS:-/var/tmp/leaktrace-roots}
SID_PYTHONS="3.13 3.14 3.15"
STRIPPED_MINORS="3.8 3.9 3.10 3.11 3.12 3.13"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

err() { echo "leaktrace: $*" >&2; exit 2; }
log() { echo "mkroots: $*" >&2; }

# The first non-security archive URI of the host's apt sources. deb822 files first
# ("URIs: a b"), then one-line "deb [opts] URI suite ..." files.
mirror_uri() {
	if [ -n "${LEAKTRACE_MIRROR:-}" ]; then
		echo "$LEAKTRACE_MIRROR"
		return
	fi
	uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++)
			if ($i !~ /security/) { print $i; exit } }')
	if [ -z "$uri" ]; then
		uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			awk '$1 == "deb" { for (i = 2; i <= NF; i++)
				if ($i ~ /^(https?|file|ftp):/ && $i !~ /security/) { print $i; exit } }')
	fi
	[ -n "$uri" ] || err "no Debian archive URI in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list (set LEAKTRACE_MIRROR)"
	echo "$uri"
}

# Run a command inside a root as the tests do: own mount and pid namespace, fresh /proc
# (unshare mounts it after entering the root, so --mount-proc names the root's /proc).
in_root() {
	r=$1
	shift
	unshare --pid --mount --fork --mount-proc --root="$r" "$@"
}

# apt inside a root needs its sources only while it runs: write them, use them, remove them
# again, so that no cached root keeps the mirror's name either.
# Check-Valid-Until off: a mirror or snapshot may serve a Release file past its Valid-Until
# date; its signature is still checked (debootstrap itself does not look at the date).
root_apt_begin() {
	echo "deb $MIRROR $2 main" >"$1/etc/apt/sources.list"
	in_root "$1" apt-get -q -o Acquire::Languages=none -o Acquire::Check-Valid-Until=false update >&2 ||
		err "apt-get update in $1 failed"
}
root_apt_end() {
	in_root "$1" apt-get clean
	rm -rf "$1"/var/lib/apt/lists/* "$1/etc/apt/sources.list"
	: >"$1/etc/apt/sources.list"
}

now() { date +%s; }

# debootstrap a minbase root of SUITE into DIR (a temporary name), then install every
# python3.X of PYS that SUITE has (one that it lacks is noted in READY).
bootstrap() {
	suite=$1 dir=$2 pys=$3
	t0=$(now)
	kr=
	[ -r "$KEYRING" ] && kr="--keyring=$KEYRING"
	# A finished debootstrap is kept (marker file) if a later step fails: the retry
	# starts from the package install, not from scratch.
	if [ ! -e "$dir/.debootstrap-done" ]; then
		rm -rf "$dir"
		log "debootstrap $suite into $dir"
		debootstrap --variant=minbase $kr "$suite" "$dir" "$MIRROR" >"$dir.log" 2>&1 ||
			{ tail -5 "$dir.log" >&2; err "debootstrap $suite failed (log: $dir.log)"; }
		: >"$dir/.debootstrap-done"
	fi
	t1=$(now)
	root_apt_begin "$dir" "$suite"
	have=
	for v in $pys; do
		# apt-cache policy prints "Candidate: (none)" or nothing for an unknown package.
		if in_root "$dir" apt-cache policy "python$v" | grep -q 'Candidate: [0-9]'; then
			have="$have python$v"
		else
			log "$suite has no python$v"
			echo "$suite: no python$v in the archive" >>"$ROOTS/.notes"
		fi
	done
	[ -n "$have" ] || err "$suite has none of: $pys"
	in_root "$dir" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends $have >>"$dir.log" 2>&1 ||
		{ tail -5 "$dir.log" >&2; err "installing$have in $suite failed (log: $dir.log)"; }
	install_testsuites "$dir" "$suite" "$dir.log"
	t2=$(now)
	echo "$suite: debootstrap $((t1 - t0)) s, python install $((t2 - t1)) s" >>"$ROOTS/.timings"
}

# Install libpython3.X-testsuite for every python3.X installed in DIR (apt sources already
# written by root_apt_begin), then write DIR/.testsuite listing them: that file exists only
# once all are installed. A version whose test suite the archive lacks is noted, not fatal
# (the tests that need it say it is missing).
install_testsuites() {
	dir=$1 suite=$2 logf=$3
	pkgs=
	for py in "$dir"/usr/bin/python3.[0-9]*; do
		v=${py##*/python}
		case $v in *[!0-9.]* | *.) continue ;; esac
		if in_root "$dir" apt-cache policy "libpython$v-testsuite" | grep -q 'Candidate: [0-9]'; then
			pkgs="$pkgs libpython$v-testsuite"
		else
			echo "$suite: no libpython$v-testsuite in the archive" >>"$ROOTS/.notes"
		fi
	done
	if [ -n "$pkgs" ]; then
		in_root "$dir" env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q --no-install-recommends $pkgs >>"$logf" 2>&1 ||
			{ tail -5 "$logf" >&2; err "installing$pkgs in $suite failed (log: $logf)"; }
	fi
	echo "$pkgs" | tr ' ' '\n' | sed '/^$/d' >"$dir/.testsuite"
}

# A root cached before the test suites were part of it: install them in place (under the
# lock; the files they add are new ones under /usr/lib/python3.X/test).
add_testsuites() {
	suite=$1 r="$ROOTS/$1"
	[ -e "$r/.testsuite" ] && return
	t0=$(now)
	log "$r has no .testsuite: installing the test suites into it"
	root_apt_begin "$r" "$suite"
	install_testsuites "$r" "$suite" "$ROOTS/$suite.log"
	root_apt_end "$r"
	echo "$suite: test suites added $(($(now) - t0)) s" >>"$ROOTS/.timings"
}

# Download the -dbg packages matching what ROOT has installed and extract them into DBG
# (a temporary name). They never get installed in ROOT.
extract_dbg() {
	root=$1 dbg=$2 suite=$3
	t0=$(now)
	mkdir -p "$dbg" "$root/tmp/dbg"
	chmod 777 "$root/tmp/dbg"	# apt downloads as _apt
	root_apt_begin "$root" "$suite"
	for pkg in $(in_root "$root" dpkg-query -W -f '${Package}\n' 'python3.*' 'libpython3.*' |
		grep -E '^(lib)?python3\.[0-9]+$'); do
		ver=$(in_root "$root" dpkg-query -W -f '${Version}' "$pkg")
		# Same version as installed, or the DWARF would not match the build-ids.
		(in_root "$root" sh -c "cd /tmp/dbg && apt-get -q download $pkg-dbg=$ver") >&2 ||
			log "no $pkg-dbg=$ver in the archive"
	done
	for deb in "$root"/tmp/dbg/*.deb; do
		[ -e "$deb" ] || err "no -dbg package could be downloaded for $root"
		dpkg-deb -x "$deb" "$dbg"
		basename "$deb" >>"$dbg/PACKAGES"
	done
	rm -rf "$root/tmp/dbg"
	root_apt_end "$root"
	echo "$suite-dbg: download and extract $(($(now) - t0)) s" >>"$ROOTS/.timings"
}

build_suite() {
	suite=$1 pys=$2
	[ -d "$ROOTS/$suite" ] && add_testsuites "$suite"
	if [ -d "$ROOTS/$suite" ] && [ -d "$ROOTS/$suite-dbg" ]; then
		log "$ROOTS/$suite and $ROOTS/$suite-dbg exist: reused"
		return
	fi
	if [ ! -d "$ROOTS/$suite" ]; then
		tmp="$ROOTS/.$suite.part"
		bootstrap "$suite" "$tmp" "$pys"
		root_apt_end "$tmp"
		rm "$tmp/.debootstrap-done"
		mv "$tmp.log" "$ROOTS/$suite.log"
		mv "$tmp" "$ROOTS/$suite"
	fi
	if [ ! -d "$ROOTS/$suite-dbg" ]; then
		tmp="$ROOTS/.$suite-dbg.tmp.$$"
		rm -rf "$tmp"
		extract_dbg "$ROOTS/$suite" "$tmp" "$suite"
		mv "$tmp" "$ROOTS/$suite-dbg"
	fi
}

# Copies of the pyenv builds as a distribution would ship them: no symbols but .dynsym,
# no build-id, so nothing keyed on build-id or DWARF can know them.
build_stripped() {
	t0=$(now)
	made=
	pyenv_root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
	for m in $STRIPPED_MINORS; do
		dst="$ROOTS/stripped/$m"
		[ -d "$dst" ] && continue
		# The newest installed patch release of that minor version.
		prefix=$(ls -d "$pyenv_root/versions/$m".* 2>/dev/null | sort -V | tail -1)
		if [ -z "$prefix" ] || [ ! -e "$prefix/lib/libpython$m.so.1.0" ]; then
			log "no shared pyenv build of $m under $pyenv_root: no stripped copy"
			continue
		fi
		tmp="$ROOTS/stripped/.$m.tmp.$$"
		rm -rf "$tmp"
		mkdir -p "$tmp/bin" "$tmp/lib"
		cp "$prefix/bin/python$m" "$tmp/bin/"
		cp "$prefix/lib/libpython$m.so.1.0" "$tmp/lib/"
		for f in "$tmp/bin/python$m" "$tmp/lib/libpython$m.so.1.0"; do
			strip --strip-all "$f"
			objcopy --remove-section .note.gnu.build-id "$f"
		done
		echo "$prefix" >"$tmp/PREFIX"
		mv "$tmp" "$dst"
		made="$made $m"
	done
	[ -z "$made" ] || echo "stripped$made: $(($(now) - t0)) s" >>"$ROOTS/.timings"
}

# One line per ELF file: path, build-id (or none), stripped or not, .PyRuntime, USDT notes.
describe_elf() {
	f=$1
	bid=$(readelf -n "$f" 2>/dev/null | awk '/Build ID:/ { print $3 }')
	sym=$(readelf -S -W "$f" | grep -q ' \.symtab ' && echo "has .symtab" || echo "stripped")
	pyr=$(readelf -S -W "$f" | grep -q ' \.PyRuntime ' && echo ".PyRuntime" || echo "no .PyRuntime")
	usdt=$(readelf -n "$f" 2>/dev/null | grep -c NT_STAPSDT || true)
	probes=$(readelf -n "$f" 2>/dev/null | awk '/NT_STAPSDT/ { p = 1 } p && /Name: / { print $2; p = 0 }' |
		sort -u | tr '\n' ' ' | sed 's/ $//')
	echo "  $f: build-id ${bid:-none}; $sym; $pyr; $usdt USDT notes ${probes:+($probes)}"
}

write_ready() {
	out="$ROOTS/.READY.tmp.$$"
	{
		echo "# leaktrace test roots, written by tools/mkroots.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		for suite in sid trixie; do
			r="$ROOTS/$suite"
			[ -d "$r" ] || continue
			echo "$suite: $r (run: unshare --pid --mount --fork --mount-proc --root=$r python3.X)"
			for py in "$r"/usr/bin/python3.[0-9]*; do
				case $py in *-config | *d) continue ;; esac
				[ -x "$py" ] || continue
				n=$(basename "$py")
				echo "  $n: $(in_root "$r" "/usr/bin/$n" -VV 2>&1 | tr '\n' ' ')"
				describe_elf "$py"
			done
			for lib in "$r"/usr/lib/x86_64-linux-gnu/libpython3.*.so.1.0; do
				[ -e "$lib" ] && describe_elf "$lib"
			done
			if [ -d "$r-dbg" ]; then
				echo "$suite-dbg: $r-dbg (gdb: set debug-file-directory $r-dbg/usr/lib/debug)"
				sed 's/^/  /' "$r-dbg/PACKAGES"
			fi
		done
		if [ -d "$ROOTS/stripped" ]; then
			echo "stripped: $ROOTS/stripped (run: LD_LIBRARY_PATH=3.X/lib PYTHONHOME=\$(cat 3.X/PREFIX) 3.X/bin/python3.X)"
			for d in $(ls -d "$ROOTS"/stripped/3.* | sort -V); do
				[ -d "$d" ] || continue
				m=$(basename "$d")
				echo "  $m: $(LD_LIBRARY_PATH="$d/lib" PYTHONHOME="$(cat "$d/PREFIX")" \
					"$d/bin/python$m" -VV 2>&1 | tr '\n' ' ') from $(cat "$d/PREFIX")"
				describe_elf "$d/bin/python$m"
				describe_elf "$d/lib/libpython$m.so.1.0"
			done
		fi
		if [ -e "$ROOTS/.notes" ]; then sort -u "$ROOTS/.notes"; fi
		if [ -e "$ROOTS/.timings" ]; then sed 's/^/timing: /' "$ROOTS/.timings"; fi
	} >"$out"
	mv "$out" "$ROOTS/READY"
}

[ "$(id -u)" = 0 ] || err "mkroots.sh must run as root (debootstrap, unshare --root)"
want=${*:-sid stripped}
[ "$want" = all ] && want="sid stripped trixie"
for w in $want; do
	case $w in
	sid | stripped | trixie) ;;
	*) err "unknown piece '$w' (sid, stripped, trixie, all)" ;;
	esac
done

mkdir -p "$ROOTS"
exec 9>"$ROOTS/.lock"
flock 9
# Under the lock, any temporary piece is what an interrupted run left: never reused.
rm -rf "$ROOTS"/.*.tmp.* "$ROOTS"/stripped/.*.tmp.*

for w in $want; do
	case $w in
	sid | trixie)
		command -v debootstrap >/dev/null || err "debootstrap is not installed (apt-get install debootstrap)"
		MIRROR=$(mirror_uri)
		;;
	esac
	case $w in
	sid) build_suite sid "$SID_PYTHONS" ;;
	trixie) build_suite trixie 3.13 ;;
	stripped) build_stripped ;;
	esac
done
write_ready
log "ready: $ROOTS/READY"
