#!/usr/bin/env bash
# Build and install the Citus extension for the local PostgreSQL from the release tarball kept beside the project.
# Idempotent: does nothing when this Citus version is already installed for this server.
#   CITUS_TARBALL  the source tarball (default: ../shared/vendor/citus/citus-v13.2.2.tar.gz from the project root)
set -euo pipefail
cd "$(dirname "$0")/../.."

CITUS_VERSION=13.2.2
CITUS_SHA256=dd2453caec20a830e5e63f1def5c5a98cb6f57ae510407cdcd800916fcdab430
SOURCE="shared/vendor/citus/citus-v${CITUS_VERSION}.tar.gz"
TARBALL="${CITUS_TARBALL:-../$SOURCE}"
if [[ -z "${CITUS_TARBALL:-}" && ! -f "$TARBALL" ]]; then
  # A fresh clone elsewhere (CI): the source beside the repository it was cloned from.
  origin="$(git config --get remote.origin.url 2>/dev/null || true)"
  if [[ -n "$origin" && -f "$origin/../$SOURCE" ]]; then TARBALL="$origin/../$SOURCE"; fi
fi
PG_CONFIG="${PG_CONFIG:-pg_config}"

pkglib="$("$PG_CONFIG" --pkglibdir)"
sharedir="$("$PG_CONFIG" --sharedir)"
if [[ -f "$pkglib/citus.so" && -f "$sharedir/extension/citus.control" ]] \
   && grep -q "default_version = '${CITUS_VERSION%.*}-" "$sharedir/extension/citus.control"; then
  echo "citus ${CITUS_VERSION%.*} already installed for $("$PG_CONFIG" --version)"
  exit 0
fi

if ! command -v flex >/dev/null || [[ ! -f "$("$PG_CONFIG" --includedir-server)/postgres.h" ]]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql-server-dev-15 libcurl4-openssl-dev liblz4-dev \
    libzstd-dev libkrb5-dev libssl-dev libselinux1-dev libxslt1-dev libpam0g-dev libreadline-dev flex bison \
    autoconf make gcc >/dev/null
fi

[[ -f "$TARBALL" ]] || { echo "Citus source not found at $TARBALL (set CITUS_TARBALL)" >&2; exit 1; }
echo "$CITUS_SHA256  $TARBALL" | sha256sum -c --quiet -

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tar -xzf "$TARBALL" -C "$work"
src="$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -1)"

# PostgreSQL 15.20 exports have_createdb_privilege(); Citus 13.2.2 defines a static copy of its own. Rename
# Citus's copy when the server's header declares the function.
compat="$src/src/include/pg_version_compat.h"
if grep -q "have_createdb_privilege" "$("$PG_CONFIG" --includedir-server)/commands/dbcommands.h"; then
  awk '/^have_createdb_privilege\(void\)/ && !done {
         print "#define have_createdb_privilege citus_compat_have_createdb_privilege"; done=1 }
       { print }' "$compat" > "$compat.new"
  mv "$compat.new" "$compat"
fi

(cd "$src" && ./configure --quiet PG_CONFIG="$PG_CONFIG" >/dev/null \
  && make -s -j"$(nproc)" with_llvm=no >/dev/null \
  && make -s install with_llvm=no >/dev/null)
echo "citus ${CITUS_VERSION} installed for $("$PG_CONFIG" --version)"
