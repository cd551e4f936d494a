#!/usr/bin/env python3
"""tests/stack/layering.py SRC BUILD OBJECTS: the stack is one-way.

    common <- storage <- dumper
              storage <- mpiwrap <- coord <- jobs   (jobs on top of all)
    common <- channel                               (beside storage)
    channel <- shim                                 (beside mpiwrap: never links it)
               coord <- proxy <- jobs               (tern-proxy; the tern command runs it)
              coord <- fortran                      (beside jobs: the Fortran
                                                     bindings and module)

A part may include headers of, and use symbols defined by, the parts below
it only. Two checks: every #include "..." in a part's sources resolves to
its own folder or a lower part's; and no symbol a part's object files leave
undefined is defined by the object files of its own rank or above (nm).
OBJECTS is a colon-separated list of object files (the libraries' and the
command's), each assigned to the part whose build folder holds it.
Also: inside a part, the modules' includes form no cycle; and only mpiwrap/wrap.h's tern_internal_enter()/leave() change the
depth tern_internal (one owner, so that it nests).
Prints PASS, or "FAIL: " and one line per violation.
"""
import os, re, subprocess, sys

RANK = {'common': 0, 'storage': 1, 'channel': 1, 'dumper': 2, 'mpiwrap': 2, 'shim': 2, 'coord': 3,
        'proxy': 4, 'fortran': 4, 'jobs': 5}
# shim/ is Open MPI's libmpi.so.40 for the application in transparent mode:
# the MPI names it defines are the MPI library's, which every part may use
MPI_API = re.compile(r'^(P?MPI_|ompi_|OMPI_C_MPI_)')

def allowed(lower, upper):
    return RANK[upper] < RANK[lower]

src, build, objs = sys.argv[1], os.path.realpath(sys.argv[2]), sys.argv[3].split(':')
bad = []

# --- includes ---------------------------------------------------------------
files = {p: set(os.listdir(os.path.join(src, p))) for p in RANK}
inc = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
for part in RANK:
    for f in sorted(files[part]):
        if not f.endswith(('.c', '.h', '.def')):
            continue
        text = open(os.path.join(src, part, f), errors='replace').read()
        for m in inc.finditer(text):
            name = m.group(1)
            head = name.split('/')[0]
            if '/' in name and head in RANK:
                owners = [head]
            elif name in files[part]:
                continue
            else:
                owners = [p for p in RANK if os.path.basename(name) in files[p]]
            if not owners:
                continue   # generated (the build folder) or a system header
            if part in owners or any(allowed(part, o) for o in owners):
                continue
            bad.append('%s/%s includes "%s" of %s, which is above it'
                       % (part, f, name, '/'.join(owners)))

# --- inside a part, modules include one way -------------------------------------
# A module is X.c with its contract X.h; a cycle of includes between modules
# (snapshot.c <-> checkpoint.c once) means neither can be read first.
for part in RANK:
    mods = {os.path.splitext(f)[0] for f in files[part] if f.endswith(('.c', '.h'))}
    graph = {}
    for f in files[part]:
        if not f.endswith(('.c', '.h')):
            continue
        me = os.path.splitext(f)[0]
        text = open(os.path.join(src, part, f), errors='replace').read()
        for m in inc.finditer(text):
            other = os.path.splitext(m.group(1))[0]
            if '/' not in other and other in mods and other != me:
                graph.setdefault(me, set()).add(other)
    state = {}
    def visit(n, path):
        state[n] = 1
        for x in sorted(graph.get(n, ())):
            if state.get(x) == 1:
                cyc = path[path.index(x):] + [x]
                bad.append('%s/: modules include each other: %s' % (part, ' -> '.join(cyc)))
            elif not state.get(x):
                visit(x, path + [x])
        state[n] = 2
    for n in sorted(graph):
        if not state.get(n):
            visit(n, [n])

# --- one owner of tern_internal -----------------------------------------------
# It is a nesting depth: only mpiwrap/wrap.h's enter/leave may change it.
assign = re.compile(r'\btern_internal\s*(=[^=]|\+\+|--|\+=|-=)|(\+\+|--)\s*tern_internal\b')
for part in RANK:
    for f in sorted(files[part]):
        if not f.endswith(('.c', '.h', '.py')) or (part, f) == ('mpiwrap', 'wrap.h'):
            continue
        for n, line in enumerate(open(os.path.join(src, part, f), errors='replace'), 1):
            if assign.search(line.split('//')[0]):
                bad.append('%s/%s:%d changes tern_internal; use tern_internal_enter()/leave()'
                           % (part, f, n))

# --- symbols ------------------------------------------------------------------
def part_of(obj):
    rel = os.path.relpath(os.path.realpath(obj), build).split(os.sep)
    return rel[0] if rel[0] in RANK else None

defined, undefined = {}, {}
for o in objs:
    part = part_of(o)
    if not part:
        continue
    out = subprocess.run(['nm', '-P', o], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        f = line.split()
        if len(f) < 2:
            continue
        sym, kind = f[0], f[1]
        if kind == 'U':
            undefined.setdefault(part, {}).setdefault(sym, os.path.basename(o))
        elif kind in 'TDBRVWC':
            if part == 'shim' and MPI_API.match(sym):
                continue
            defined.setdefault(sym, set()).add(part)
for part, syms in sorted(undefined.items()):
    for sym, obj in sorted(syms.items()):
        owners = defined.get(sym, set()) - {part}
        ups = sorted(o for o in owners if not allowed(part, o))
        if ups and not any(allowed(part, o) for o in owners):
            bad.append('%s (%s) uses %s, defined in %s, which is above it'
                       % (part, obj.replace('.c.o', '.c'), sym, '/'.join(ups)))

nobj = sum(1 for o in objs if part_of(o))
if nobj < 20:
    bad.append('only %d object files of the parts were given' % nobj)
if bad:
    for b in bad:
        print('FAIL: ' + b)
    sys.exit(1)
print('PASS: %d object files and the sources of %d parts: the stack is one-way'
      % (nobj, len(RANK)))
