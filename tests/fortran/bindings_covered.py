#!/usr/bin/env python3
"""bindings_covered.py LIBTERN MPIFH MPIF08 TABLE MPI_H: every Fortran binding
of Open MPI's (libmpi_mpifh: mpi_x_, libmpi_usempif08: mpi_x_f08_) whose call
takes a communicator, request or message handle is libtern's too -- else a
Fortran program's call would reach Open MPI with one of tern's Fortran handles
-- except the calls the table leaves to Open MPI (`skip`: only Open MPI's own
handles go in and out). Fortran-only twins (mpi_x_cptr_) count as their call.
Prints PASS, or "FAIL: " and the bindings that are missing."""
import os
import re
import subprocess
import sys

lib, mpifh, mpif08, table, mpih = sys.argv[1:6]
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'mpiwrap'))
from mpi_table import load   # noqa: E402

protos, entries = load(table, mpih)
left_to_ompi = {n.lower() for n, cls, kv, _ in entries if cls == 'skip' and kv.get('f') != 'plain'}
takes_handle = {n.lower() for n, p in protos.items()
                if re.search(r'\bMPI_(Comm|Request|Message)\b', ' '.join(x['text'] for x in p['params']))}


def exported(path):
    out = subprocess.run(['nm', '-D', '--defined-only', path], capture_output=True, text=True, check=True).stdout
    return {f[2].split('@')[0] for f in (line.split() for line in out.splitlines()) if len(f) >= 3}


ours = exported(lib)
missing, checked = [], 0
for path, pattern in ((mpifh, r'^(mpi_\w+?)_$'), (mpif08, r'^(mpi_\w+?)_f08_$')):
    for sym in sorted(exported(path)):
        m = re.match(pattern, sym)
        if not m or sym.endswith('__'):
            continue
        call = re.sub(r'_cptr$', '', m.group(1))
        if call not in takes_handle or call in left_to_ompi:
            continue
        checked += 1
        if sym not in ours:
            missing.append(sym)
if missing:
    print('FAIL: Open MPI Fortran bindings that take handles, not interposed by libtern: ' + ' '.join(missing))
    sys.exit(1)
if checked < 100:
    print('FAIL: only %d handle-taking Fortran bindings found in %s and %s' % (checked, mpifh, mpif08))
    sys.exit(1)
print('PASS: all %d Fortran bindings of Open MPI that take handles are libtern\'s' % checked)
