// adv2's optional native accelerator for Node: the convolution kernels of the tfjs wasm backend
// (NHWC Conv2D, its input gradient and its filter gradient) on the tensors' own memory in the
// wasm heap (zero copy). With oneDNN (ADV2_WITH_DNNL) they run as oneDNN convolution primitives
// (the library PyTorch uses on CPUs), with the filter reordered into oneDNN's blocked layout;
// otherwise, and for any geometry oneDNN refuses, as im2col/col2im + OpenBLAS SGEMM.
// Loaded by src/engine/node/native.ts; built by scripts/build-native.sh. Everything else stays in wasm.
#include <node_api.h>
#include <cblas.h>
#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>
#ifdef ADV2_WITH_DNNL
#include <dnnl.hpp>
#include <omp.h>
#endif

extern "C" {
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);
char *openblas_get_config(void);
}

namespace {

// Geometry of one NHWC convolution with an HWIO filter (the layout tfjs uses).
struct Conv {
  int n, h, w, ci, oh, ow, co, kh, kw, sh, sw, top, left, dh, dw;
  long k() const { return static_cast<long>(kh) * kw * ci; }
  long rows() const { return static_cast<long>(n) * oh * ow; }
  // 1x1, stride 1, no padding on any side: x itself is the im2col matrix
  bool pointwise() const { return kh == 1 && kw == 1 && sh == 1 && sw == 1 && top == 0 && left == 0 && oh == h && ow == w; }
};

constexpr int kGeometrySize = 15;
// column-buffer budget per GEMM call, in floats (16 MB)
constexpr long kColsBudget = 4L * 1024 * 1024;

thread_local std::vector<float> cols;

// calls served by oneDNN and by the BLAS path (tests check which one ran)
double callsOneDnn = 0, callsBlas = 0;
// false: every call takes the BLAS path (tests of that path, comparisons)
bool preferOneDnn = true;

// Visit every (column-matrix row r in [r0, r0 + count), filter tap) pair: `visit(column, pixel)`
// gets the tap's ci-wide slot in that row and the offset of the input pixel it reads, or -1 where
// the tap falls in the padding.
template <class Visit>
void forEachTap(const Conv &g, long r0, long count, Visit visit) {
  const long k = g.k();
  for (long r = 0; r < count; r++) {
    long pix = r0 + r;
    const int ow = static_cast<int>(pix % g.ow);
    pix /= g.ow;
    const int oh = static_cast<int>(pix % g.oh);
    const int b = static_cast<int>(pix / g.oh);
    long column = r * k;
    for (int i = 0; i < g.kh; i++) {
      const int ih = oh * g.sh - g.top + i * g.dh;
      for (int j = 0; j < g.kw; j++, column += g.ci) {
        const int iw = ow * g.sw - g.left + j * g.dw;
        const bool inside = ih >= 0 && ih < g.h && iw >= 0 && iw < g.w;
        visit(column, inside ? ((static_cast<long>(b) * g.h + ih) * g.w + iw) * g.ci : -1L);
      }
    }
  }
}

// Rows [r0, r0 + count) of the im2col matrix: one row per output pixel, kh*kw*ci columns.
void im2col(const Conv &g, const float *x, long r0, long count, float *out) {
  forEachTap(g, r0, count, [&](long column, long pixel) {
    if (pixel < 0) std::memset(out + column, 0, sizeof(float) * g.ci);
    else std::memcpy(out + column, x + pixel, sizeof(float) * g.ci);
  });
}

// Scatter-add rows [r0, r0 + count) of a column matrix back onto the image (the adjoint of im2col).
void col2imAdd(const Conv &g, const float *in, long r0, long count, float *x) {
  forEachTap(g, r0, count, [&](long column, long pixel) {
    if (pixel < 0) return;
    for (int c = 0; c < g.ci; c++) x[pixel + c] += in[column + c];
  });
}

// The column matrix in chunks of whole rows (at most kColsBudget floats): fn(r0, count, cols)
// per chunk, with cols holding im2col(x) for those rows when x is given (scratch otherwise).
template <class Fn>
void inColumnChunks(const Conv &g, const float *x, Fn fn) {
  const long chunk = std::max(1L, std::min(g.rows(), kColsBudget / std::max(1L, g.k())));
  cols.resize(chunk * g.k());
  for (long r0 = 0; r0 < g.rows(); r0 += chunk) {
    const long count = std::min(chunk, g.rows() - r0);
    if (x != nullptr) im2col(g, x, r0, count, cols.data());
    fn(r0, count, cols.data());
  }
}

// y[rows, co] = cols(x)[rows, k] . w[k, co]
void conv2d(const Conv &g, const float *x, const float *w, float *y) {
  const long k = g.k();
  if (g.pointwise()) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g.rows(), g.co, k, 1.0f, x, k, w, g.co, 0.0f, y, g.co);
    return;
  }
  inColumnChunks(g, x, [&](long r0, long count, float *c) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, count, g.co, k, 1.0f, c, k, w, g.co, 0.0f, y + r0 * g.co, g.co);
  });
}

// dw[k, co] = cols(x)[rows, k]^T . dy[rows, co]
void conv2dFilterGrad(const Conv &g, const float *x, const float *dy, float *dw) {
  const long k = g.k();
  if (g.pointwise()) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, g.co, g.rows(), 1.0f, x, k, dy, g.co, 0.0f, dw, g.co);
    return;
  }
  inColumnChunks(g, x, [&](long r0, long count, float *c) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, g.co, count, 1.0f, c, k, dy + r0 * g.co, g.co,
                r0 == 0 ? 0.0f : 1.0f, dw, g.co);
  });
}

// dx = col2im(dy[rows, co] . w[k, co]^T)
void conv2dInputGrad(const Conv &g, const float *dy, const float *w, float *dx) {
  const long k = g.k();
  if (g.pointwise()) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g.rows(), k, g.co, 1.0f, dy, g.co, w, g.co, 0.0f, dx, k);
    return;
  }
  std::memset(dx, 0, sizeof(float) * static_cast<size_t>(g.n) * g.h * g.w * g.ci);
  inColumnChunks(g, nullptr, [&](long r0, long count, float *c) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, count, k, g.co, 1.0f, dy + r0 * g.co, g.co, w, g.co, 0.0f, c, k);
    col2imAdd(g, c, r0, count, dx);
  });
}

#ifdef ADV2_WITH_DNNL
// oneDNN primitives per geometry and direction, created once (creation JIT-compiles kernels).
namespace onednn {
using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

dnnl::engine &cpu() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}
dnnl::stream &queue() {
  static dnnl::stream s(cpu());
  return s;
}

struct Descs {
  memory::desc x, w, y, wUser;
  memory::dims strides, dilates, padL, padR;
};

Descs descs(const Conv &g) {
  // oneDNN dims are logical NCHW / OIHW; the tags give tfjs's physical NHWC / HWIO layouts
  Descs d;
  d.x = memory::desc({g.n, g.ci, g.h, g.w}, dt::f32, tag::nhwc);
  d.y = memory::desc({g.n, g.co, g.oh, g.ow}, dt::f32, tag::nhwc);
  d.w = memory::desc({g.co, g.ci, g.kh, g.kw}, dt::f32, tag::any);
  d.wUser = memory::desc({g.co, g.ci, g.kh, g.kw}, dt::f32, tag::hwio);
  d.strides = {g.sh, g.sw};
  d.dilates = {g.dh - 1, g.dw - 1};
  d.padL = {g.top, g.left};
  // the bottom/right padding that makes the output size come out as oh, ow
  d.padR = {(g.oh - 1) * g.sh + (g.kh - 1) * g.dh + 1 - g.h - g.top, (g.ow - 1) * g.sw + (g.kw - 1) * g.dw + 1 - g.w - g.left};
  return d;
}

dnnl::convolution_forward::primitive_desc forwardPd(const Descs &d, dnnl::prop_kind kind) {
  dnnl::convolution_forward::desc cd(kind, dnnl::algorithm::convolution_direct, d.x, d.w, d.y, d.strides, d.dilates, d.padL,
                                     d.padR);
  return dnnl::convolution_forward::primitive_desc(cd, cpu());
}

// backward_data and backward_weights share the descriptor's signature, and take the forward as a hint
template <class Primitive>
typename Primitive::primitive_desc backwardPd(const Descs &d) {
  auto hint = forwardPd(d, dnnl::prop_kind::forward_training);
  typename Primitive::desc cd(dnnl::algorithm::convolution_direct, d.x, d.w, d.y, d.strides, d.dilates, d.padL, d.padR);
  return typename Primitive::primitive_desc(cd, cpu(), hint);
}

// A filter in tfjs's layout, reordered into the layout a primitive wants.
struct FilterIn {
  memory::desc user;
  bool reorder = false;
  dnnl::reorder prim;
  memory blocked;
  void init(const memory::desc &userDesc, const memory::desc &wanted) {
    user = userDesc;
    reorder = wanted != user;
    if (reorder) {
      blocked = memory(wanted, cpu());
      prim = dnnl::reorder(memory(user, cpu(), nullptr), blocked);
    }
  }
  memory get(float *w) {
    memory src(user, cpu(), w);
    if (!reorder) return src;
    prim.execute(queue(), src, blocked);
    return blocked;
  }
};

// Forward and backward-data: one activation in, the filter, one activation out.
struct WithFilter {
  Descs d;
  dnnl::primitive prim;
  FilterIn w;
};
struct FilterGrad {
  Descs d;
  dnnl::convolution_backward_weights prim;
  bool reorder = false;
  memory blocked;
  dnnl::reorder out;
};

using Key = std::array<int, 16>;
Key key(const Conv &g, int kind) {
  return {g.n, g.h, g.w, g.ci, g.oh, g.ow, g.co, g.kh, g.kw, g.sh, g.sw, g.top, g.left, g.dh, g.dw, kind};
}

// null entries: geometries oneDNN refused (they go to the BLAS path from then on)
std::map<Key, std::unique_ptr<WithFilter>> forwards;
std::map<Key, std::unique_ptr<WithFilter>> inputGrads;
std::map<Key, std::unique_ptr<FilterGrad>> filterGrads;

template <class T, class Make>
T *lookup(std::map<Key, std::unique_ptr<T>> &cache, const Key &k, Make make) {
  auto it = cache.find(k);
  if (it != cache.end()) return it->second.get();
  std::unique_ptr<T> entry;
  try {
    entry = make();
  } catch (const dnnl::error &) {
    entry.reset();
  }
  return cache.emplace(k, std::move(entry)).first->second.get();
}

template <class Primitive>
std::unique_ptr<WithFilter> withFilter(const Descs &d, const typename Primitive::primitive_desc &pd) {
  auto e = std::make_unique<WithFilter>();
  e->d = d;
  e->prim = Primitive(pd);
  e->w.init(d.wUser, pd.weights_desc());
  return e;
}

// forward: x -> y; backward data: dy -> dx
bool runWithFilter(WithFilter *e, bool forward, const float *in, const float *w, float *out) {
  if (e == nullptr) return false;
  memory wm = e->w.get(const_cast<float *>(w));
  const memory::desc &inDesc = forward ? e->d.x : e->d.y;
  const memory::desc &outDesc = forward ? e->d.y : e->d.x;
  e->prim.execute(queue(), {{forward ? DNNL_ARG_SRC : DNNL_ARG_DIFF_DST, memory(inDesc, cpu(), const_cast<float *>(in))},
                            {DNNL_ARG_WEIGHTS, wm},
                            {forward ? DNNL_ARG_DST : DNNL_ARG_DIFF_SRC, memory(outDesc, cpu(), out)}});
  queue().wait();
  return true;
}

bool conv2d(const Conv &g, const float *x, const float *w, float *y) {
  WithFilter *e = lookup(forwards, key(g, 0), [&] {
    const Descs d = descs(g);
    return withFilter<dnnl::convolution_forward>(d, forwardPd(d, dnnl::prop_kind::forward_inference));
  });
  return runWithFilter(e, true, x, w, y);
}

bool inputGrad(const Conv &g, const float *dy, const float *w, float *dx) {
  WithFilter *e = lookup(inputGrads, key(g, 1), [&] {
    const Descs d = descs(g);
    return withFilter<dnnl::convolution_backward_data>(d, backwardPd<dnnl::convolution_backward_data>(d));
  });
  return runWithFilter(e, false, dy, w, dx);
}

bool filterGrad(const Conv &g, const float *x, const float *dy, float *dw) {
  FilterGrad *b = lookup(filterGrads, key(g, 2), [&] {
    auto e = std::make_unique<FilterGrad>();
    e->d = descs(g);
    auto pd = backwardPd<dnnl::convolution_backward_weights>(e->d);
    e->prim = dnnl::convolution_backward_weights(pd);
    e->reorder = pd.diff_weights_desc() != e->d.wUser;
    if (e->reorder) {
      e->blocked = memory(pd.diff_weights_desc(), cpu());
      e->out = dnnl::reorder(e->blocked, memory(e->d.wUser, cpu(), nullptr));
    }
    return e;
  });
  if (b == nullptr) return false;
  memory user(b->d.wUser, cpu(), dw);
  b->prim.execute(queue(), {{DNNL_ARG_SRC, memory(b->d.x, cpu(), const_cast<float *>(x))},
                            {DNNL_ARG_DIFF_DST, memory(b->d.y, cpu(), const_cast<float *>(dy))},
                            {DNNL_ARG_DIFF_WEIGHTS, b->reorder ? b->blocked : user}});
  if (b->reorder) b->out.execute(queue(), b->blocked, user);
  queue().wait();
  return true;
}
}  // namespace onednn
#endif

napi_value throwError(napi_env env, const char *message) {
  napi_throw_error(env, nullptr, message);
  return nullptr;
}

// The data and length of `v` if it is a typed array of `want`'s type.
bool typedArray(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *length) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  napi_typedarray_type type;
  if (napi_get_typedarray_info(env, v, &type, length, data, nullptr, nullptr) != napi_ok) return false;
  return type == want;
}

bool floatArray(napi_env env, napi_value v, float **data, size_t *length) {
  void *raw = nullptr;
  if (!typedArray(env, v, napi_float32_array, &raw, length)) return false;
  *data = static_cast<float *>(raw);
  return true;
}

bool geometry(napi_env env, napi_value v, Conv *g) {
  void *raw = nullptr;
  size_t length = 0;
  if (!typedArray(env, v, napi_int32_array, &raw, &length) || length != kGeometrySize) return false;
  const int *a = static_cast<const int *>(raw);
  *g = Conv{a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14]};
  const int positive[] = {g->n, g->h, g->w, g->ci, g->oh, g->ow, g->co, g->kh, g->kw, g->sh, g->sw, g->dh, g->dw};
  for (int p : positive) if (p <= 0) return false;
  return true;
}

// (geometry: Int32Array(15), a: Float32Array, b: Float32Array, out: Float32Array) with sizes checked
// against the geometry; kind 0 = conv2d (a = x, b = w, out = y), 1 = filter gradient (a = x, b = dy, out = dw),
// 2 = input gradient (a = dy, b = w, out = dx)
napi_value run(napi_env env, napi_callback_info info, int kind) {
  size_t argc = 4;
  napi_value args[4];
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  if (argc != 4) return throwError(env, "adv2-native: expected (geometry, a, b, out)");
  Conv g{};
  if (!geometry(env, args[0], &g)) return throwError(env, "adv2-native: geometry must be an Int32Array(15) of positive sizes");
  float *a, *b, *out;
  size_t la, lb, lo;
  if (!floatArray(env, args[1], &a, &la) || !floatArray(env, args[2], &b, &lb) || !floatArray(env, args[3], &out, &lo)) {
    return throwError(env, "adv2-native: tensors must be Float32Arrays");
  }
  const size_t xs = static_cast<size_t>(g.n) * g.h * g.w * g.ci;
  const size_t ws = static_cast<size_t>(g.k()) * g.co;
  const size_t ys = static_cast<size_t>(g.rows()) * g.co;
  const bool ok = kind == 0   ? (la == xs && lb == ws && lo == ys)
                  : kind == 1 ? (la == xs && lb == ys && lo == ws)
                              : (la == ys && lb == ws && lo == xs);
  if (!ok) return throwError(env, "adv2-native: tensor sizes do not match the geometry");
#ifdef ADV2_WITH_DNNL
  const bool done = preferOneDnn && (kind == 0 ? onednn::conv2d(g, a, b, out) : kind == 1 ? onednn::filterGrad(g, a, b, out) : onednn::inputGrad(g, a, b, out));
  if (done) {
    callsOneDnn++;
    return nullptr;
  }
#endif
  callsBlas++;
  if (kind == 0) conv2d(g, a, b, out);
  else if (kind == 1) conv2dFilterGrad(g, a, b, out);
  else conv2dInputGrad(g, a, b, out);
  return nullptr;
}

napi_value Conv2D(napi_env env, napi_callback_info info) { return run(env, info, 0); }
napi_value Conv2DFilterGrad(napi_env env, napi_callback_info info) { return run(env, info, 1); }
napi_value Conv2DInputGrad(napi_env env, napi_callback_info info) { return run(env, info, 2); }

napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  napi_get_cb_info(env, info, &argc, &arg, nullptr, nullptr);
  int32_t n = 0;
  if (argc != 1 || napi_get_value_int32(env, arg, &n) != napi_ok || n < 1) return throwError(env, "adv2-native: threads must be a positive integer");
  openblas_set_num_threads(n);
#ifdef ADV2_WITH_DNNL
  omp_set_num_threads(n);
#endif
  return nullptr;
}

napi_value Threads(napi_env env, napi_callback_info) {
  napi_value v;
  napi_create_int32(env, openblas_get_num_threads(), &v);
  return v;
}

napi_value Config(napi_env env, napi_callback_info) {
  std::string config;
#ifdef ADV2_WITH_DNNL
  const dnnl_version_t *v = dnnl_version();
  config = "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) + " + ";
#endif
  config += openblas_get_config();
  napi_value out;
  napi_create_string_utf8(env, config.c_str(), config.size(), &out);
  return out;
}

// useOneDnn(on: boolean): whether oneDNN serves the calls it can (default true); returns whether oneDNN is built in
napi_value UseOneDnn(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  napi_get_cb_info(env, info, &argc, &arg, nullptr, nullptr);
  bool on = true;
  if (argc != 1 || napi_get_value_bool(env, arg, &on) != napi_ok) return throwError(env, "adv2-native: useOneDnn takes a boolean");
  preferOneDnn = on;
  napi_value out;
#ifdef ADV2_WITH_DNNL
  napi_get_boolean(env, true, &out);
#else
  napi_get_boolean(env, false, &out);
#endif
  return out;
}

napi_value Calls(napi_env env, napi_callback_info) {
  napi_value out, a, b;
  napi_create_object(env, &out);
  napi_create_double(env, callsOneDnn, &a);
  napi_create_double(env, callsBlas, &b);
  napi_set_named_property(env, out, "onednn", a);
  napi_set_named_property(env, out, "blas", b);
  return out;
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"conv2d", nullptr, Conv2D, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dFilterGrad", nullptr, Conv2DFilterGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dInputGrad", nullptr, Conv2DInputGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"threads", nullptr, Threads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"config", nullptr, Config, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"calls", nullptr, Calls, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"useOneDnn", nullptr, UseOneDnn, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
