/* glassnet.nn.functional.fast._kernels: glassnet's optional C kernels (issue #16).
 *
 * Direct convolutions, in _conv_kernels.h, for float32 and float64: the forward with
 * the filters in the vector lanes (fwd_oc), the same with neighbouring pixels in the
 * lanes (fwd_px), and the weight gradient with the filters (wgrad_oc) or the pixels
 * (wgrad_px) in the lanes.
 * The Python side (direct.py; compiled.py loads this module) pads the
 * input, packs the filters and splits the batch over glassnet's threads; these
 * functions release the GIL while they compute.
 *
 * Every call checks, before touching memory, that each buffer is C-contiguous, of one
 * float type, and large enough for every index the loops will form: a wrong shape
 * from Python raises ValueError, never reads or writes outside an array.
 *
 * Built by setup.py where a C compiler is present; without it glassnet runs the same
 * convolutions on its NumPy path. On x86-64 Linux each kernel is compiled three
 * times (AVX-512, AVX2, baseline) and the loader picks the one this CPU runs.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) && !defined(__clang__)
#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLONES
#endif

typedef float vf32 __attribute__((vector_size(64)));
typedef float vf32u __attribute__((vector_size(64), aligned(4)));
typedef double vf64 __attribute__((vector_size(64)));
typedef double vf64u __attribute__((vector_size(64), aligned(8)));

#define T float
#define LN 16
#define VT vf32
#define VTU vf32u
#define SFX f32
#include "_conv_kernels.h"
#undef T
#undef LN
#undef VT
#undef VTU
#undef SFX

#define T double
#define LN 8
#define VT vf64
#define VTU vf64u
#define SFX f64
#include "_conv_kernels.h"
#undef T
#undef VT
#undef VTU
#undef SFX
#undef LN

/* ------------------------------------------------------------------------------ argument checks */
typedef struct {
    Py_buffer view[4];
    int held;
} Buffers;

static void release(Buffers *b)
{
    for (int i = 0; i < b->held; i++) PyBuffer_Release(&b->view[i]);
    b->held = 0;
}

/* Take objs[0..n-1] as C-contiguous buffers of one float type ('f' or 'd'), the last `writable` of
   them writable; return the item size (4 or 8), or 0 with an exception set. */
static int take(Buffers *b, PyObject **objs, int n, int writable, const char *fn)
{
    b->held = 0;
    int itemsize = 0;
    for (int i = 0; i < n; i++) {
        int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (i >= n - writable ? PyBUF_WRITABLE : 0);
        if (PyObject_GetBuffer(objs[i], &b->view[i], flags) < 0) {
            release(b);
            return 0;
        }
        b->held++;
        const char *f = b->view[i].format;
        const char *t = f;
        while (t && (*t == '@' || *t == '=' || *t == '<')) t++; /* native order, this machine's */
        int size = (t && !strcmp(t, "f")) ? 4 : (t && !strcmp(t, "d")) ? 8 : 0;
        if (size && size != b->view[i].itemsize) size = 0;
        if (!size || (itemsize && size != itemsize)) {
            PyErr_Format(PyExc_ValueError, "%s: argument %d must be float32 or float64 like the others (format %s)",
                         fn, i + 1, f ? f : "B");
            release(b);
            return 0;
        }
        itemsize = size;
    }
    return itemsize;
}

static int need(Buffers *b, int i, long long items, const char *what, const char *fn)
{
    if (items < 0 || b->view[i].len / b->view[i].itemsize < items) {
        PyErr_Format(PyExc_ValueError, "%s: %s holds %zd values, the geometry needs %lld", fn, what,
                     b->view[i].len / b->view[i].itemsize, items);
        return 0;
    }
    return 1;
}

/* The geometry argument: a tuple of n sizes, strides and dilations, each >= 1. */
static int read_dims(PyObject *t, long *d, int n, const char *fn)
{
    if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != n) {
        PyErr_Format(PyExc_TypeError, "%s: the geometry must be a tuple of %d integers", fn, n);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        d[i] = PyLong_AsLong(PyTuple_GET_ITEM(t, i));
        if (d[i] == -1 && PyErr_Occurred()) return 0;
        if (d[i] < 1) {
            PyErr_Format(PyExc_ValueError, "%s: every size, stride and dilation must be >= 1", fn);
            return 0;
        }
    }
    return 1;
}

/* Whether every window of (rows x cols) outputs, kernel k, stride s, dilation d stays in the (Hb x Wq) input. */
static int windows_inside(const char *fn, long rows, long sh, long kh, long dh, long Hb, long cols, long sw, long kw,
                          long dw, long Wq)
{
    if ((rows - 1) * sh + (kh - 1) * dh >= Hb || (cols - 1) * sw + (kw - 1) * dw >= Wq) {
        PyErr_Format(PyExc_ValueError, "%s: windows reach past the padded input (%ld x %ld)", fn, Hb, Wq);
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------------------ the functions */
static PyObject *py_fwd_oc(PyObject *self, PyObject *args)
{
    const char *fn = "fwd_oc";
    PyObject *o[4], *t;
    long d[13]; /* N, C, Hb, Wp, F, kh, kw, Ho, Wo, sh, sw, dh, dw */
    if (!PyArg_ParseTuple(args, "OOOOO", &o[0], &o[1], &o[2], &o[3], &t) || !read_dims(t, d, 13, fn)) return NULL;
    long N = d[0], C = d[1], Hb = d[2], Wp = d[3], F = d[4], kh = d[5], kw = d[6], Ho = d[7], Wo = d[8];
    long sh = d[9], sw = d[10], dh = d[11], dw = d[12];
    if (!windows_inside(fn, Ho, sh, kh, dh, Hb, Wo, sw, kw, dw, Wp)) return NULL;
    Buffers b;
    int size = take(&b, o, 4, 1, fn);
    if (!size) return NULL;
    long ln = size == 4 ? 16 : 8, Fb = (F + ln - 1) / ln;
    if (!need(&b, 0, (long long)N * C * Hb * Wp, "the input", fn) ||
        !need(&b, 1, (long long)Fb * C * kh * kw * ln, "the packed filters", fn) ||
        !need(&b, 2, (long long)Fb * ln, "the packed bias", fn) ||
        !need(&b, 3, (long long)N * F * Ho * Wo, "the output", fn)) {
        release(&b);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    if (size == 4)
        fwd_oc_f32(b.view[0].buf, N, C, Hb, Wp, b.view[1].buf, b.view[2].buf, F, kh, kw, b.view[3].buf, Ho, Wo,
                   sh, sw, dh, dw);
    else
        fwd_oc_f64(b.view[0].buf, N, C, Hb, Wp, b.view[1].buf, b.view[2].buf, F, kh, kw, b.view[3].buf, Ho, Wo,
                   sh, sw, dh, dw);
    Py_END_ALLOW_THREADS
    release(&b);
    Py_RETURN_NONE;
}

static PyObject *py_wgrad_oc(PyObject *self, PyObject *args)
{
    const char *fn = "wgrad_oc";
    PyObject *o[3], *t;
    long d[13]; /* N, C, Hb, Wp, F, Ho, Wo, kh, kw, sh, sw, dh, dw */
    if (!PyArg_ParseTuple(args, "OOOO", &o[0], &o[1], &o[2], &t) || !read_dims(t, d, 13, fn)) return NULL;
    long N = d[0], C = d[1], Hb = d[2], Wp = d[3], F = d[4], Ho = d[5], Wo = d[6], kh = d[7], kw = d[8];
    long sh = d[9], sw = d[10], dh = d[11], dw = d[12];
    if (!windows_inside(fn, Ho, sh, kh, dh, Hb, Wo, sw, kw, dw, Wp)) return NULL;
    Buffers b;
    int size = take(&b, o, 3, 1, fn);
    if (!size) return NULL;
    long ln = size == 4 ? 16 : 8, Fb = (F + ln - 1) / ln;
    if (!need(&b, 0, (long long)N * C * Hb * Wp, "the input", fn) ||
        !need(&b, 1, (long long)N * F * Ho * Wo, "dZ", fn) ||
        !need(&b, 2, (long long)Fb * C * kh * kw * ln, "the packed weight gradient", fn)) {
        release(&b);
        return NULL;
    }
    void *dzt = PyMem_RawMalloc((size_t)Ho * Wo * ln * size);
    if (!dzt) {
        release(&b);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    if (size == 4)
        wgrad_oc_f32(b.view[0].buf, N, C, Hb, Wp, b.view[1].buf, F, Ho, Wo, kh, kw, sh, sw, dh, dw, b.view[2].buf,
                     dzt);
    else
        wgrad_oc_f64(b.view[0].buf, N, C, Hb, Wp, b.view[1].buf, F, Ho, Wo, kh, kw, sh, sw, dh, dw, b.view[2].buf,
                     dzt);
    Py_END_ALLOW_THREADS
    PyMem_RawFree(dzt);
    release(&b);
    Py_RETURN_NONE;
}

static PyObject *py_fwd_px(PyObject *self, PyObject *args)
{
    const char *fn = "fwd_px";
    PyObject *o[4], *t;
    long d[12]; /* N, C, Hb, Wq, F, kh, kw, Hv, Wv, sh, dh, dw */
    if (!PyArg_ParseTuple(args, "OOOOO", &o[0], &o[1], &o[2], &o[3], &t) || !read_dims(t, d, 12, fn)) return NULL;
    long N = d[0], C = d[1], Hb = d[2], Wq = d[3], F = d[4], kh = d[5], kw = d[6], Hv = d[7], Wv = d[8];
    long sh = d[9], dh = d[10], dw = d[11];
    if (!windows_inside(fn, Hv, sh, kh, dh, Hb, Wv, 1, kw, dw, Wq)) return NULL;
    Buffers b;
    int size = take(&b, o, 4, 1, fn);
    if (!size) return NULL;
    long ln = size == 4 ? 16 : 8;
    if (Hv % PX_YB || Wv % ln) {
        PyErr_Format(PyExc_ValueError, "%s: the output block must be a multiple of %d rows and %ld columns", fn,
                     PX_YB, ln);
        release(&b);
        return NULL;
    }
    if (!need(&b, 0, (long long)N * C * Hb * Wq, "the input", fn) ||
        !need(&b, 1, (long long)F * C * kh * kw, "the filters", fn) || !need(&b, 2, F, "the bias", fn) ||
        !need(&b, 3, (long long)N * F * Hv * Wv, "the output", fn)) {
        release(&b);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    if (size == 4)
        fwd_px_f32(b.view[0].buf, N, C, Hb, Wq, b.view[1].buf, b.view[2].buf, F, kh, kw, b.view[3].buf, Hv, Wv, sh,
                   dh, dw);
    else
        fwd_px_f64(b.view[0].buf, N, C, Hb, Wq, b.view[1].buf, b.view[2].buf, F, kh, kw, b.view[3].buf, Hv, Wv, sh,
                   dh, dw);
    Py_END_ALLOW_THREADS
    release(&b);
    Py_RETURN_NONE;
}

static PyObject *py_wgrad_px(PyObject *self, PyObject *args)
{
    const char *fn = "wgrad_px";
    PyObject *o[3], *t;
    long d[12]; /* N, C, Hb, Wq, F, Ho, Wv, kh, kw, sh, dh, dw */
    if (!PyArg_ParseTuple(args, "OOOO", &o[0], &o[1], &o[2], &t) || !read_dims(t, d, 12, fn)) return NULL;
    long N = d[0], C = d[1], Hb = d[2], Wq = d[3], F = d[4], Ho = d[5], Wv = d[6], kh = d[7], kw = d[8];
    long sh = d[9], dh = d[10], dw = d[11];
    if (!windows_inside(fn, Ho, sh, kh, dh, Hb, Wv, 1, kw, dw, Wq)) return NULL;
    Buffers b;
    int size = take(&b, o, 3, 1, fn);
    if (!size) return NULL;
    long ln = size == 4 ? 16 : 8;
    if (Wv % ln) {
        PyErr_Format(PyExc_ValueError, "%s: the rows of dZ must be a multiple of %ld columns", fn, ln);
        release(&b);
        return NULL;
    }
    if (!need(&b, 0, (long long)N * C * Hb * Wq, "the input", fn) ||
        !need(&b, 1, (long long)N * F * Ho * Wv, "dZ", fn) ||
        !need(&b, 2, (long long)F * C * kh * kw, "the weight gradient", fn)) {
        release(&b);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    if (size == 4)
        wgrad_px_f32(b.view[0].buf, N, C, Hb, Wq, b.view[1].buf, F, Ho, Wv, kh, kw, sh, dh, dw, b.view[2].buf);
    else
        wgrad_px_f64(b.view[0].buf, N, C, Hb, Wq, b.view[1].buf, F, Ho, Wv, kh, kw, sh, dh, dw, b.view[2].buf);
    Py_END_ALLOW_THREADS
    release(&b);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"fwd_oc", py_fwd_oc, METH_VARARGS,
     "fwd_oc(xp, wp, bp, z, (N, C, Hb, Wp, F, kh, kw, Ho, Wo, sh, sw, dh, dw)): forward, filters in the lanes"},
    {"wgrad_oc", py_wgrad_oc, METH_VARARGS,
     "wgrad_oc(xp, dz, dfp, (N, C, Hb, Wp, F, Ho, Wo, kh, kw, sh, sw, dh, dw)): dF += X correlated with dZ"},
    {"wgrad_px", py_wgrad_px, METH_VARARGS,
     "wgrad_px(xp, dzp, df, (N, C, Hb, Wq, F, Ho, Wv, kh, kw, sh, dh, dw)): dF += X correlated with dZ, pixels"},
    {"fwd_px", py_fwd_px, METH_VARARGS,
     "fwd_px(xp, w, b, zw, (N, C, Hb, Wq, F, kh, kw, Hv, Wv, sh, dh, dw)): forward, pixels in the lanes"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels",
                                    "glassnet's C kernels (see compiled.py, direct.py).", -1, methods};

PyMODINIT_FUNC PyInit__kernels(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m && (PyModule_AddIntConstant(m, "LANES_FLOAT32", 16) < 0 || PyModule_AddIntConstant(m, "LANES_FLOAT64", 8) < 0 ||
              PyModule_AddIntConstant(m, "PX_ROWS", PX_YB) < 0)) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
