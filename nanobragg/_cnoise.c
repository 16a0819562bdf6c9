/*
 * The compiled random-number loops of nanobragg: ran1 draws in bulk (uniforms), the C library's
 * powf over an array (powf_array, for the mosaic domains' cap angles), and the Poisson noise
 * loop, compiled: the same arithmetic as the reference kernels in
 * nanobragg/noise.py (Numerical Recipes ran1 / poidev / gaussdev / gammln with C's float and
 * double types), so that the noise image is bit-identical to the C program's.
 *
 * Built without FMA contraction (-ffp-contract=off) so that every float and double operation
 * rounds exactly once, as in the reference build of the C program.
 *
 * Python signature (mirrors noise.noise_loop_kernel):
 *   noise_loop(image: float64[slow*fast], slow, fast, xmin, xmax, ymin, ymax, adc,
 *              idum: int64[1], state: int64[33], cache: float64[6], out: uint16[slow*fast])
 *     -> (total_photons: float, overloads: int)
 * state = shuffle table iv[0..31] followed by iy; cache = [oldm, g, sq, alxm, iset, gset].
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NR_IA 16807
#define NR_IM 2147483647
#define NR_AM (1.0 / NR_IM)
#define NR_IQ 127773
#define NR_IR 2836
#define NR_NTAB 32
#define NR_NDIV (1 + (NR_IM - 1) / NR_NTAB)
#define NR_RNMX (1.0 - 1.2e-7)

/* Counts below this get their log_gamma(count + 1) from a table (whole numbers up to it are
 * exact floats, so count + 1.0 rounds to the same float as in C's expression). */
#define COUNT_TABLE_CAP (1 << 22)

typedef struct {
    int64_t *idum;   /* caller's seed variable */
    int64_t *table;  /* iv[0..31], then iy at [32] */
    float oldm, g, sq, alxm, gset;
    int iset;
    /* log_gamma(n + 1) of whole counts n, filled on first use (NaN: not yet); the
     * rejection method evaluates it at every trial count, mostly at counts seen before */
    float *count_lgamma;
    size_t count_size;
} noise_state;

static int64_t park_miller(int64_t value) {
    int64_t k = value / NR_IQ;
    value = NR_IA * (value - k * NR_IQ) - NR_IR * k;
    return value < 0 ? value + NR_IM : value;
}

static float uniform(noise_state *st) {
    int64_t *iv = st->table, *iy = st->table + NR_NTAB;
    if (*st->idum <= 0 || *iy == 0) {
        *st->idum = (-(*st->idum) < 1) ? 1 : -(*st->idum);
        for (int j = NR_NTAB + 7; j >= 0; j--) {
            *st->idum = park_miller(*st->idum);
            if (j < NR_NTAB) iv[j] = *st->idum;
        }
        *iy = iv[0];
    }
    *st->idum = park_miller(*st->idum);
    int j = (int)(*iy / NR_NDIV);
    *iy = iv[j];
    iv[j] = *st->idum;
    float value = (float)(NR_AM * (double)(*iy));
    return (value > NR_RNMX) ? (float)NR_RNMX : value;
}

static float log_gamma(float xx) {
    static const double cof[6] = {76.18009172947146, -86.50532032941677, 24.01409824083091,
                                  -1.231739572450155, 0.1208650973866179e-2,
                                  -0.5395239384953e-5};
    double x = xx, y = xx;
    double tmp = x + 5.5;
    tmp -= (x + 0.5) * log(tmp);
    double ser = 1.000000000190015;
    for (int j = 0; j < 6; j++) ser += cof[j] / ++y;
    return (float)(-tmp + log(2.5066282746310005 * ser / x));
}

/* Grow the count table to hold index n (NaN-filled); 0 when memory is short. */
static int grow_count_table(noise_state *st, size_t n) {
    size_t size = st->count_size ? st->count_size : 4096;
    while (size <= n) size *= 2;
    if (size > COUNT_TABLE_CAP) size = COUNT_TABLE_CAP;
    float *values = realloc(st->count_lgamma, size * sizeof(float));
    if (values == NULL) return 0;
    memset(values + st->count_size, 0xFF, (size - st->count_size) * sizeof(float));
    st->count_lgamma = values;
    st->count_size = size;
    return 1;
}

/* C's log_gamma(em + 1.0) for a trial count em (a whole number >= 0, or inf/NaN). */
static float log_gamma_of_count(noise_state *st, float em) {
    if (em < (float)COUNT_TABLE_CAP) {
        size_t n = (size_t)em;
        if (n < st->count_size || grow_count_table(st, n)) {
            float value = st->count_lgamma[n];
            if (value != value) value = st->count_lgamma[n] = log_gamma(em + 1.0);
            return value;
        }
    }
    return log_gamma(em + 1.0);
}

static float gaussian(noise_state *st) {
    if (st->iset) {
        st->iset = 0;
        return st->gset;
    }
    float v1, v2, rsq;
    do {
        v1 = 2.0 * uniform(st) - 1.0;
        v2 = 2.0 * uniform(st) - 1.0;
        rsq = v1 * v1 + v2 * v2;
    } while (rsq >= 1.0 || rsq == 0);
    float fac = sqrt(-2.0 * log(rsq) / rsq);
    st->gset = v1 * fac;
    st->iset = 1;
    return v2 * fac;
}

static float poisson(noise_state *st, float xm) {
    float em, t, y;
    if (xm > 1.0e6) return xm + sqrt(xm) * gaussian(st);
    if (xm < 12.0) {
        if (xm != st->oldm) {
            st->oldm = xm;
            st->g = exp(-xm);
        }
        em = -1;
        t = 1.0;
        do {
            ++em;
            t *= uniform(st);
        } while (t > st->g);
        return em;
    }
    if (xm != st->oldm) {
        st->oldm = xm;
        st->sq = sqrt(2.0 * xm);
        st->alxm = log(xm);
        st->g = xm * st->alxm - log_gamma(xm + 1.0);
    }
    do {
        do {
            y = tan(M_PI * uniform(st));
            em = st->sq * y + xm;
        } while (em < 0.0);
        em = floor(em);
        t = 0.9 * (1.0 + y * y) * exp(em * st->alxm - log_gamma_of_count(st, em) - st->g);
    } while (uniform(st) > t);
    return em;
}

static uint16_t to_uint16(double value) {
    /* C's (unsigned short) of a double on x86-64: truncate to int32, keep the low 16 bits */
    if (value != value || value <= -2147483649.0 || value >= 2147483648.0) return 0;
    return (uint16_t)((int32_t)value & 0xFFFF);
}

static int get_buffer(PyObject *obj, Py_buffer *view, Py_ssize_t itemsize, Py_ssize_t count,
                      int writable, const char *name) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)))
        return -1;
    if (view->itemsize != itemsize || view->len < itemsize * count) {
        PyErr_Format(PyExc_ValueError, "%s: need %zd items of %zd bytes", name, count, itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *noise_loop(PyObject *self, PyObject *args) {
    PyObject *image_obj, *idum_obj, *state_obj, *cache_obj, *out_obj;
    Py_ssize_t slow, fast, xmin, xmax, ymin, ymax;
    double adc;
    (void)self;
    if (!PyArg_ParseTuple(args, "OnnnnnndOOOO", &image_obj, &slow, &fast, &xmin, &xmax, &ymin,
                          &ymax, &adc, &idum_obj, &state_obj, &cache_obj, &out_obj))
        return NULL;
    Py_buffer image, idum, table, cache, out;
    if (get_buffer(image_obj, &image, 8, slow * fast, 0, "image")) return NULL;
    if (get_buffer(idum_obj, &idum, 8, 1, 1, "idum")) goto fail_image;
    if (get_buffer(state_obj, &table, 8, NR_NTAB + 1, 1, "state")) goto fail_idum;
    if (get_buffer(cache_obj, &cache, 8, 6, 1, "cache")) goto fail_table;
    if (get_buffer(out_obj, &out, 2, slow * fast, 1, "out")) goto fail_cache;

    double *c = (double *)cache.buf;
    noise_state st = {(int64_t *)idum.buf, (int64_t *)table.buf, (float)c[0], (float)c[1],
                      (float)c[2], (float)c[3], (float)c[5], c[4] != 0.0, NULL, 0};
    const double *pixels = (const double *)image.buf;
    uint16_t *dest = (uint16_t *)out.buf;
    double total = 0.0;
    long overloads = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t s = 0; s < slow; s++) {
        for (Py_ssize_t f = 0; f < fast; f++) {
            if (f < xmin || f > xmax || s < ymin || s > ymax) continue;
            double photons = poisson(&st, (float)pixels[s * fast + f]);
            total += photons;
            double value = photons + adc;
            if (value > 65535.0) {
                value = 65535.0;
                overloads++;
            }
            dest[s * fast + f] = to_uint16(value);
        }
    }
    free(st.count_lgamma);
    Py_END_ALLOW_THREADS
    c[0] = st.oldm; c[1] = st.g; c[2] = st.sq; c[3] = st.alxm;
    c[4] = st.iset; c[5] = st.gset;
    PyBuffer_Release(&out);
    PyBuffer_Release(&cache);
    PyBuffer_Release(&table);
    PyBuffer_Release(&idum);
    PyBuffer_Release(&image);
    return Py_BuildValue("dl", total, overloads);

fail_cache:
    PyBuffer_Release(&cache);
fail_table:
    PyBuffer_Release(&table);
fail_idum:
    PyBuffer_Release(&idum);
fail_image:
    PyBuffer_Release(&image);
    return NULL;
}

/* uniforms(idum: int64[1], state: int64[33], out: float64[n]): the next n ran1 deviates. */
static PyObject *uniforms(PyObject *self, PyObject *args) {
    PyObject *idum_obj, *state_obj, *out_obj;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOO", &idum_obj, &state_obj, &out_obj)) return NULL;
    Py_buffer idum, table, out;
    if (get_buffer(idum_obj, &idum, 8, 1, 1, "idum")) return NULL;
    if (get_buffer(state_obj, &table, 8, NR_NTAB + 1, 1, "state")) goto fail_idum;
    if (get_buffer(out_obj, &out, 8, 0, 1, "out")) goto fail_table;
    noise_state st = {(int64_t *)idum.buf, (int64_t *)table.buf, -1, 0, 0, 0, 0, 0, NULL, 0};
    double *dest = (double *)out.buf;
    Py_ssize_t n = out.len / 8;
    for (Py_ssize_t i = 0; i < n; i++) dest[i] = uniform(&st);
    PyBuffer_Release(&out);
    PyBuffer_Release(&table);
    PyBuffer_Release(&idum);
    Py_RETURN_NONE;
fail_table:
    PyBuffer_Release(&table);
fail_idum:
    PyBuffer_Release(&idum);
    return NULL;
}

/* powf_array(x: float32[n], y: float, out: float32[n]): the C library's powf(x[i], y). */
static PyObject *powf_array(PyObject *self, PyObject *args) {
    PyObject *x_obj, *out_obj;
    float y;
    (void)self;
    if (!PyArg_ParseTuple(args, "OfO", &x_obj, &y, &out_obj)) return NULL;
    Py_buffer x, out;
    if (get_buffer(x_obj, &x, 4, 0, 0, "x")) return NULL;
    if (get_buffer(out_obj, &out, 4, x.len / 4, 1, "out")) {
        PyBuffer_Release(&x);
        return NULL;
    }
    const float *src = (const float *)x.buf;
    float *dest = (float *)out.buf;
    for (Py_ssize_t i = 0; i < x.len / 4; i++) dest[i] = powf(src[i], y);
    PyBuffer_Release(&out);
    PyBuffer_Release(&x);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"noise_loop", noise_loop, METH_VARARGS, "Sequential Poisson noise loop (see module doc)."},
    {"uniforms", uniforms, METH_VARARGS, "The next n ran1 deviates into a float64 buffer."},
    {"powf_array", powf_array, METH_VARARGS, "The C library's powf of each float32 value."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_cnoise",
    "Compiled Poisson noise loop of nanobragg (bit-identical to the Python kernels).", -1,
    methods,
};

PyMODINIT_FUNC PyInit__cnoise(void) { return PyModule_Create(&module); }
