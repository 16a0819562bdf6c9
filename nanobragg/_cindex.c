/*
 * Miller indices of the kernel's term stage, compiled: one pass over [K, N] instead of the
 * five (float64) to fifteen (split for float32) elementwise torch passes of the reference path
 * in nanobragg/miller.py (miller_index, miller_split), which remain the fallback
 * and is tested equal bit for bit (tests/nanobragg/test_term_stage.py).
 *
 * Built without FMA contraction (-ffp-contract=off): h = a_x S_x + a_y S_y + a_z S_z rounds
 * after every operation, left to right, as in the C program and in torch's elementwise ops.
 * Rounding to the nearest integer is nearbyint (ties to even, as torch.round).
 *
 * Python signatures (buffers are C-contiguous; the GIL is released):
 *   miller_exact(vectors: f64[K*3], st: f64[3*N_all], n_all, start, stop, out: f64[K*N_all])
 *       out[k, n] = h for n in [start, stop)
 *   miller_split(vectors, st, n_all, start, stop, cells: float, whole: f32[K*N_all],
 *                frac: f32[K*N_all], rest: f32[K*N_all])
 *       whole = ceil(h - 0.5), frac = h - whole, rest = +-(cells*h - m), m = nearbyint(cells*h),
 *       negated when m + whole is odd (the sign of sin(pi cells h) / sin(pi h))
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>

typedef struct {
    Py_buffer vectors, st, out[4];
    Py_ssize_t n_all, start, stop;
    int n_out;
} job;

static int take(PyObject *obj, Py_buffer *view, Py_ssize_t bytes) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) != 0) return -1;
    if (view->len < bytes) {
        PyErr_SetString(PyExc_ValueError, "buffer too small");
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static void release(job *j, int n_out) {
    PyBuffer_Release(&j->vectors);
    PyBuffer_Release(&j->st);
    for (int i = 0; i < n_out; i++) PyBuffer_Release(&j->out[i]);
}

static int check_range(Py_ssize_t k, job *j) {
    if (k <= 0 || j->start < 0 || j->stop > j->n_all || j->start > j->stop) {
        PyErr_SetString(PyExc_ValueError, "bad range");
        return -1;
    }
    return 0;
}

static PyObject *miller_exact(PyObject *self, PyObject *args) {
    PyObject *v, *s, *o;
    job j;
    if (!PyArg_ParseTuple(args, "OOnnnO", &v, &s, &j.n_all, &j.start, &j.stop, &o)) return NULL;
    if (PyObject_GetBuffer(v, &j.vectors, PyBUF_C_CONTIGUOUS) != 0) return NULL;
    Py_ssize_t k_rows = j.vectors.len / (3 * (Py_ssize_t)sizeof(double));
    if (PyObject_GetBuffer(s, &j.st, PyBUF_C_CONTIGUOUS) != 0) {
        PyBuffer_Release(&j.vectors);
        return NULL;
    }
    if (take(o, &j.out[0], k_rows * j.n_all * (Py_ssize_t)sizeof(double)) != 0
        || check_range(k_rows, &j) != 0) {
        release(&j, 0);
        return NULL;
    }
    const double *vec = j.vectors.buf, *sx = j.st.buf, *sy = sx + j.n_all, *sz = sy + j.n_all;
    double *out = j.out[0].buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < k_rows; k++) {
        const double ax = vec[3 * k], ay = vec[3 * k + 1], az = vec[3 * k + 2];
        double *row = out + k * j.n_all;
        for (Py_ssize_t n = j.start; n < j.stop; n++) row[n] = ax * sx[n] + ay * sy[n] + az * sz[n];
    }
    Py_END_ALLOW_THREADS
    release(&j, 1);
    Py_RETURN_NONE;
}

static PyObject *miller_split(PyObject *self, PyObject *args) {
    PyObject *v, *s, *o[3];
    double cells;
    job j;
    if (!PyArg_ParseTuple(args, "OOnnndOOO", &v, &s, &j.n_all, &j.start, &j.stop, &cells,
                          &o[0], &o[1], &o[2]))
        return NULL;
    if (PyObject_GetBuffer(v, &j.vectors, PyBUF_C_CONTIGUOUS) != 0) return NULL;
    Py_ssize_t k_rows = j.vectors.len / (3 * (Py_ssize_t)sizeof(double));
    if (PyObject_GetBuffer(s, &j.st, PyBUF_C_CONTIGUOUS) != 0) {
        PyBuffer_Release(&j.vectors);
        return NULL;
    }
    Py_ssize_t terms = k_rows * j.n_all;
    for (int i = 0; i < 3; i++) {
        if (take(o[i], &j.out[i], terms * (Py_ssize_t)sizeof(float)) != 0) {
            release(&j, i);
            return NULL;
        }
    }
    if (check_range(k_rows, &j) != 0) {
        release(&j, 3);
        return NULL;
    }
    const double *vec = j.vectors.buf, *sx = j.st.buf, *sy = sx + j.n_all, *sz = sy + j.n_all;
    float *whole_out = j.out[0].buf, *frac_out = j.out[1].buf, *rest_out = j.out[2].buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < k_rows; k++) {
        const double ax = vec[3 * k], ay = vec[3 * k + 1], az = vec[3 * k + 2];
        const Py_ssize_t base = k * j.n_all;
        for (Py_ssize_t n = j.start; n < j.stop; n++) {
            const double h = ax * sx[n] + ay * sy[n] + az * sz[n];
            const double whole = ceil(h - 0.5);
            const double turns = h * cells;
            const double m = nearbyint(turns);
            whole_out[base + n] = (float)whole;
            frac_out[base + n] = (float)(h - whole);
            const double rest = turns - m;
            rest_out[base + n] = (float)((((long long)(m + whole)) & 1) ? -rest : rest);
        }
    }
    Py_END_ALLOW_THREADS
    release(&j, 3);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"miller_exact", miller_exact, METH_VARARGS, "h = a.S in C's order over [K, start:stop]"},
    {"miller_split", miller_split, METH_VARARGS, "h split for the float32 term stage"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_cindex", NULL, -1, methods};

PyMODINIT_FUNC PyInit__cindex(void) { return PyModule_Create(&module); }
