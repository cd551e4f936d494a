#!/usr/bin/env python3
"""Generate libtern's Fortran MPI bindings from mpi_calls.tbl and mpi.h.

usage: gen_fortran.py TABLE MPI_H OUT_C

Open MPI's Fortran bindings (mpif.h and `use mpi`: libmpi_mpifh; `use
mpi_f08`: libmpi_usempif08) call PMPI_* directly, so without these a
Fortran program's calls never reach tern. Every table entry gets the
Fortran entry points its call has -- mpi_x_, mpi_x, mpi_x__, MPI_X (mpif.h
and `use mpi`, every name mangling Open MPI exports) and mpi_x_f08_ (`use
mpi_f08`; none for calls mpi.h marks deprecated or removed, which the f08
module does not have) -- in one of three ways:

  convert   the calls tern counts, drains or restores (every class but
            plain/unsafe): Fortran handles become C handles (MPI_*_f2c,
            tern's for communicators, requests and messages), statuses and
            the MPI_BOTTOM / MPI_IN_PLACE / MPI_STATUS(ES)_IGNORE /
            MPI_UNWEIGHTED sentinels are converted, tern's C wrapper MPI_X is
            called and the outputs converted back. One body serves mpif.h and
            mpi_f08 (the f08 handles are derived types holding the same
            MPI_Fint; its optional ierror arrives as NULL).
  forward   plain and unsafe calls (translate only): the communicator
            arguments become Open MPI's own Fortran handles and Open MPI's
            Fortran PMPI binding pmpi_x_ (libmpi_mpifh, which libtern links;
            its mpi_f08 bindings call the same ones) does the rest, so strings,
            attributes and callbacks keep its semantics; unsafe ones then mark
            the job as the C wrapper does. A `skip` entry with f=plain (MPI-1
            calls that mpi.h removed but mpif.h keeps) is forwarded too.
  hand      the calls whose Fortran form differs from the C one beyond
            handles (request and status arrays, 1-based indices, MPI_Init
            without argc/argv, Fortran callbacks): fortran/bindings.c has
            tf_<call>(); the entry points here call it.

C-only calls (MPI_*_c2f, MPI_*_f2c) have no Fortran binding. A table entry
with cptr=1 also gets Open MPI's Fortran-only MPI_X_CPTR names (TYPE(C_PTR)
baseptr) for the same binding. The build fails, as gen_wrappers.py's does,
when mpi.h has a handle-taking call the table does not place, and when a
converted call has a parameter type this script cannot convert.
"""
import os
import sys

sys.dont_write_bytecode = True   # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpi_table import load   # noqa: E402

# hand-written in fortran/bindings.c
HAND = ['MPI_Init', 'MPI_Init_thread', 'MPI_Finalize', 'MPI_Waitall', 'MPI_Testall',
        'MPI_Waitany', 'MPI_Testany', 'MPI_Waitsome', 'MPI_Testsome', 'MPI_Startall',
        'MPI_Grequest_start']
HANDLES = {'MPI_Comm', 'MPI_Datatype', 'MPI_Op', 'MPI_Group', 'MPI_Info', 'MPI_Errhandler',
           'MPI_Request', 'MPI_Message', 'MPI_Win', 'MPI_File'}
# by-value handles that are not virtual: Open MPI's f2c
F2C = {'MPI_Datatype': 'PMPI_Type_f2c', 'MPI_Op': 'PMPI_Op_f2c', 'MPI_Group': 'PMPI_Group_f2c',
       'MPI_Info': 'PMPI_Info_f2c'}
# tern's virtual handles (mpiwrap/handles_fint.h)
VIRT = {'MPI_Comm': ('tf_comm_f2c', 'tf_comm_c2f', 'MPI_COMM_NULL'),
        'MPI_Request': ('tf_req_f2c', 'tf_req_c2f', 'MPI_REQUEST_NULL'),
        'MPI_Message': ('tf_msg_f2c', 'tf_msg_c2f', 'MPI_MESSAGE_NULL')}
WEIGHTS = {'weights', 'sourceweights', 'destweights'}
# C parameters a Fortran binding does not have
C_ONLY = {'MPI_Init': {'argc', 'argv'}, 'MPI_Init_thread': {'argc', 'argv'}}


def fparams(name, p):
    return [x for x in p['params'] if x['name'] not in C_ONLY.get(name, ())]


def shape(x):
    """(base type, pointer depth incl. [], is const) of a C parameter"""
    t = x['type'].replace('const', ' ')
    depth = t.count('*') + t.count('[')
    base = t.replace('*', ' ').split('[')[0].split()
    return ' '.join(base), depth


def kind(x):
    base, depth = shape(x)
    if 'char' in base:
        return 'char'
    if base == 'void' and depth:
        return 'buf'
    if base.endswith('_function'):
        return 'fn'
    if base in ('int', 'MPI_Aint', 'MPI_Count', 'MPI_Offset') or base in HANDLES or base == 'MPI_Status':
        return base
    return None


def fdecl(x):
    """the parameter as the Fortran binding receives it: always by reference"""
    k = kind(x)
    ctype = {'buf': 'void *', 'fn': 'void *', 'char': 'char *', 'MPI_Aint': 'MPI_Aint *',
             'MPI_Count': 'MPI_Count *', 'MPI_Offset': 'MPI_Offset *'}.get(k, 'MPI_Fint *')
    return ctype + x['name']


def fortran_params(name, p):
    ps = fparams(name, p)
    for x in ps:
        if kind(x) is None:
            sys.exit('gen_fortran: %s: parameter %r has a type the Fortran bindings do not know'
                     % (name, x['text']))
    chars = [x['name'] for x in ps if kind(x) == 'char']
    decl = [fdecl(x) for x in ps] + ['MPI_Fint *ierror'] + ['size_t l_' + c for c in chars]
    return decl, chars


def out_only(name, kv, x, ps):
    """a handle pointer the call only writes: the table's out=, the request a
    call starts (its last parameter), the message a probe matches"""
    if x['name'] == kv.get('out'):
        return True
    base, _ = shape(x)
    if base == 'MPI_Request' and x is ps[-1] and len(ps) > 1:
        return True
    return base == 'MPI_Message' and 'probe' in name.lower()


def convert_param(name, kv, x, ps, comm_local):
    """(lines before the call, the C argument, lines after it)"""
    n, k = x['name'], kind(x)
    base, depth = shape(x)
    if k == 'buf':
        return [], 'tf_buf(%s)' % n, []
    if k in ('int', 'MPI_Aint', 'MPI_Count'):
        if depth == 0:
            return [], '*' + n, []
        return [], ('tf_weights(%s)' % n) if n in WEIGHTS else n, []
    if k == 'MPI_Status' and depth == 1:
        return (['    MPI_Status s_%s_, *c_%s = tf_status_in(%s, &s_%s_);' % (n, n, n, n)],
                'c_' + n, ['    tf_status_out(c_%s, %s);' % (n, n)])
    if k in VIRT and depth == 0:
        if k == 'MPI_Comm':
            return ['    MPI_Comm c_%s = tf_comm_f2c(*%s);' % (n, n)], 'c_' + n, []
        return [], '%s(*%s)' % (VIRT[k][0], n), []
    if k in VIRT and depth == 1:
        f2c, c2f, null = VIRT[k]
        init = null if out_only(name, kv, x, ps) else '%s(*%s)' % (f2c, n)
        return (['    %s c_%s = %s;' % (k, n, init)], '&c_' + n, ['    *%s = %s(c_%s);' % (n, c2f, n)])
    if k in F2C and depth == 0:
        return [], '%s(*%s)' % (F2C[k], n), []
    if k == 'MPI_Datatype' and depth == 1 and comm_local:
        which = ('TF_RECV' if n.startswith('recv') else 'TF_SEND') + \
                (' | TF_NEIGHBOR' if 'eighbor' in name else '')
        return (['    MPI_Datatype s_%s_[TF_NTYPES], *c_%s = tf_types(%s, %s, %s, s_%s_);'
                 % (n, n, n, comm_local, which, n)],
                'c_' + n, ['    tf_types_done(c_%s, s_%s_);' % (n, n)])
    sys.exit('gen_fortran: %s: cannot convert parameter %r (write a hand binding in fortran/bindings.c)'
             % (name, x['text']))


def body_convert(name, kv, p):
    ps = p['params']
    comm_local = next(('c_' + x['name'] for x in ps if shape(x) == ('MPI_Comm', 0)), None)
    pre, args, post = [], [], []
    for x in ps:
        a, b, c = convert_param(name, kv, x, ps, comm_local)
        pre += a
        args.append(b)
        post += c
    pre.sort(key=lambda line: not line.startswith('    MPI_Comm c_'))   # the communicator first
    return pre + ['    int rc_ = %s(%s);' % (name, ', '.join(args))] + post + \
        ['    if (ierror) *ierror = rc_;']


def body_hand(name, p):
    args = ', '.join(x['name'] for x in fparams(name, p))
    return ['    int rc_ = tf_%s(%s);' % (name[4:].lower(), args), '    if (ierror) *ierror = rc_;']


def body_forward(name, cls, kv, p, target, chars):
    """Open MPI's Fortran binding `target`, with its communicators' handles"""
    pre, args = [], []
    for x in p['params']:
        base, depth = shape(x)
        if base in ('MPI_Request', 'MPI_Message'):
            sys.exit('gen_fortran: %s: a translate-only call with a %s' % (name, base))
        if base == 'MPI_Comm' and depth == 0:
            pre.append('    MPI_Fint r_%s = tf_comm_real_fint(*%s);' % (x['name'], x['name']))
            args.append('&r_' + x['name'])
        else:
            args.append(x['name'])
    lines = pre + ['    MPI_Fint rc_ = MPI_SUCCESS;',
                   '    %s(%s);' % (target, ', '.join(args + ['&rc_'] + ['l_' + c for c in chars])),
                   '    if (ierror) *ierror = rc_;']
    if cls == 'unsafe':
        delta = 1 if kv.get('open') else (-1 if kv.get('close') else 0)
        lines.append('    if (rc_ == MPI_SUCCESS) tern_unsafe_mark("%s", TERN_UNSAFE_%s, %d);'
                     % (name, kv['kind'].upper(), delta))
    return lines


def mode(name, cls, kv):
    if name.endswith(('_c2f', '_f2c')) or (cls == 'skip' and kv.get('f') != 'plain'):
        return None
    if name in HAND:
        return 'hand'
    if cls in ('plain', 'unsafe', 'skip'):
        return 'forward'
    return 'convert'


def emit(w, name, cls, kv, p):
    low = name.lower()
    decl, chars = fortran_params(name, p)
    sig = ', '.join(decl)
    m = mode(name, cls, kv)
    if m == 'forward':
        target = 'p' + low + '_'
        w('void %s(%s);' % (target, sig))
        body = body_forward(name, cls, kv, p, target, chars)
    else:
        body = body_hand(name, p) if m == 'hand' else body_convert(name, dict(kv, cls=cls), p)
    w('void %s_(%s)\n{' % (low, sig))
    for line in body:
        w(line)
    w('}')
    if not p['deprecated']:
        w('TF_ALIAS(%s_f08_, %s_);' % (low, low))
    bases = [low] + ([low + '_cptr'] if kv.get('cptr') else [])
    for b in bases:
        for alias in (b, b + '__', b.upper()) + ((b + '_',) if b != low else ()):
            w('TF_ALIAS(%s, %s_);' % (alias, low))
    w('')


def main():
    table_path, mpih_path, out_path = sys.argv[1:4]
    protos, entries = load(table_path, mpih_path)
    out = ['/* GENERATED by mpiwrap/gen_fortran.py from mpiwrap/mpi_calls.tbl -- do not edit. */',
           '#include "bindings.h"', '']
    n = 0
    for name, cls, kv, ln in entries:
        if mode(name, cls, kv):
            emit(out.append, name, cls, kv, protos[name])
            n += 1
    out.append('/* %d calls with Fortran bindings */' % n)
    open(out_path, 'w').write('\n'.join(out) + '\n')


main()
