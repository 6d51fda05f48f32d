/*
 * The optimizer updates of optimizers.ts's UPDATES as TensorFlow operations of the kit's own, for the tensorflow
 * backend: each reads a parameter, its gradient and its state and writes their new values in one pass over memory,
 * with the float32 operations of the reference formula in its order (no contraction into fused multiply-adds, IEEE
 * division and square root), so that its results are bit for bit the formula's, as optimizers.wat's are on wasm.
 * TensorFlow's own training operations (ResourceApplyAdam and its kin) compute Adam otherwise, and update variables,
 * which each parameter must be put into and read out of: 7 operations a parameter where this takes 1 for all.
 *
 * `npm run setup:tensorflow` builds this file into a Node.js addon beside tfjs-node's binding; loading it registers
 * the operations with the TensorFlow that the binding loaded. Each operation takes N parameters at once:
 *
 *   CC6204Update_adam(p: N*float, g: N*float, m: N*float, s: N*float, c: float[8]) -> (p, m, s: N*float each)
 *
 * and likewise for sgd (p, g), momentum (p, g, v) and rmsprop (p, g, s), `c` holding UPDATES' constants in order.
 * Outputs are new tensors: the inputs stay as they were, as an operation's must.
 */
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* The TensorFlow C API used here (tensorflow/c/kernels.h, ops.h, tf_tensor.h, tf_status.h), declared here so that
   the file builds against TensorFlow's libraries alone, whichever headers came with them. */
typedef struct TF_Status TF_Status;
typedef struct TF_Tensor TF_Tensor;
typedef struct TF_OpKernelConstruction TF_OpKernelConstruction;
typedef struct TF_OpKernelContext TF_OpKernelContext;
typedef struct TF_KernelBuilder TF_KernelBuilder;
typedef struct TF_OpDefinitionBuilder TF_OpDefinitionBuilder;
enum { TF_FLOAT = 1, TF_OK = 0, TF_INVALID_ARGUMENT = 3 };
TF_Status *TF_NewStatus(void);
void TF_DeleteStatus(TF_Status *);
int TF_GetCode(const TF_Status *);
void TF_SetStatus(TF_Status *, int, const char *);
int TF_NumDims(const TF_Tensor *);
int64_t TF_Dim(const TF_Tensor *, int);
int64_t TF_TensorElementCount(const TF_Tensor *);
size_t TF_TensorByteSize(const TF_Tensor *);
void *TF_TensorData(const TF_Tensor *);
void TF_DeleteTensor(TF_Tensor *);
int TF_NumInputs(TF_OpKernelContext *);
void TF_GetInput(TF_OpKernelContext *, int, TF_Tensor **, TF_Status *);
TF_Tensor *TF_AllocateOutput(TF_OpKernelContext *, int, int, const int64_t *, int, size_t, TF_Status *);
void TF_OpKernelContext_Failure(TF_OpKernelContext *, TF_Status *);
TF_KernelBuilder *TF_NewKernelBuilder(const char *, const char *, void *(*)(TF_OpKernelConstruction *),
                                      void (*)(void *, TF_OpKernelContext *), void (*)(void *));
void TF_RegisterKernelBuilder(const char *, TF_KernelBuilder *, TF_Status *);
TF_OpDefinitionBuilder *TF_NewOpDefinitionBuilder(const char *);
void TF_OpDefinitionBuilderAddAttr(TF_OpDefinitionBuilder *, const char *);
void TF_OpDefinitionBuilderAddInput(TF_OpDefinitionBuilder *, const char *);
void TF_OpDefinitionBuilderAddOutput(TF_OpDefinitionBuilder *, const char *);
void TF_RegisterOpDefinition(TF_OpDefinitionBuilder *, TF_Status *);

/* The loops, once per instruction set: vectors of 16 floats (AVX-512) or 8 (AVX2) where the CPU has them, whose
   stores go around the cache (a store that does not first read the line it writes moves a third less memory
   here), and one float at a time everywhere, which also runs the elements that do not fill a vector. */
#define LANES 1
#define V float
#define LOAD(address) (*(address))
#define STORE(address, v) (*(address) = (v))
#define SQRT sqrtf
#define TARGET
#define NAME(update) update##_1
#include "optimizers-loops.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define VECTORS 1
#define LANES 16
#define V __m512
#define LOAD _mm512_loadu_ps
#define STORE _mm512_stream_ps
#define SQRT _mm512_sqrt_ps
#define TARGET __attribute__((target("avx512f")))
#define NAME(update) update##_16
#include "optimizers-loops.h"

#define LANES 8
#define V __m256
#define LOAD _mm256_loadu_ps
#define STORE _mm256_stream_ps
#define SQRT _mm256_sqrt_ps
#define TARGET __attribute__((target("avx2")))
#define NAME(update) update##_8
#include "optimizers-loops.h"
#endif

typedef void Loop(const float *const *in, float *const *out, int64_t n, const float *c);

/* An update: its operation's name, its tensors in (p, g, then the state) and out (p, then the state), its
   constants, and its loops by width: 1, 8 and 16 floats. */
typedef struct {
  const char *name;
  int inputs, outputs, constants;
  const char *const *inputNames;
  const char *const *outputNames;
  Loop *loops[3];
} Update;

static const char *const SGD_TENSORS[] = {"p", "g"}, *const SGD_OUTPUTS[] = {"p_out"};
static const char *const MOMENTUM_TENSORS[] = {"p", "g", "v"}, *const MOMENTUM_OUTPUTS[] = {"p_out", "v_out"};
static const char *const RMSPROP_TENSORS[] = {"p", "g", "s"}, *const RMSPROP_OUTPUTS[] = {"p_out", "s_out"};
static const char *const ADAM_TENSORS[] = {"p", "g", "m", "s"}, *const ADAM_OUTPUTS[] = {"p_out", "m_out", "s_out"};

#ifdef VECTORS
#define LOOPS(update) {update##_1, update##_8, update##_16}
#else
#define LOOPS(update) {update##_1, NULL, NULL}
#endif

static const Update UPDATES[] = {
    {"CC6204Update_sgd", 2, 1, 2, SGD_TENSORS, SGD_OUTPUTS, LOOPS(sgd)},
    {"CC6204Update_momentum", 3, 2, 3, MOMENTUM_TENSORS, MOMENTUM_OUTPUTS, LOOPS(momentum)},
    {"CC6204Update_rmsprop", 3, 2, 4, RMSPROP_TENSORS, RMSPROP_OUTPUTS, LOOPS(rmsprop)},
    {"CC6204Update_adam", 4, 3, 8, ADAM_TENSORS, ADAM_OUTPUTS, LOOPS(adam)},
};

/* The widest loops this CPU runs: 2 for AVX-512, 1 for AVX2, 0 otherwise; no wider than CC6204_UPDATE_LANES says
   (16, 8 or 1), which checks each on one machine. */
static int widest(void) {
  int width = 0;
#ifdef VECTORS
  __builtin_cpu_init();
  width = __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") ? 1 : 0;
#endif
  const char *lanes = getenv("CC6204_UPDATE_LANES");
  char *end = NULL;
  long asked = lanes == NULL || *lanes == '\0' ? 16 : strtol(lanes, &end, 10);
  /* Not a number: as if unset. */
  if (end != NULL && *end != '\0') asked = 16;
  int most = asked >= 16 ? 2 : asked >= 8 ? 1 : 0;
  return width < most ? width : most;
}

static const int WIDTHS[] = {1, 8, 16};

/* The loops' width (an index into WIDTHS) and the cores an update may use, both settled when the addon loads. */
static int width = 0, cores = 1;

enum { MAX_TENSORS = 4, MAX_PARAMETERS = 256, MAX_THREADS = 4, MIN_SHARE = 1 << 15 };

/* One parameter's tensors. */
typedef struct {
  const float *in[MAX_TENSORS];
  float *out[MAX_TENSORS];
  int64_t n;
} Parameter;

/* A thread's share of an update over several parameters: elements [from, to) of them laid end to end. */
typedef struct {
  const Update *update;
  const Parameter *parameters;
  int count, width;
  const float *c;
  int64_t from, to;
} Share;

/* Elements [from, to) of one parameter: one at a time up to where its outputs are aligned for whole vectors (each
   output is, at the same element, since TensorFlow aligns every tensor's start), then whole vectors, then one at a
   time again for what does not fill one. */
static void runPart(const Share *share, const Parameter *parameter, int64_t from, int64_t to) {
  const Update *update = share->update;
  const float *in[MAX_TENSORS];
  float *out[MAX_TENSORS];
  const int width = share->width, lanes = WIDTHS[width];
  const uintptr_t bytes = (uintptr_t)lanes * sizeof(float);
  for (int64_t at = from; at < to;) {
    for (int j = 0; j < update->inputs; j++) in[j] = parameter->in[j] + at;
    int aligned = 1;
    for (int j = 0; j < update->outputs; j++) {
      out[j] = parameter->out[j] + at;
      aligned &= (uintptr_t)out[j] % bytes == 0;
    }
    int64_t n = to - at;
    if (width > 0 && aligned && n >= lanes) {
      n = n / lanes * lanes;
      update->loops[width](in, out, n, share->c);
    } else {
      /* Up to the next aligned element, or to the end where the outputs never align alike. */
      int64_t head = aligned || width == 0 ? n : (int64_t)((bytes - (uintptr_t)out[0] % bytes) % bytes / sizeof(float));
      int alike = 1;
      for (int j = 1; j < update->outputs; j++) alike &= (uintptr_t)out[j] % bytes == (uintptr_t)out[0] % bytes;
      n = head > 0 && head < n && alike ? head : n;
      update->loops[0](in, out, n, share->c);
    }
    at += n;
  }
}

static void *runShare(void *argument) {
  const Share *share = argument;
  int64_t at = 0;
  for (int k = 0; k < share->count; k++) {
    const Parameter *parameter = &share->parameters[k];
    int64_t from = share->from > at ? share->from - at : 0, to = share->to - at < parameter->n ? share->to - at : parameter->n;
    if (from < to) runPart(share, parameter, from, to);
    at += parameter->n;
  }
#ifdef VECTORS
  /* The stores that went around the cache are seen by every thread before the operation ends. */
  if (share->width > 0) _mm_sfence();
#endif
  return NULL;
}

/* Runs an update over its parameters, split between up to MAX_THREADS threads (a share each of at least MIN_SHARE
   elements): the loops are bound by memory, which one core alone does not saturate. */
static void runUpdate(Share whole) {
  int64_t n = whole.to;
  int threads = (int)(n / MIN_SHARE);
  threads = threads < 1 ? 1 : threads > cores ? cores : threads;
  Share shares[MAX_THREADS];
  pthread_t started[MAX_THREADS];
  int running[MAX_THREADS] = {0};
  for (int k = 0; k < threads; k++) {
    shares[k] = whole;
    /* Shares end on multiples of 16 elements of the parameters laid end to end; runPart aligns each part itself. */
    shares[k].from = k == 0 ? 0 : shares[k - 1].to;
    shares[k].to = k == threads - 1 ? n : (n * (k + 1) / threads) & ~(int64_t)15;
  }
  for (int k = 1; k < threads; k++) running[k] = pthread_create(&started[k], NULL, runShare, &shares[k]) == 0;
  runShare(&shares[0]);
  for (int k = 1; k < threads; k++) {
    if (running[k])
      pthread_join(started[k], NULL);
    else
      runShare(&shares[k]);
  }
}

static void *create(TF_OpKernelConstruction *construction) {
  (void)construction;
  return NULL;
}

static void destroy(void *kernel) { (void)kernel; }

/* Sets `status` to an invalid-argument error, its message a format and its values. */
#define FAIL(status, ...)                                       \
  do {                                                          \
    char message[200];                                          \
    snprintf(message, sizeof message, __VA_ARGS__);             \
    TF_SetStatus(status, TF_INVALID_ARGUMENT, message);         \
  } while (0)

/* The inputs are N tensors per name in the update's order, then c; the outputs N per name. */
static void compute(const Update *update, TF_OpKernelContext *context) {
  TF_Status *status = TF_NewStatus();
  int count = TF_NumInputs(context);
  int n = (count - 1) / update->inputs;
  /* The TensorFlow tensors taken, freed at the end: N per input name, then c, then N per output name. */
  TF_Tensor *held[(MAX_TENSORS + MAX_TENSORS) * MAX_PARAMETERS + 1] = {NULL};
  Parameter parameters[MAX_PARAMETERS];
  int64_t total = 0;
  if (n > MAX_PARAMETERS) {
    FAIL(status, "%s takes at most %d parameters at once, got %d", update->name, MAX_PARAMETERS, n);
    TF_OpKernelContext_Failure(context, status);
    TF_DeleteStatus(status);
    return;
  }
  for (int i = 0; i < count && TF_GetCode(status) == TF_OK; i++) TF_GetInput(context, i, &held[i], status);
  const TF_Tensor *c = held[count - 1];
  if (TF_GetCode(status) == TF_OK && TF_TensorElementCount(c) != update->constants) {
    FAIL(status, "%s takes %d constants, got %lld", update->name, update->constants, (long long)TF_TensorElementCount(c));
  }
  for (int k = 0; k < n && TF_GetCode(status) == TF_OK; k++) {
    Parameter *parameter = &parameters[k];
    const TF_Tensor *p = held[k];
    parameter->n = TF_TensorElementCount(p);
    for (int j = 0; j < update->inputs; j++) {
      const TF_Tensor *tensor = held[j * n + k];
      parameter->in[j] = TF_TensorData(tensor);
      if (TF_TensorElementCount(tensor) != parameter->n) {
        FAIL(status, "%s: %s of parameter %d has %lld elements, its p %lld", update->name, update->inputNames[j], k,
             (long long)TF_TensorElementCount(tensor), (long long)parameter->n);
        break;
      }
    }
    /* Each output takes the shape of its parameter. */
    int64_t shape[16];
    int dims = TF_NumDims(p);
    if (dims > 16) FAIL(status, "%s: parameter %d has %d dimensions, more than 16", update->name, k, dims);
    for (int d = 0; d < dims && d < 16; d++) shape[d] = TF_Dim(p, d);
    for (int j = 0; j < update->outputs && TF_GetCode(status) == TF_OK; j++) {
      TF_Tensor *out = TF_AllocateOutput(context, j * n + k, TF_FLOAT, shape, dims, TF_TensorByteSize(p), status);
      held[count + j * n + k] = out;
      if (out != NULL) parameter->out[j] = TF_TensorData(out);
    }
    total += parameter->n;
  }
  if (TF_GetCode(status) == TF_OK) runUpdate((Share){update, parameters, n, width, TF_TensorData(c), 0, total});
  for (int i = 0; i < count + update->outputs * n; i++) {
    if (held[i] != NULL) TF_DeleteTensor(held[i]);
  }
  if (TF_GetCode(status) != TF_OK) TF_OpKernelContext_Failure(context, status);
  TF_DeleteStatus(status);
}

static void computeSgd(void *kernel, TF_OpKernelContext *context) { (void)kernel, compute(&UPDATES[0], context); }
static void computeMomentum(void *kernel, TF_OpKernelContext *context) { (void)kernel, compute(&UPDATES[1], context); }
static void computeRmsprop(void *kernel, TF_OpKernelContext *context) { (void)kernel, compute(&UPDATES[2], context); }
static void computeAdam(void *kernel, TF_OpKernelContext *context) { (void)kernel, compute(&UPDATES[3], context); }
static void (*const COMPUTE[])(void *, TF_OpKernelContext *) = {computeSgd, computeMomentum, computeRmsprop, computeAdam};

/* Registers the operations and their CPU kernels; 0, or -1 with the reason in `message`. */
static int registerUpdates(char *message, size_t size) {
  TF_Status *status = TF_NewStatus();
  for (size_t u = 0; u < sizeof UPDATES / sizeof UPDATES[0] && TF_GetCode(status) == TF_OK; u++) {
    const Update *update = &UPDATES[u];
    char arg[64];
    TF_OpDefinitionBuilder *op = TF_NewOpDefinitionBuilder(update->name);
    TF_OpDefinitionBuilderAddAttr(op, "N: int >= 1");
    for (int j = 0; j < update->inputs; j++) {
      snprintf(arg, sizeof arg, "%s: N * float", update->inputNames[j]);
      TF_OpDefinitionBuilderAddInput(op, arg);
    }
    TF_OpDefinitionBuilderAddInput(op, "c: float");
    for (int j = 0; j < update->outputs; j++) {
      snprintf(arg, sizeof arg, "%s: N * float", update->outputNames[j]);
      TF_OpDefinitionBuilderAddOutput(op, arg);
    }
    TF_RegisterOpDefinition(op, status);
    if (TF_GetCode(status) != TF_OK) break;
    TF_RegisterKernelBuilder(update->name, TF_NewKernelBuilder(update->name, "CPU", create, COMPUTE[u], destroy), status);
  }
  int code = TF_GetCode(status);
  if (code != TF_OK) snprintf(message, size, "TensorFlow refused the kit's update operations (status %d)", code);
  TF_DeleteStatus(status);
  return code == TF_OK ? 0 : -1;
}

/* Node.js loads the file as an addon (process.dlopen) and calls this, once per thread that loads it: the operations
   are registered on the first call. A failure leaves them unregistered, which the kit checks for. */
void *napi_register_module_v1(void *env, void *exports) {
  static int registered = 0;
  (void)env;
  if (!registered) {
    char message[160];
    registered = 1;
    width = widest();
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    cores = online < 1 ? 1 : online > MAX_THREADS ? MAX_THREADS : (int)online;
    if (registerUpdates(message, sizeof message) != 0) fprintf(stderr, "%s\n", message);
  }
  return exports;
}
