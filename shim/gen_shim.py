#!/usr/bin/env python3
"""Generate both sides of transparent mode's process boundary.

usage: gen_shim.py ROLES_TBL CALLS_TBL MPI_H LIBMPI OUTDIR

From mpiwrap/mpi_roles.tbl (what each argument is), mpiwrap/mpi_calls.tbl
(what tern does with a call: checked against the roles), the prototypes of
mpi.h and the dynamic symbols of the real libmpi (the predefined objects'
sizes: non-PIE executables copy them, sized from the real library), writes
into OUTDIR:
  tern_calls.h      the one header of the boundary: call indices, the
                    predefined objects and their ids
  shim_stubs.c      the shim's MPI functions (PMPI_x, MPI_x weak aliases)
  shim_objects.c    Open MPI's predefined objects, as the shim's handles
  proxy_dispatch.c  the proxy's dispatch: one function per generated call
The build fails if mpi.h declares a call the roles table does not place, or
an argument whose role cannot be told.
"""
import fnmatch
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, '..', 'mpiwrap'))
from mpi_table import load   # noqa: E402

roles_path, calls_path, mpih_path, libmpi, outdir = sys.argv[1:6]
protos, wrap_entries = load(calls_path, mpih_path)
wrap_class = {e[0]: (e[1], e[2]) for e in wrap_entries}

REFUSALS = {
    'rma': 'one-sided communication (MPI_Win_*, MPI_Put, MPI_Get, ...) is not supported in transparent mode',
    'dyn': 'dynamic processes (spawn, connect, ports, names) are not supported in transparent mode',
    'tool': 'the MPI tool interface (MPI_T_*) is not supported in transparent mode',
    'greq': 'generalized requests are not supported in transparent mode',
    'split': 'split collective MPI-IO (MPI_File_*_begin/_end) is not supported in transparent mode',
    'datarep': 'user data representations are not supported in transparent mode',
}
HANDLES = {'MPI_Comm': 'COMM', 'MPI_Datatype': 'DTYPE', 'MPI_Op': 'OP', 'MPI_Group': 'GROUP',
           'MPI_Info': 'INFO', 'MPI_Errhandler': 'ERRH', 'MPI_Win': 'WIN', 'MPI_File': 'FILE',
           'MPI_Message': 'MSG', 'MPI_Request': 'REQ'}
SCALARS = {'int', 'const int', 'MPI_Aint', 'MPI_Offset', 'MPI_Count', 'MPI_Fint'}
HELPERS = ('np', 'lsize', 'indeg', 'outdeg', 'rank', 'cartdim', 'sum', 'inplace')
CONDS = {'root': 'px_root(comm, root)', 'leaf': 'px_leaf(comm, root)', 'live': 'px_live(root)',
         'sendon': '!px_inplace(a_sendbuf)'}
SHIM_CONDS = {'leaf': 'root >= 0', 'live': 'root >= 0', 'sendon': 'sendbuf != MPI_IN_PLACE'}


def die(msg):
    sys.exit('gen_shim: ' + msg)


# ---- the roles table --------------------------------------------------------
def split_top(s):
    """split at commas outside parentheses and brackets"""
    out, depth, cur = [], 0, ''
    for ch in s:
        if ch in '([':
            depth += 1
        elif ch in ')]':
            depth -= 1
        if ch == ',' and depth == 0:
            out.append(cur)
            cur = ''
        else:
            cur += ch
    out.append(cur)
    return [x.strip() for x in out]


def parse_role(text, where):
    st = text.endswith('~st')
    if st:
        text = text[:-3]
    cond = None
    m = re.match(r'^(.*?)@(\w+)$', text)
    if m:
        text, cond = m.group(1), m.group(2)
        if cond not in CONDS:
            die('%s: unknown condition @%s' % (where, cond))
    m = re.match(r'^(in|out|io|vin|vout|vio|win|wout|wio)\((.*)\)$', text)
    if m:
        kind, args = m.group(1), split_top(m.group(2))
        want = 2 if kind in ('in', 'out', 'io') else 4
        if len(args) != want:
            die('%s: %s needs %d arguments' % (where, kind, want))
        shape = {2: 'buf', 4: 'vbuf' if kind[0] == 'v' else 'wbuf'}[want]
        d = kind if want == 2 else kind[1:]
        return {'role': shape, 'dir': d, 'args': args, 'cond': cond, 'st': st}
    m = re.match(r'^(arr|oarr|ioarr|harr|hioarr|oharr|starr|ostr)\[(.*)\]$', text)
    if m:
        return {'role': m.group(1), 'n': m.group(2), 'cond': cond, 'st': False}
    if text in ('hio', 'hin', 'io', 'sio', 'ptr', 'preq'):
        return {'role': text, 'cond': cond, 'st': False}
    die('%s: cannot read role %r' % (where, text))


entries, patterns = {}, []
for ln, line in enumerate(open(roles_path), 1):
    line = line.split('#', 1)[0].strip()
    if not line:
        continue
    f = line.split()
    name, cls, rest = f[0], f[1], f[2:]
    if cls not in ('gen', 'px', 'fast', 'shim', 'local', 'refuse'):
        die('%s:%d: unknown class %s' % (roles_path, ln, cls))
    roles, kv = {}, {}
    for r in rest:
        k, v = r.split('=', 1)
        if k in ('why', 'px'):
            kv[k] = v
        else:
            roles[k] = parse_role(v, '%s:%d %s' % (roles_path, ln, name))
    ent = {'name': name, 'cls': cls, 'roles': roles, 'kv': kv, 'ln': ln}
    if '*' in name:
        patterns.append(ent)
    elif name in entries:
        die('%s:%d: %s listed twice' % (roles_path, ln, name))
    elif name not in protos:
        die('%s:%d: %s is not declared in %s' % (roles_path, ln, name, mpih_path))
    else:
        entries[name] = ent
    if cls == 'refuse' and kv.get('why') not in REFUSALS:
        die('%s:%d: refuse needs why= one of %s' % (roles_path, ln, ' '.join(sorted(REFUSALS))))


def entry_of(name):
    if name in entries:
        return entries[name]
    for p in patterns:
        if fnmatch.fnmatchcase(name, p['name']):
            return p
    return None


missing = sorted(n for n in protos if not entry_of(n))
if missing:
    die('mpi.h calls that %s does not place: %s' % (roles_path, ' '.join(missing)))


# ---- argument roles -----------------------------------------------------------
def base_type(t):
    return re.sub(r'\s*(\[[^\]]*\])+$', '', t.replace('const ', '')).strip()


def default_role(p):
    t = p['type']
    if t in HANDLES:
        return {'role': 'h'}
    if t in SCALARS:
        return {'role': 'v'}
    if t.endswith('_function *') or t in ('MPI_Copy_function *', 'MPI_Delete_function *',
                                          'MPI_Handler_function *'):
        return {'role': 'fn'}
    if t.rstrip(' *') in HANDLES and t.endswith('*') and t.count('*') == 1 and 'const' not in t:
        if t == 'MPI_Request *' and p['name'] == 'request':
            return {'role': 'req'}
        return {'role': 'hout'}
    if t in ('int *', 'MPI_Aint *', 'MPI_Count *', 'MPI_Offset *'):
        return {'role': 'o'}
    if t in ('const char *', 'const char []'):
        return {'role': 'str'}
    if t == 'MPI_Status *':
        return {'role': 'st'}
    if t == 'const MPI_Status *':
        return {'role': 'sin'}
    return None


def params_of(name, ent):
    out = []
    for p in protos[name]['params']:
        r = ent['roles'].get(p['name']) or default_role(p)
        if r is None:
            die('%s: argument %s (%s) needs a role in %s' % (name, p['name'], p['type'], roles_path))
        q = dict(p)
        q.update(r)
        out.append(q)
    extra = set(ent['roles']) - {p['name'] for p in protos[name]['params']}
    if extra:
        die('%s: %s has no argument %s' % (roles_path, name, ' '.join(sorted(extra))))
    check_names(name, out)
    return out


def check_names(name, ps):
    """every name in a role's expressions is an argument (a_X: its address),
    a helper, or an MPI constant"""
    known = {p['name'] for p in ps} | {'a_' + p['name'] for p in ps} | set(HELPERS) | {'sizeof', 'int'}
    for p in ps:
        exprs = list(p.get('args', [])) + ([p['n']] if 'n' in p else [])
        for e in exprs:
            for ident in re.findall(r'[A-Za-z_]\w*', e):
                if ident not in known and not ident.startswith('MPI_'):
                    die('%s: %s names %s, which is not an argument' % (roles_path, name, ident))


def check_against_wrappers(name, ps):
    """mpi_calls.tbl's class must agree with the roles (one table cannot
    drift from the other)."""
    cls = wrap_class.get(name, ('', {}))[0]
    roles = {p['role'] for p in ps}
    if cls in ('psend', 'precv') and 'preq' not in roles:
        die('%s is %s in %s but has no preq role' % (name, cls, calls_path))
    if cls in ('isend', 'icoll', 'ictor') and 'req' not in roles:
        die('%s is %s in %s but returns no request' % (name, cls, calls_path))


# ---- expressions --------------------------------------------------------------
def px_expr(e):
    return re.sub(r'\b(%s)\(' % '|'.join(HELPERS), r'px_\1(', e)


def shim_evaluable(e, ps):
    scal = {p['name'] for p in ps if p['role'] == 'v'}
    for ident in re.findall(r'[A-Za-z_]\w*', e):
        if ident in scal or ident.startswith('MPI_') or ident in ('sizeof', 'int'):
            continue
        return False
    return True


def elem_decl(p, name):
    """declaration of a pointer to the elements of array parameter p"""
    t = p['type'].replace('const ', '').strip()
    m = re.match(r'^(.*?)\s*\[\]\s*((\[[^\]]*\])*)$', t)
    if m:
        base, rest = m.group(1), m.group(2)
        return '%s (*%s)%s' % (base, name, rest) if rest else '%s *%s' % (base, name)
    if t.endswith('*'):
        return '%s%s' % (t if t.endswith(' *') else t + ' ', name)
    die('%s: %s is not an array' % (name, p['type']))


# ---- tern_calls.h ---------------------------------------------------------------
names = sorted(protos)
calls = [n for n in names if entry_of(n)['cls'] != 'local']
objs = re.findall(r'OMPI_DECLSPEC\s+extern\s+struct\s+ompi_predefined_(\w+?)_t\s+(\w+)\s*;',
                  re.sub(r'/\*.*?\*/', '', open(mpih_path).read(), flags=re.S))
sizes = {}
nm = subprocess.run(['nm', '-DS', '--defined-only', libmpi], capture_output=True, text=True, check=True)
for line in nm.stdout.splitlines():
    f = line.split()
    if len(f) == 4:
        sizes[f[3]] = int(f[1], 16)
for kind, o in objs:
    if o not in sizes:
        die('%s does not define %s (mpi.h declares it)' % (libmpi, o))
KIND = {'communicator': 'COMM', 'group': 'GROUP', 'request': 'REQ', 'message': 'MSG', 'op': 'OP',
        'datatype': 'DTYPE', 'errhandler': 'ERRH', 'win': 'WIN', 'file': 'FILE', 'info': 'INFO'}
for kind, o in objs:
    if kind not in KIND:
        die('mpi.h: predefined object %s of unknown kind %s' % (o, kind))

h = []
w = h.append
w('/* GENERATED by shim/gen_shim.py from mpiwrap/mpi_roles.tbl and mpi.h -- do not edit. */')
w('#ifndef TERN_CALLS_H\n#define TERN_CALLS_H\n')
w('/* call indices (the channel\'s call word) */\nenum {')
for i, n in enumerate(calls):
    w('    TC_%s = %d,' % (n, i))
w('    TC_N = %d\n};\n' % len(calls))
w('/* handle kinds */')
w('enum { TK_NONE, %s, TK_N };\n' % ', '.join('TK_' + k for k in sorted(set(HANDLES.values()))))
w('/* Open MPI\'s predefined objects: their wire ids, sizes (from %s) and kinds */' % os.path.basename(libmpi))
w('#define TC_PREDEFINED(X) \\')
for i, (kind, o) in enumerate(objs):
    w('    X(%s, %d, TK_%s) \\' % (o, sizes[o], KIND[kind]))
w('    /* end */')
w('enum {')
for i, (kind, o) in enumerate(objs):
    w('    TP_%s = %d,' % (o, i))
w('    TP_N = %d\n};\n' % len(objs))
w('extern const char *const tc_names[TC_N];')
w('\n#endif')
open(os.path.join(outdir, 'tern_calls.h'), 'w').write('\n'.join(h) + '\n')

# ---- shim_objects.c ------------------------------------------------------------
o_ = ['/* GENERATED by shim/gen_shim.py -- do not edit. Open MPI\'s predefined objects,',
      ' * each of the real one\'s size, holding its wire id (tern_wire.h). mpi.h is not',
      ' * included: it declares these with Open MPI\'s own (incomplete) types. */',
      '#include <stdint.h>', '#include "tern_wire.h"', '#include "tern_calls.h"', '',
      '#define TW_OBJECT(name, size, kind) \\',
      '    __attribute__((visibility("default"), aligned(8))) \\',
      '    struct { uint64_t tag; unsigned char pad[(size) - 8]; } name = {TW_TAG(TP_##name), {0}};',
      'TC_PREDEFINED(TW_OBJECT)', '',
      '/* MPI_F_STATUS(ES)_IGNORE: Open MPI points them at its Fortran sentinels */',
      'static int tw_f_status_ignore[8], tw_f_statuses_ignore[8];',
      '__attribute__((visibility("default"))) int *MPI_F_STATUS_IGNORE = tw_f_status_ignore;',
      '__attribute__((visibility("default"))) int *MPI_F_STATUSES_IGNORE = tw_f_statuses_ignore;',
      '',
      '/* the handle of each predefined id: the address the application uses (for a',
      ' * copied object the executable\'s copy, to which this relocation resolves) */',
      '#define TW_ADDR(name, size, kind) &name,',
      '__attribute__((visibility("hidden"))) void *const sh_predef[TP_N] = { TC_PREDEFINED(TW_ADDR) };']
open(os.path.join(outdir, 'shim_objects.c'), 'w').write('\n'.join(o_) + '\n')


# ---- shim_stubs.c --------------------------------------------------------------
def proto_text(n, prefix='PMPI_'):
    p = protos[n]
    return '%s %s%s(%s)' % (p['ret'], prefix, n[4:], ', '.join(x['text'] for x in p['params']) or 'void')


def shim_word(p, i):
    r, nm_ = p['role'], p['name']
    if r == 'v':
        return '    m.w[%d] = (uint64_t)(int64_t)(%s);' % (i, nm_)
    if r == 'h':
        return '    m.w[%d] = sh_id(%s);' % (i, nm_)
    if r == 'fn':
        return '    m.w[%d] = sh_fn((void (*)(void))%s);' % (i, nm_)
    return '    m.w[%d] = (uint64_t)(uintptr_t)(%s);' % (i, nm_)


def shim_inline(p, i, ps):
    """the C that copies argument i inline, or None"""
    r, nm_ = p['role'], p['name']
    cond = p.get('cond')
    if cond and cond not in SHIM_CONDS:
        return None
    guard = SHIM_CONDS.get(cond)
    code = None
    if r == 'buf' and p['dir'] in ('in', 'io'):
        c, d = p['args']
        if shim_evaluable(c, ps) and (d.startswith('MPI_') or d in {x['name'] for x in ps}):
            code = 'sh_inl_buf(&m, %d, %s, (int64_t)(%s), %s);' % (i, nm_, c, d)
    elif r in ('arr', 'ioarr') and shim_evaluable(p['n'], ps):
        code = 'if ((uintptr_t)%s >= 4096) sh_inl_raw(&m, %d, %s, (size_t)(%s) * sizeof *%s);' % (nm_, i, nm_, p['n'], nm_)
    elif r in ('harr', 'hioarr') and shim_evaluable(p['n'], ps):
        code = 'sh_inl_harr(&m, %d, %s, (int)(%s));' % (i, nm_, p['n'])
    elif r == 'str':
        code = 'sh_inl_str(&m, %d, %s);' % (i, nm_)
    elif r in ('hio', 'hin'):
        code = 'if (%s) sh_inl_id(&m, %d, sh_id(*%s));' % (nm_, i, nm_)
    elif r in ('io', 'sin', 'sio'):
        code = 'if (%s) sh_inl_raw(&m, %d, %s, sizeof *%s);' % (nm_, i, nm_, nm_)
    if code and guard:
        code = 'if (%s) %s' % (guard, code)
    return code and '    ' + code


def shim_return(n):
    ret = protos[n]['ret']
    if ret == 'int':
        return '    return sh_end(&m);'
    if ret == 'MPI_Fint':
        return '    return (MPI_Fint)sh_end(&m);'
    if ret in HANDLES:
        return '    sh_end(&m);\n    return (%s)sh_ret_handle(&m);' % ret
    die('%s returns %s' % (n, ret))


s = ['/* GENERATED by shim/gen_shim.py from mpiwrap/mpi_roles.tbl and mpi.h -- do not edit. */',
     '#include "shim.h"', '', '#pragma GCC diagnostic ignored "-Wdeprecated-declarations"', '']
nstub = 0
for n in names:
    ent = entry_of(n)
    cls = ent['cls']
    if cls in ('shim', 'local'):
        continue
    if cls == 'refuse':
        s.append('%s\n{' % proto_text(n))
        for p in protos[n]['params']:
            s.append('    (void)%s;' % p['name'])
        ret = protos[n]['ret']
        val = 'sh_refuse("%s", "%s")' % (n, REFUSALS[ent['kv']['why']])
        s.append('    return %s;\n}\n' % (val if ret == 'int' else '(%s)(intptr_t)%s' % (ret, val)))
        continue
    ps = params_of(n, ent)
    check_against_wrappers(n, ps)
    s.append('%s\n{' % proto_text(n))
    if cls == 'fast':
        args = ', '.join(p['name'] for p in ps)
        s.append('    if (sh_fast_%s(%s) == 0) return MPI_SUCCESS;' % (n[4:], args))
    s.append('    sh_msg m;')
    s.append('    sh_begin(&m, TC_%s, %d);' % (n, len(ps)))
    for i, p in enumerate(ps):
        s.append(shim_word(p, i))
    for i, p in enumerate(ps):
        c = shim_inline(p, i, ps)
        if c:
            s.append(c)
    s.append(shim_return(n))
    s.append('}\n')
    nstub += 1
s.append('/* %d generated stubs; every MPI_x is a weak alias of PMPI_x */' % nstub)
for n in names:
    if entry_of(n)['cls'] not in ('shim', 'local'):
        s.append('SH_ALIAS(%s);' % n)
s.append('\nconst char *const tc_names[TC_N] = {')
for n in calls:
    s.append('    "%s",' % n)
s.append('};')
open(os.path.join(outdir, 'shim_stubs.c'), 'w').write('\n'.join(s) + '\n')


# ---- proxy_dispatch.c --------------------------------------------------------------
def cast_h(t, expr):
    return '(%s)px_h(x, %s)' % (t, expr)


def px_words(n, ps, L):
    """pass 1: scalars, handles, strings, the raw words of pointers"""
    roles = {p['role'] for p in ps}
    if 'req' in roles or 'preq' in roles:
        L.append('    x->nb = %d;' % (2 if 'preq' in roles else 1))
    for i, p in enumerate(ps):
        r, nm_, t = p['role'], p['name'], p['type']
        if r == 'v':
            L.append('    %s %s = (%s)(int64_t)x->w[%d];' % (base_type(t), nm_, base_type(t), i))
        elif r == 'h':
            L.append('    %s %s = %s;' % (t, nm_, cast_h(t, 'x->w[%d]' % i)))
        elif r == 'str':
            L.append('    const char *%s = px_str(x, %d);' % (nm_, i))
        elif r == 'fn':
            die('%s: a function pointer argument needs class px' % n)
        else:
            L.append('    uint64_t a_%s = x->w[%d];' % (nm_, i))


def px_arrays(ps, L, outs):
    """pass 2: arrays (before the buffers: a buffer's size may name one)"""
    for i, p in enumerate(ps):
        r, nm_ = p['role'], p['name']
        cond = CONDS[p['cond']] if p.get('cond') else '1'
        if r in ('arr', 'ioarr', 'oarr'):
            n_ = px_expr(p['n'])
            fetch = {'arr': 'px_arr', 'ioarr': 'px_ioarr', 'oarr': 'px_oarr'}[r]
            L.append('    %s = %s(x, %d, a_%s, (%s) ? (size_t)(%s) * sizeof *%s : 0);'
                     % (elem_decl(p, nm_), fetch, i, nm_, cond, n_, nm_))
            if r != 'arr':
                outs.append('        px_out(x, a_%s, %s, (%s) ? (size_t)(%s) * sizeof *%s : 0);' % (nm_, nm_, cond, n_, nm_))
        elif r == 'harr':
            t = base_type(p['type'])
            L.append('    %s *%s = (%s *)px_harr(x, %d, a_%s, (%s) ? (int)(%s) : 0);' % (t, nm_, t, i, nm_, cond, px_expr(p['n'])))
        elif r == 'oharr':
            t = base_type(p['type'])
            L.append('    %s *%s = px_oarr(x, %d, a_%s, (size_t)(%s) * sizeof(%s));' % (t, nm_, i, nm_, px_expr(p['n']), t))
            outs.append('        px_out_harr(x, a_%s, (void **)%s, (int)(%s), TK_%s);' % (nm_, nm_, px_expr(p['n']), HANDLES[t]))
        elif r == 'ostr':
            L.append('    char *%s = px_ostr(x, a_%s, (size_t)(%s));' % (nm_, nm_, px_expr(p['n'])))
            outs.append('        px_out_str(x, a_%s, %s);' % (nm_, nm_))


def px_buffers(ps, L):
    """pass 3: buffers, in the order of the arguments (MPI_IN_PLACE first seen
    makes the later output buffers inputs too)"""
    for i, p in enumerate(ps):
        r, nm_ = p['role'], p['name']
        if r not in ('buf', 'vbuf', 'wbuf'):
            continue
        cond = CONDS[p['cond']] if p.get('cond') else '1'
        fl = 'PB_%s%s' % (p['dir'].upper(), ' | PB_ST' if p['st'] else '')
        a = [px_expr(x) for x in p['args']]
        if r == 'buf':
            L.append('    void *%s = px_buf(x, %d, %s, a_%s, (%s) ? (int64_t)(%s) : 0, %s);' % (nm_, i, fl, nm_, cond, a[0], a[1]))
            continue
        fn_ = 'px_vbuf'
        if r == 'wbuf':
            dp = [q for q in ps if q['name'] == p['args'][1]][0]
            fn_ = 'px_wbuf_i' if base_type(dp['type']) == 'int' else 'px_wbuf'
        L.append('    void *%s = %s(x, %d, %s, a_%s, %s, %s, %s, (%s) ? (int)(%s) : 0);' % (nm_, fn_, i, fl, nm_, a[0], a[1], a[2], cond, a[3]))


def px_output(p, i, has_st, L, outs):
    """pass 4 for one argument: its local, and its output after the call"""
    r, nm_, t = p['role'], p['name'], p['type']
    bt = t.rstrip(' *')
    if r == 'o':
        L.append('    %s %s_v = 0, *%s = a_%s ? &%s_v : NULL;' % (bt, nm_, nm_, nm_, nm_))
        outs.append('        if (%s) px_out(x, a_%s, %s, sizeof *%s);' % (nm_, nm_, nm_, nm_))
    elif r == 'io':
        L.append('    %s %s_v = 0, *%s = px_inl_copy(x, %d, &%s_v, sizeof %s_v) ? &%s_v : NULL;' % (bt, nm_, nm_, i, nm_, nm_, nm_))
        outs.append('        if (%s) px_out(x, a_%s, %s, sizeof *%s);' % (nm_, nm_, nm_, nm_))
    elif r == 'hout':
        L.append('    %s %s_v = NULL, *%s = a_%s ? &%s_v : NULL;' % (bt, nm_, nm_, nm_, nm_))
        outs.append('        if (%s) px_out_h(x, a_%s, px_reg(x, %s_v, TK_%s));' % (nm_, nm_, nm_, HANDLES[bt]))
    elif r in ('hio', 'hin'):
        L.append('    uint64_t %s_id = px_inl_id(x, %d);' % (nm_, i))
        L.append('    %s %s_v = %s, *%s = a_%s ? &%s_v : NULL;' % (bt, nm_, cast_h(bt, nm_ + '_id'), nm_, nm_, nm_))
        if r == 'hio':
            outs.append('        if (%s) px_out_hio(x, a_%s, %s_id, %s_v, TK_%s);' % (nm_, nm_, nm_, nm_, HANDLES[bt]))
    elif r == 'st':
        if has_st:   # a receive: its status limits what is written back
            L.append('    MPI_Status %s_v, *%s = &%s_v;' % (nm_, nm_, nm_))
            L.append('    px_set_status(x, %s);' % nm_)
        else:
            L.append('    MPI_Status %s_v, *%s = a_%s ? &%s_v : MPI_STATUS_IGNORE;' % (nm_, nm_, nm_, nm_))
        L.append('    px_status_prep(&%s_v);' % nm_)
        outs.append('        px_out_status(x, a_%s, &%s_v);' % (nm_, nm_))
    elif r == 'sin':
        L.append('    const MPI_Status *%s = px_inl_ptr(x, %d, sizeof(MPI_Status));' % (nm_, i))
    elif r == 'sio':
        L.append('    MPI_Status %s_v, *%s = px_inl_copy(x, %d, &%s_v, sizeof %s_v) ? &%s_v : NULL;' % (nm_, nm_, i, nm_, nm_, nm_))
        outs.append('        if (%s) px_out(x, a_%s, %s, sizeof *%s);' % (nm_, nm_, nm_, nm_))
    elif r == 'ptr':
        L.append('    void *%s = (void *)(uintptr_t)a_%s;' % (nm_, nm_))
    elif r in ('req', 'preq'):
        L.append('    MPI_Request %s_v = MPI_REQUEST_NULL, *%s = &%s_v;' % (nm_, nm_, nm_))
        outs.append('        px_out_req(x, a_%s, %s_v, %d);' % (nm_, nm_, 1 if r == 'preq' else 0))
    elif r in ('hioarr', 'starr'):
        die('%s arrays are the completion calls\' (class px)' % r)


def px_locals(n, ps):
    """the dispatch function's declarations (four passes), the call's
    arguments, its outputs, and when they are written"""
    L, outs = [], []
    has_st = any(p.get('st') for p in ps)
    px_words(n, ps, L)
    px_arrays(ps, L, outs)
    px_buffers(ps, L)
    for i, p in enumerate(ps):
        px_output(p, i, has_st, L, outs)
    ok = 'MPI_SUCCESS || rc_ == MPI_ERR_TRUNCATE' if has_st else 'MPI_SUCCESS'
    return L, [p['name'] for p in ps], outs, ok


d = ['/* GENERATED by shim/gen_shim.py from mpiwrap/mpi_roles.tbl and mpi.h -- do not edit. */',
     '#include "px_dispatch.h"', '', '#pragma GCC diagnostic ignored "-Wdeprecated-declarations"',
     '#pragma GCC diagnostic ignored "-Wunused-variable"', '',
     '/* some are declared by mpi.h only in its MPI-1 compatibility mode */']
for kind, o in objs:
    d.append('extern struct ompi_predefined_%s_t %s;' % (kind, o))
d += ['#define TW_PREDEF_ADDR(name, size, kind) (void *)&name,',
     'void *const px_predef[TP_N] = { TC_PREDEFINED(TW_PREDEF_ADDR) };',
     '#define TW_PREDEF_KIND(name, size, kind) kind,',
     'const unsigned char px_predef_kind[TP_N] = { TC_PREDEFINED(TW_PREDEF_KIND) };', '']
# Transparent mode's checkpoints need a proxy that answers the protocol at
# any moment (coord/tern_tm.h): a blocking call is made as its nonblocking
# form and waited for with polls (px_block), the blocking point-to-point
# calls are proxy/block.c's, and every collective first passes the gate.
# Always the nonblocking form, even while no cut is pending (it costs
# several times the blocking one for small messages): MPI does not match a
# blocking collective with a nonblocking one, and the ranks cannot agree on
# which form to use without a collective of their own.
BLOCKING_HAND = {'MPI_Send', 'MPI_Ssend', 'MPI_Rsend', 'MPI_Recv', 'MPI_Sendrecv',
                 'MPI_Sendrecv_replace', 'MPI_Probe', 'MPI_Mprobe'}


def first_comm(n):
    for x in protos[n]['params']:
        if x['type'] == 'MPI_Comm':
            return x['name']
    return None


def nb_form(n):
    i = 'MPI_I' + n[4].lower() + n[5:]
    return i if i in protos else None


blocking_wrappers = []
for n in calls:
    if entry_of(n)['cls'] != 'gen' or wrap_class.get(n, ('',))[0] != 'coll' or not nb_form(n):
        continue
    p = protos[n]
    params = ', '.join(x['text'] for x in p['params'])
    args = ', '.join(x['name'] for x in p['params'])
    blocking_wrappers += [
        'static int px_b_%s(%s)\n{' % (n, params),
        '    int rc_ = tern_tm_gate(%s, 0);' % first_comm(n),
        '    MPI_Request r_ = MPI_REQUEST_NULL;',
        '    if (rc_ == MPI_SUCCESS) rc_ = %s(%s, &r_);' % (nb_form(n), args),
        '    if (rc_ == MPI_SUCCESS) rc_ = px_block(&r_, MPI_STATUS_IGNORE);',
        '    return rc_;\n}\n']
d += blocking_wrappers


def call_name(n):
    if n in BLOCKING_HAND or (wrap_class.get(n, ('',))[0] == 'coll' and nb_form(n)):
        return 'px_b_' + n
    return n


def gate_line(n):
    """a nonblocking collective or a constructor waits at the gate"""
    cls = wrap_class.get(n, ('',))[0]
    if cls not in ('icoll', 'ictor', 'ctor') or not first_comm(n):
        return None
    barrier = 1 if cls == 'ctor' and n != 'MPI_Comm_create_group' else 0
    return '    { int g_ = tern_tm_gate(%s, %d); if (g_ != MPI_SUCCESS) return px_end(x, g_); }' % (
        first_comm(n), barrier)


table = []
for n in calls:
    ent = entry_of(n)
    cls = ent['cls']
    if cls == 'refuse':
        table.append('    [TC_%s] = 0,' % n)
        continue
    if cls == 'px' or (cls == 'shim' and ent['kv'].get('px')):
        d.append('int px_%s(px_ctx *x);' % n)
        table.append('    [TC_%s] = px_%s,' % (n, n))
        continue
    if cls == 'shim':
        table.append('    [TC_%s] = 0,' % n)
        continue
    ps = params_of(n, ent)
    L, args, outs, ok = px_locals(n, ps)
    d.append('static int d_%s(px_ctx *x)\n{' % n)
    d.extend(L)
    d.append('    if (x->fail) return px_end(x, x->fail);')
    ret = protos[n]['ret']
    if gate_line(n):
        d.append(gate_line(n))
    call = '%s(%s)' % (call_name(n), ', '.join(args))
    if ret == 'int':
        d.append('    int rc_ = %s;' % call)
    elif ret == 'MPI_Fint':
        d.append('    int rc_ = (int)%s;' % call)
    else:
        d.append('    %s r_ = %s;' % (ret, call))
        d.append('    px_ret_h(x, px_reg(x, r_, TK_%s));' % HANDLES[ret])
        d.append('    int rc_ = MPI_SUCCESS;')
    if outs:
        d.append('    if (rc_ == %s) {' % ok)
        d.extend(outs)
        d.append('    }')
    d.append('    return px_end(x, rc_);\n}\n')
    table.append('    [TC_%s] = d_%s,' % (n, n))
d.append('const char *const px_names[TC_N] = {')
d.extend('    "%s",' % n for n in calls)
d.append('};\n')
d.append('const px_fn px_dispatch[TC_N] = {')
d.extend(table)
d.append('};')
open(os.path.join(outdir, 'proxy_dispatch.c'), 'w').write('\n'.join(d) + '\n')
