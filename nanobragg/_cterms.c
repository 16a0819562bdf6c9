/*
 * The kernel's term stage for plain sums, fused and compiled: for every evaluation n of a chunk
 * (pixel, layer, sub-pixel, source) the sum over the K orientations (phi, then mosaic, C's loop
 * order) of F_cell^2 F_latt^2, without materialising [K, N]. The square shape with a nearest F
 * (or no table); the torch path of nanobragg/kernel.py stays the reference and the fallback
 * (tests/nanobragg/test_term_stage.py and test_fused_terms.py hold them equal).
 *
 * h = a_x S_x + a_y S_y + a_z S_z rounds after every operation, left to right (built with
 * -ffp-contract=off, no explicit FMA anywhere), as in C. The loops run over blocks of BLOCK
 * evaluations, orientation by orientation, so that gcc vectorises them across evaluations
 * while every evaluation still accumulates its K terms one after the other, in float64.
 *
 * float64 is C's arithmetic: F_latt = prod sin((pi h) N) / sin(pi h), F_cell from the dense
 * table at ceil(h - 0.5). The sine is fdlibm's (three-part Cody-Waite reduction by pi/2, the
 * __kernel_sin/__kernel_cos polynomials with the tail of the reduced argument: under one ulp,
 * like libm's and torch's), branch-free so that it vectorises; arguments beyond SIN_LIMIT go
 * to libm's sin.
 *
 * float32 splits h in float64 as nanobragg/_cindex.c does (whole = ceil(h - 0.5), frac =
 * h - whole, rest = +-(N h - round(N h))) and evaluates sin(pi rest) / sin(pi frac) in float32
 * with a polynomial sine on |x| <= 1/2 (both arguments are reduced there; under 3 ulp).
 *
 * Python signature (buffers C-contiguous; the GIL is released while the threads run):
 *   term_sums(st: f64[3*N], rows: f64[K*9], cells: (3 floats), active: (3 ints),
 *             grid: f64 or f32 buffer or None, lo: (3 ints), sizes: (3 ints), default_F,
 *             mask: u8[N] or None, precision: 32 or 64, threads, out: f64[N])
 *   st holds S_x[N], S_y[N], S_z[N]; rows holds a, b, c (3 each) per orientation; grid is the
 *   table inside a one-cell border of default_F, [(sizes+2) per axis], in the precision's type
 *   (the lookup clamps an index onto the border, which is C's range test); mask 0 gives 0.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>

#define BLOCK 32
#define MAX_THREADS 64
/* |x| below which the three-part reduction is exact enough: fn = round(x 2/pi) < 2^19 */
#define SIN_LIMIT 8.0e5

typedef struct {
    const double *sx, *sy, *sz;
    const unsigned char *mask;
    const double *rows;
    Py_ssize_t k_rows;
    double cells[3];
    int active[3];
    const void *grid;
    double lo[3], top[3], dims[3];
    double default_F;
    int precision;
    double *out;
    Py_ssize_t start, stop;
} work;

/* ---------------------------------------------------------------- float64: fdlibm's sine */

static inline double kernel_sin(double x, double y) {
    const double S1 = -1.66666666666666324348e-01, S2 = 8.33333333332248946124e-03,
                 S3 = -1.98412698298579493134e-04, S4 = 2.75573137070700676789e-06,
                 S5 = -2.50507602534068634195e-08, S6 = 1.58969099521155010221e-10;
    const double z = x * x, v = z * x;
    const double r = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)));
    return x - ((z * (0.5 * y - v * r) - y) - v * S1);
}

static inline double kernel_cos(double x, double y) {
    const double C1 = 4.16666666666666019037e-02, C2 = -1.38888888888741095749e-03,
                 C3 = 2.48015872894767294178e-05, C4 = -2.75573143513906633035e-07,
                 C5 = 2.08757232129817482790e-09, C6 = -1.13596475577881948265e-11;
    const double z = x * x;
    const double r = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))));
    const double hz = 0.5 * z, w = 1.0 - hz;
    return w + (((1.0 - w) - hz) + (z * r - x * y));
}

/* sin(x) for |x| <= SIN_LIMIT: x - fn pi/2 as a double-double (y0, y1), fn = round(2x/pi) */
static inline double sin64(double x) {
    const double invpio2 = 6.36619772367581382433e-01;
    const double pio2_1 = 1.57079632673412561417e+00, pio2_1t = 6.07710050650619224932e-11;
    const double pio2_2 = 6.07710050630396597660e-11, pio2_2t = 2.02226624879595063154e-21;
    const double pio2_3 = 2.02226624871116645580e-21, pio2_3t = 8.47842766036889956997e-32;
    const double fn = rint(x * invpio2);
    double r = x - fn * pio2_1, t, w;
    (void)pio2_1t;
    t = r;
    w = fn * pio2_2;
    r = t - w;
    w = fn * pio2_2t - ((t - r) - w);
    t = r;
    w = fn * pio2_3;
    r = t - w;
    w = fn * pio2_3t - ((t - r) - w);
    const double y0 = r - w, y1 = (r - y0) - w;
    const double quadrant = fn - 4.0 * floor(fn * 0.25);
    const double s = kernel_sin(y0, y1), c = kernel_cos(y0, y1);
    const double value = (quadrant == 0.0 || quadrant == 2.0) ? s : c;
    return (quadrant >= 2.0) ? -value : value;
}

/* ---------------------------------------------------------------- float32: sin(pi x) */

/* |x| <= 1/2: x (pi + x^2 q(x^2)), pi split in two floats; coefficients fitted for the
 * relative error (2e-11 in exact arithmetic; float32 rounding gives under 3 ulp) */
static inline float sinpi32(float x) {
    const float pi_hi = 3.14159274f, pi_lo = -8.74892265e-08f;
    const float c1 = -5.16771269f, c2 = 2.55016327f, c3 = -0.59925133f, c4 = 0.082046479f,
                c5 = -0.00702216337f;
    const float z = x * x;
    const float q = c1 + z * (c2 + z * (c3 + z * (c4 + z * c5)));
    return x * pi_hi + x * (pi_lo + z * q);
}

/* ---------------------------------------------------------------- one block of evaluations */

static inline void miller(const work *w, Py_ssize_t n0, int b, const double *row, double *h) {
    const double ax = row[0], ay = row[1], az = row[2];
    const double *sx = w->sx + n0, *sy = w->sy + n0, *sz = w->sz + n0;
    for (int i = 0; i < b; i++) h[i] = ax * sx[i] + ay * sy[i] + az * sz[i];
}

/* flat index of the bordered table from the three integer parts: C's nearest lookup */
static inline void table_index(const work *w, int b, double (*whole)[BLOCK], double *flat) {
    for (int i = 0; i < b; i++) {
        double index = 0.0;
        for (int axis = 0; axis < 3; axis++) {
            double x = whole[axis][i] - w->lo[axis];
            x = (x >= 0.0) ? x : 0.0; /* NaN too */
            x = (x <= w->top[axis]) ? x : w->top[axis];
            index = index * w->dims[axis] + x;
        }
        flat[i] = index;
    }
}

static void fix_large(int b, const double *x, double n, double *ratio) {
    for (int i = 0; i < b; i++) {
        const double xn = x[i] * n;
        if (!(fabs(xn) <= SIN_LIMIT) || !(fabs(x[i]) <= SIN_LIMIT))
            ratio[i] = (x[i] == 0.0) ? n : sin(xn) / sin(x[i]);
    }
}

__attribute__((target_clones("avx512f", "avx2", "default")))
static void block64(const work *w, Py_ssize_t n0, int b, double *acc) {
    double h[3][BLOCK], whole[3][BLOCK], x[BLOCK], ratio[BLOCK], latt[BLOCK], flat[BLOCK];
    double cell[BLOCK];
    const double *grid = w->grid;
    for (int i = 0; i < b; i++) acc[i] = 0.0;
    for (Py_ssize_t k = 0; k < w->k_rows; k++) {
        const double *row = w->rows + 9 * k;
        for (int axis = 0; axis < 3; axis++) miller(w, n0, b, row + 3 * axis, h[axis]);
        for (int i = 0; i < b; i++) latt[i] = 1.0;
        for (int axis = 0; axis < 3; axis++) {
            if (!w->active[axis]) continue;
            const double n = w->cells[axis];
            int large = 0;
            for (int i = 0; i < b; i++) {
                x[i] = M_PI * h[axis][i];
                const double xn = x[i] * n;
                large |= !(fabs(xn) <= SIN_LIMIT);
                ratio[i] = (x[i] == 0.0) ? n : sin64(xn) / sin64(x[i]);
            }
            if (large) fix_large(b, x, n, ratio);
            for (int i = 0; i < b; i++) latt[i] *= ratio[i];
        }
        if (grid != NULL) {
            for (int axis = 0; axis < 3; axis++)
                for (int i = 0; i < b; i++) whole[axis][i] = ceil(h[axis][i] - 0.5);
            table_index(w, b, whole, flat);
            for (int i = 0; i < b; i++) cell[i] = grid[(Py_ssize_t)flat[i]];
        } else {
            for (int i = 0; i < b; i++) cell[i] = w->default_F;
        }
        for (int i = 0; i < b; i++) acc[i] += cell[i] * cell[i] * latt[i] * latt[i];
    }
}

__attribute__((target_clones("avx512f", "avx2", "default")))
static void block32(const work *w, Py_ssize_t n0, int b, double *acc) {
    double h[BLOCK], whole[3][BLOCK], flat[BLOCK];
    float latt[BLOCK], ratio[BLOCK], cell[BLOCK];
    const float *grid = w->grid;
    const float default_F = (float)w->default_F;
    for (int i = 0; i < b; i++) acc[i] = 0.0;
    for (Py_ssize_t k = 0; k < w->k_rows; k++) {
        const double *row = w->rows + 9 * k;
        int first = 1;
        for (int axis = 0; axis < 3; axis++) {
            miller(w, n0, b, row + 3 * axis, h);
            const double n = w->cells[axis];
            const float n32 = (float)n;
            for (int i = 0; i < b; i++) {
                const double index = h[i], base = ceil(index - 0.5);
                const double turns = index * n, m = rint(turns), half = (m + base) * 0.5;
                const double rest = turns - m;
                whole[axis][i] = base;
                const float r = (float)((half != floor(half)) ? -rest : rest);
                const float f = (float)(index - base);
                ratio[i] = (f == 0.0f) ? n32 : sinpi32(r) / sinpi32(f);
            }
            if (!w->active[axis]) continue;
            if (first)
                for (int i = 0; i < b; i++) latt[i] = ratio[i];
            else
                for (int i = 0; i < b; i++) latt[i] *= ratio[i];
            first = 0;
        }
        if (first)
            for (int i = 0; i < b; i++) latt[i] = 1.0f;
        if (grid != NULL) {
            table_index(w, b, whole, flat);
            for (int i = 0; i < b; i++) cell[i] = grid[(Py_ssize_t)flat[i]];
        } else {
            for (int i = 0; i < b; i++) cell[i] = default_F;
        }
        for (int i = 0; i < b; i++) acc[i] += (double)(cell[i] * cell[i] * latt[i] * latt[i]);
    }
}

static void *run_range(void *arg) {
    const work *w = arg;
    double acc[BLOCK];
    for (Py_ssize_t n0 = w->start; n0 < w->stop; n0 += BLOCK) {
        const int b = (int)((w->stop - n0 < BLOCK) ? w->stop - n0 : BLOCK);
        if (w->precision == 64)
            block64(w, n0, b, acc);
        else
            block32(w, n0, b, acc);
        for (int i = 0; i < b; i++)
            w->out[n0 + i] = (w->mask != NULL && !w->mask[n0 + i]) ? 0.0 : acc[i];
    }
    return NULL;
}

/* [0, n) in `threads` contiguous slices, the calling thread taking the first */
static void run_threads(const work *base, Py_ssize_t n, int threads) {
    work jobs[MAX_THREADS];
    pthread_t ids[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    Py_ssize_t per = (n + threads - 1) / threads;
    per = (per + BLOCK - 1) / BLOCK * BLOCK;
    for (int t = 0; t < threads; t++) {
        jobs[t] = *base;
        jobs[t].start = (Py_ssize_t)t * per < n ? (Py_ssize_t)t * per : n;
        jobs[t].stop = jobs[t].start + per < n ? jobs[t].start + per : n;
    }
    for (int t = 1; t < threads; t++)
        started[t] = jobs[t].start < jobs[t].stop
                     && pthread_create(&ids[t], NULL, run_range, &jobs[t]) == 0;
    run_range(&jobs[0]);
    for (int t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(ids[t], NULL);
        else if (jobs[t].start < jobs[t].stop)
            run_range(&jobs[t]); /* no thread to be had: this one does it */
    }
}

/* ---------------------------------------------------------------- Python binding */

static int get_view(PyObject *obj, Py_buffer *view, Py_ssize_t bytes, int writable) {
    int flags = PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) != 0) return -1;
    if (view->len < bytes) {
        PyErr_SetString(PyExc_ValueError, "buffer too small");
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *term_sums(PyObject *self, PyObject *args) {
    PyObject *st_o, *rows_o, *grid_o, *mask_o, *out_o;
    int lo[3], sizes[3], precision, threads;
    work w = {0};
    if (!PyArg_ParseTuple(args, "OO(ddd)(iii)O(iii)(iii)dOiiO", &st_o, &rows_o, &w.cells[0],
                          &w.cells[1], &w.cells[2], &w.active[0], &w.active[1], &w.active[2],
                          &grid_o, &lo[0], &lo[1], &lo[2], &sizes[0], &sizes[1], &sizes[2],
                          &w.default_F, &mask_o, &precision, &threads, &out_o))
        return NULL;
    if (precision != 32 && precision != 64) {
        PyErr_SetString(PyExc_ValueError, "precision must be 32 or 64");
        return NULL;
    }
    Py_buffer views[5];
    int held = 0, ok = 0;
    if (get_view(out_o, &views[held], 0, 1) != 0) return NULL;
    held++;
    const Py_ssize_t n = views[0].len / (Py_ssize_t)sizeof(double);
    if (get_view(st_o, &views[held], 3 * n * (Py_ssize_t)sizeof(double), 0) != 0) goto done;
    held++;
    if (get_view(rows_o, &views[held], 0, 0) != 0) goto done;
    w.k_rows = views[held].len / (9 * (Py_ssize_t)sizeof(double));
    w.rows = views[held].buf;
    held++;
    if (grid_o != Py_None) {
        Py_ssize_t cells = (Py_ssize_t)(sizes[0] + 2) * (sizes[1] + 2) * (sizes[2] + 2);
        Py_ssize_t item = precision == 64 ? sizeof(double) : sizeof(float);
        if (get_view(grid_o, &views[held], cells * item, 0) != 0) goto done;
        w.grid = views[held].buf;
        held++;
    }
    if (mask_o != Py_None) {
        if (get_view(mask_o, &views[held], n, 0) != 0) goto done;
        w.mask = views[held].buf;
        held++;
    }
    for (int axis = 0; axis < 3; axis++) {
        w.lo[axis] = lo[axis] - 1.0;
        w.top[axis] = sizes[axis] + 1.0;
        w.dims[axis] = sizes[axis] + 2.0;
    }
    w.out = views[0].buf;
    w.sx = views[1].buf;
    w.sy = w.sx + n;
    w.sz = w.sy + n;
    w.precision = precision;
    threads = threads < 1 ? 1 : (threads > MAX_THREADS ? MAX_THREADS : threads);
    if ((Py_ssize_t)threads * BLOCK > n) threads = (int)((n + BLOCK - 1) / BLOCK);
    if (threads < 1) threads = 1;
    Py_BEGIN_ALLOW_THREADS
    run_threads(&w, n, threads);
    Py_END_ALLOW_THREADS
    ok = 1;
done:
    for (int i = 0; i < held; i++) PyBuffer_Release(&views[i]);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

/* sines(x: f64[n], out: f64[n], xf: f32[m], outf: f32[m]): out = sin64(x), outf = sinpi32(xf),
 * for the tests of the two sines */
static PyObject *sines(PyObject *self, PyObject *args) {
    PyObject *o[4];
    Py_buffer v[4];
    if (!PyArg_ParseTuple(args, "OOOO", &o[0], &o[1], &o[2], &o[3])) return NULL;
    for (int i = 0; i < 4; i++) {
        if (get_view(o[i], &v[i], i % 2 ? v[i - 1].len : 0, i % 2) != 0) {
            for (int j = 0; j < i; j++) PyBuffer_Release(&v[j]);
            return NULL;
        }
    }
    const double *x = v[0].buf;
    double *out = v[1].buf;
    for (Py_ssize_t i = 0; i < v[0].len / (Py_ssize_t)sizeof(double); i++)
        out[i] = fabs(x[i]) <= SIN_LIMIT ? sin64(x[i]) : sin(x[i]);
    const float *xf = v[2].buf;
    float *outf = v[3].buf;
    for (Py_ssize_t i = 0; i < v[2].len / (Py_ssize_t)sizeof(float); i++) outf[i] = sinpi32(xf[i]);
    for (int i = 0; i < 4; i++) PyBuffer_Release(&v[i]);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"term_sums", term_sums, METH_VARARGS,
     "per-evaluation sums over the orientations of F_cell^2 F_latt^2 (square shape, nearest F)"},
    {"sines", sines, METH_VARARGS, "the loop's float64 sine and float32 sin(pi x), for tests"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_cterms", NULL, -1, methods};

PyMODINIT_FUNC PyInit__cterms(void) { return PyModule_Create(&module); }
