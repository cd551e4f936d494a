#!/bin/bash
# typed.sh APP TERN NP NP_RESTART: protected arrays that stock HDF5 tools
# read (typed.c). A checkpoint on NP ranks; then
#   h5dump prints /arrays/x, /arrays/grid and /arrays/u with their HDF5
#   types and shapes and the values typed.c wrote, /arrays/rec as opaque;
#   h5py (typed.py) gets numpy arrays of the right dtype and shape;
#   `tern info` and `tern info --json` list the arrays (type, shape, size);
#   restarts on NP and NP_RESTART ranks read every element back; one that
#   protects the float64 array as int64 is refused.
set -u
app=$1 tern=$2 np=$3 np2=$4
here=$(dirname "$0")
source "$here/common.sh"
proto_work typed
die() { echo "FAIL: $*" >&2; cat "$work"/*.out "$work"/*.err >&2 2>/dev/null; exit 1; }
mpi() { local n=$1; shift; "$MPIEXEC" --oversubscribe --bind-to none -np "$n" "$@"; }
# the h5py that apt installs (jobs/install-deps.sh: python3-h5py) belongs to
# the system's python, which need not be the first python3 on PATH
py=
for p in /usr/bin/python3 python3; do
    "$p" -c 'import h5py' 2>/dev/null && { py=$p; break; }
done
[ -n "$py" ] || die "no python3 with h5py (jobs/install-deps.sh installs python3-h5py)"
command -v h5dump >/dev/null || die "no h5dump (hdf5-tools)"

mpi "$np" -x TERN_DIR="$work/job" "$app" write >"$work/w.out" 2>"$work/w.err" || die "write run failed"
grep -q '^SNAPSHOT 1' "$work/w.out" || die "no checkpoint committed"
ck=$(ls "$work"/job/ckpt-*.h5 | head -1)
[ -f "$ck" ] || die "no checkpoint file"

# h5dump: the header names the type and shape; -o writes only the values
dump() {  # dump NAME TYPE SHAPE VALUES
    h5dump -d "/arrays/$1" -H "$ck" >"$work/$1.h" 2>"$work/$1.herr" || die "h5dump -H /arrays/$1 failed"
    grep -q "DATATYPE  *$2" "$work/$1.h" || die "/arrays/$1: not $2: $(cat "$work/$1.h")"
    grep -q "DATASPACE  SIMPLE { ( $3 ) / ( $3 ) }" "$work/$1.h" || die "/arrays/$1: shape not ( $3 ): $(cat "$work/$1.h")"
    h5dump -d "/arrays/$1" -y -w 0 -o "$work/$1.txt" "$ck" >/dev/null 2>"$work/$1.derr" || die "h5dump /arrays/$1 failed"
    got=$(tr -d ' \n' <"$work/$1.txt")
    [ "$got" = "$4" ] || die "/arrays/$1: h5dump printed '$got', want '$4'"
    echo "h5dump /arrays/$1: $2 ( $3 ) ok"
}
x=$(seq 0 19 | awk '{printf "%s%s", (NR > 1 ? "," : ""), $1 + 0.25}')
grid=$(for i in 0 1 2 3 4; do for j in 0 1 2 3 4 5 6; do echo $((100 * i + j - 300)); done; done | paste -sd,)
u=9223372036854775808,9223372036854775809,9223372036854775810,9223372036854775811,9223372036854775812,9223372036854775813   # 2^63 + g
dump x H5T_IEEE_F64LE 20 "$x"
dump grid H5T_STD_I32LE "5, 7" "$grid"
dump u H5T_STD_U64LE 6 "$u"
h5dump -d /arrays/rec -H "$ck" | grep -q 'DATATYPE  *H5T_OPAQUE' || die "/arrays/rec is not opaque"
h5dump -d /arrays/z -H "$ck" | grep -q 'H5T_IEEE_F64LE "r"' || die "/arrays/z is not a compound {r, i} of doubles"

"$py" "$here/typed.py" "$ck" "$np" >"$work/py.out" 2>"$work/py.err" || die "h5py check: $(cat "$work/py.out" "$work/py.err")"
grep -q '^PASS' "$work/py.out" || die "h5py check printed no PASS"
sed 's/^PASS$/h5py ok/' "$work/py.out"

"$tern" info "$ck" >"$work/info.out" 2>"$work/info.err" || die "tern info failed"
grep -Eq '^  grid +int32 +5x7 +140 B' "$work/info.out" || die "tern info: no grid line: $(cat "$work/info.out")"
grep -Eq '^  z +complex128 +8 ' "$work/info.out" || die "tern info: no z line"
grep -Eq '^  rec +opaque16 +6 ' "$work/info.out" || die "tern info: no rec line"
"$tern" info --json "$ck" >"$work/info.json" 2>"$work/info.err" || die "tern info --json failed"
"$py" - "$work/info.json" <<'PY' || die "tern info --json: arrays wrong"
import json, sys
a = {x["name"]: x for x in json.load(open(sys.argv[1]))["arrays"]}
assert a["grid"]["type"] == "int32" and a["grid"]["shape"] == [5, 7] and a["grid"]["size"] == 140, a["grid"]
assert a["x"]["type"] == "float64" and a["x"]["shape"] == [20] and a["x"]["compression"] == "none", a["x"]
assert a["rec"]["type"] == "opaque16" and a["u"]["type"] == "uint64", a
PY
echo "tern info: arrays listed"

for n in "$np" "$np2"; do
    mpi "$n" -x TERN_DIR="$work/job" -x TERN_RESTART="$work/job" "$app" check >"$work/r$n.out" 2>"$work/r$n.err" ||
        die "restart on $n ranks failed"
    grep -q "^CHECKED $n" "$work/r$n.out" || die "restart on $n ranks: values differ"
    echo "restart on $n ranks: every element back"
done
# a float64 array into an int64 region: the same size, refused by kind
mpi "$np" -x TERN_DIR="$work/job" -x TERN_RESTART="$work/job" "$app" check int64 >"$work/k.out" 2>"$work/k.err"
grep -q '^REFUSED' "$work/k.out" || die "a float64 array was recovered into an int64 region"
grep -q "region x: saved as float64, protected now as int64" "$work/k.err" ||
    die "no line naming the kinds: $(cat "$work/k.err")"
echo "float64 into int64 refused: $(grep -m1 'region x' "$work/k.err")"
echo PASS
