// oneDNN (Debian `libdnnl-dev`, 2.x C API) for the optional bf16 matrix products: built only
// with the package trait `OneDNN` (`swift build --traits OneDNN`). oneDNN's descriptors take
// fixed-size dimension arrays, awkward from Swift, so the two calls the engine needs are small
// C functions here.
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <stdint.h>

// libgomp, which Debian's oneDNN runs on: the engine splits products over its own threads, so
// oneDNN's OpenMP runs one thread per call (notes §3: never oversubscribe).
void omp_set_num_threads(int);

/// Creates the matmul primitive C[m, n] = A[m, k] · B[k, n] with A and B of type `type`
/// (dnnl_bf16 or dnnl_f32) at the given element strides (row, column), C f32 with row stride
/// ldc. Returns the status; `*primitive` is set on success.
static inline dnnl_status_t hrm_dnnl_matmul_create(
    dnnl_primitive_t *primitive, dnnl_engine_t engine, dnnl_data_type_t type,
    int64_t m, int64_t n, int64_t k,
    int64_t a_row, int64_t a_col, int64_t b_row, int64_t b_col, int64_t ldc)
{
    dnnl_memory_desc_t a, b, c;
    dnnl_dims_t a_dims = {m, k}, b_dims = {k, n}, c_dims = {m, n};
    dnnl_dims_t a_strides = {a_row, a_col}, b_strides = {b_row, b_col}, c_strides = {ldc, 1};
    dnnl_status_t s;
    if ((s = dnnl_memory_desc_init_by_strides(&a, 2, a_dims, type, a_strides)) != dnnl_success) return s;
    if ((s = dnnl_memory_desc_init_by_strides(&b, 2, b_dims, type, b_strides)) != dnnl_success) return s;
    if ((s = dnnl_memory_desc_init_by_strides(&c, 2, c_dims, dnnl_f32, c_strides)) != dnnl_success) return s;
    dnnl_matmul_desc_t desc;
    if ((s = dnnl_matmul_desc_init(&desc, &a, &b, NULL, &c)) != dnnl_success) return s;
    dnnl_primitive_desc_t pd;
    if ((s = dnnl_primitive_desc_create(&pd, &desc, NULL, engine, NULL)) != dnnl_success) return s;
    s = dnnl_primitive_create(primitive, pd);
    dnnl_primitive_desc_destroy(pd);
    return s;
}

/// Runs a primitive from `hrm_dnnl_matmul_create` on the given buffers, on a stream of its own
/// (streams are not shared between threads), and waits for it.
static inline dnnl_status_t hrm_dnnl_matmul_execute(
    dnnl_primitive_t primitive, dnnl_engine_t engine,
    const void *a, const void *b, float *c)
{
    const_dnnl_primitive_desc_t pd;
    dnnl_status_t s;
    if ((s = dnnl_primitive_get_primitive_desc(primitive, &pd)) != dnnl_success) return s;
    const dnnl_memory_desc_t *a_md = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *b_md = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t *c_md = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    dnnl_memory_t am = NULL, bm = NULL, cm = NULL;
    dnnl_stream_t stream = NULL;
    if ((s = dnnl_memory_create(&am, a_md, engine, (void *)a)) != dnnl_success) goto done;
    if ((s = dnnl_memory_create(&bm, b_md, engine, (void *)b)) != dnnl_success) goto done;
    if ((s = dnnl_memory_create(&cm, c_md, engine, c)) != dnnl_success) goto done;
    if ((s = dnnl_stream_create(&stream, engine, dnnl_stream_default_flags)) != dnnl_success) goto done;
    {
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}};
        if ((s = dnnl_primitive_execute(primitive, stream, 3, args)) != dnnl_success) goto done;
        s = dnnl_stream_wait(stream);
    }
done:
    if (stream) dnnl_stream_destroy(stream);
    if (cm) dnnl_memory_destroy(cm);
    if (bm) dnnl_memory_destroy(bm);
    if (am) dnnl_memory_destroy(am);
    return s;
}
