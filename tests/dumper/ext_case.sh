#!/bin/bash
# dumper.external[.nobody]: ext_driver.c (external shared memory across a
# dump and a restore) as root, or as nobody:nogroup. It runs copies of the
# binaries: the build tree need not be readable by nobody.
#   ext_case.sh DRIVER EXTMEM root|nobody
set -u
DRIVER=$1 EXTMEM=$2 USERMODE=$3
. "$(dirname "$0")/common.sh"
dmp_setup ext
chmod 755 "$W"
trap 'rm -rf "$W"' EXIT
cp "$DRIVER" "$W/driver" && cp "$EXTMEM" "$W/extmem" || exit 1
chmod 755 "$W/driver" "$W/extmem"
AS=()
[ "$USERMODE" = nobody ] && AS=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
cd /tmp || exit 1
"${AS[@]}" "$W/driver" "$W/extmem"
