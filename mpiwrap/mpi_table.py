"""mpi_table.py: what both wrapper generators read -- the prototypes of mpi.h
and mpi_calls.tbl -- and the one check that every handle-taking call of
mpi.h is placed in the table.

gen_wrappers.py (the C wrappers) and gen_fortran.py (the Fortran bindings)
import it, so that the two see the same calls with the same parameters.
"""
import os
import re
import sys

# the generator that runs: its errors are its own ("gen_wrappers: ...")
PROG = os.path.splitext(os.path.basename(sys.argv[0]))[0]


def parse_mpih(path):
    """{name: {'ret', 'params': [{'text', 'type', 'name'}], 'deprecated'}}"""
    src = open(path).read()
    src = re.sub(r'/\*.*?\*/', '', src, flags=re.S)
    protos = {}
    for m in re.finditer(r'OMPI_DECLSPEC\s+([A-Za-z_][\w\s\*]*?)\s*\b(MPI_\w+)\s*\(([^;]*?)\)\s*(__mpi_interface[^;]*)?;', src):
        ret, name, params = ' '.join(m.group(1).split()), m.group(2), ' '.join(m.group(3).split())
        deprecated = m.group(4) or ''
        plist = [] if params.strip() in ('', 'void') else [p.strip() for p in params.split(',')]
        parsed = []
        for p in plist:
            nm = re.match(r'^(.*?)([A-Za-z_]\w*)\s*((\[[^\]]*\])*)$', p)
            if p == '...':
                parsed.append({'text': p, 'type': '...', 'name': '...'})
                continue
            if not nm:
                sys.exit('%s: cannot parse parameter %r of %s' % (PROG, p, name))
            parsed.append({'text': p, 'type': (nm.group(1) + nm.group(3)).strip(), 'name': nm.group(2)})
        protos[name] = {'ret': ret, 'params': parsed, 'deprecated': deprecated}
    return protos


def parse_table(table_path, protos, mpih_path):
    """[(name, class, {key: value}, line)] in table order; exits on errors."""
    entries = []
    seen = set()
    for ln, line in enumerate(open(table_path), 1):
        line = line.split('#', 1)[0].strip()
        if not line:
            continue
        f = line.split()
        name, cls = f[0], f[1]
        kv = dict(x.split('=', 1) for x in f[2:])
        if name in seen:
            sys.exit('%s:%d: %s listed twice' % (table_path, ln, name))
        seen.add(name)
        if name not in protos:
            sys.exit('%s:%d: %s is not declared in %s' % (table_path, ln, name, mpih_path))
        entries.append((name, cls, kv, ln))
    return entries


def check_placed(protos, entries, table_path):
    """The build fails if mpi.h declares a call taking an MPI_Comm,
    MPI_Request or MPI_Message that the table does not list (so a new MPI
    version cannot silently bypass the handle translation)."""
    seen = {e[0] for e in entries}
    missing = [n for n, p in protos.items()
               if n not in seen and (re.search(r'\bMPI_(Comm|Request|Message)\b', ' '.join(x['text'] for x in p['params']))
                                     or re.search(r'\bMPI_(Comm|Request|Message)$', p['ret']))]
    if missing:
        sys.exit('%s: mpi.h calls that take handles but are not in %s: %s' % (PROG, table_path, ' '.join(sorted(missing))))


def load(table_path, mpih_path):
    """protos and the checked table entries."""
    protos = parse_mpih(mpih_path)
    entries = parse_table(table_path, protos, mpih_path)
    check_placed(protos, entries, table_path)
    return protos, entries


def param(p, name):
    for x in p['params']:
        if x['name'] == name:
            return x
    return None
