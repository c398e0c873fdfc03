// Sealed shared memory for plugin-seam's isolated (child process) mode.
//
// Why a hand-written V8 addon and not N-API: the point is to hand JS a
// SharedArrayBuffer that aliases an mmap'd memfd, so host and child can use
// Atomics on the same bytes. N-API can wrap external memory only as a plain
// ArrayBuffer (napi_create_external_arraybuffer), never as a SharedArrayBuffer,
// so we use v8::SharedArrayBuffer::NewBackingStore directly.
//
// Why NODE_MODULE_INIT: it makes the addon context-aware, so it can be loaded
// in worker threads as well as on the main thread. The module keeps no mutable
// global state, which is what makes that safe.
//
// Linux-only: memfd_create, file seals, PR_SET_PDEATHSIG and futex.
//
// Why futexWait/futexWake: V8's Atomics.wait/notify only reach waiters of the
// same process. A plain (not FUTEX_PRIVATE) futex on a MAP_SHARED mapping is
// keyed by the file and offset, so a child sleeping on a word of a shared
// segment is woken by the host's futexWake on its own mapping of that word,
// in microseconds, without a pipe and an event loop in between.

#include <node.h>
#include <uv.h>
#include <v8.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/futex.h>
#include <time.h>
#include <unistd.h>

namespace {

using v8::BackingStore;
using v8::Boolean;
using v8::Context;
using v8::Exception;
using v8::Function;
using v8::FunctionCallback;
using v8::FunctionCallbackInfo;
using v8::Integer;
using v8::IntegrityLevel;
using v8::Isolate;
using v8::Local;
using v8::Number;
using v8::Object;
using v8::SharedArrayBuffer;
using v8::String;
using v8::Uint8Array;
using v8::Value;

// Large enough for any frame ring we would want, small enough that a bogus
// length (or a unit mix-up) fails loudly instead of reserving absurd address
// space. 32-bit builds get less because size_t and the address space are
// smaller.
constexpr uint64_t kMaxSegmentBytes =
    sizeof(size_t) >= 8 ? (uint64_t{4} << 30) : (uint64_t{1} << 30);

// The host owns size and layout: a peer must never be able to shrink the file
// under our mapping (touching a page past EOF raises SIGBUS and kills the
// process) or grow it. These two seals are what mapSegment insists on.
constexpr int kRequiredSeals = F_SEAL_SHRINK | F_SEAL_GROW;

// sysconf is cheap but the value never changes during a process lifetime;
// a function-local static is initialised thread-safely (worker threads).
uint64_t PageSize() {
  static const uint64_t page = [] {
    long value = sysconf(_SC_PAGESIZE);
    return value > 0 ? static_cast<uint64_t>(value) : uint64_t{4096};
  }();
  return page;
}

Local<String> Str(Isolate* isolate, const std::string& text) {
  return String::NewFromUtf8(isolate, text.c_str()).ToLocalChecked();
}

void ThrowTypeError(Isolate* isolate, const std::string& message) {
  isolate->ThrowException(Exception::TypeError(Str(isolate, message)));
}

void ThrowRangeError(Isolate* isolate, const std::string& message) {
  isolate->ThrowException(Exception::RangeError(Str(isolate, message)));
}

void ThrowPlainError(Isolate* isolate, const std::string& message) {
  isolate->ThrowException(Exception::Error(Str(isolate, message)));
}

// Throws an Error shaped like Node's own system errors (code, errno, syscall)
// so callers can branch on err.code the same way they do for fs errors. The
// libuv helpers are used because they are thread-safe (unlike strerror) and
// give the same names Node prints.
void ThrowErrno(Isolate* isolate, int err, const char* syscall,
                const std::string& what) {
  char text[128];
  char name[32];
  // On Unix libuv error codes are negated errno values.
  uv_strerror_r(-err, text, sizeof text);
  uv_err_name_r(-err, name, sizeof name);
  std::string message = what + ": " + syscall + " failed: " + text + " (" +
                        name + ")";
  Local<Context> context = isolate->GetCurrentContext();
  Local<Object> error =
      Exception::Error(Str(isolate, message))->ToObject(context).ToLocalChecked();
  // If decorating the error fails (only on termination) it is thrown bare.
  error->Set(context, Str(isolate, "code"), Str(isolate, name)).FromMaybe(false);
  error->Set(context, Str(isolate, "errno"), Integer::New(isolate, -err))
      .FromMaybe(false);
  error->Set(context, Str(isolate, "syscall"), Str(isolate, syscall))
      .FromMaybe(false);
  isolate->ThrowException(error);
}

// Reads a JS number that must be an integer in [min, max]. Doubles are used
// because byte lengths up to 4 GiB do not fit in int32.
bool ReadInteger(Isolate* isolate, Local<Value> value, const char* label,
                 double min, double max, double* out) {
  if (!value->IsNumber()) {
    ThrowTypeError(isolate, std::string(label) + " must be a number");
    return false;
  }
  double number = value.As<Number>()->Value();
  if (!std::isfinite(number) || std::trunc(number) != number) {
    ThrowRangeError(isolate, std::string(label) + " must be an integer");
    return false;
  }
  if (number < min || number > max) {
    ThrowRangeError(isolate, std::string(label) + " must be between " +
                                 std::to_string(static_cast<int64_t>(min)) +
                                 " and " +
                                 std::to_string(static_cast<int64_t>(max)) +
                                 ", got " +
                                 std::to_string(static_cast<int64_t>(number)));
    return false;
  }
  *out = number;
  return true;
}

bool ReadFd(Isolate* isolate, Local<Value> value, int* fd) {
  double number = 0;
  if (!ReadInteger(isolate, value, "fd", 0, INT32_MAX, &number)) return false;
  *fd = static_cast<int>(number);
  return true;
}

bool ReadByteLength(Isolate* isolate, Local<Value> value, const char* label,
                    uint64_t* out) {
  double number = 0;
  if (!ReadInteger(isolate, value, label, 1,
                   static_cast<double>(kMaxSegmentBytes), &number)) {
    return false;
  }
  *out = static_cast<uint64_t>(number);
  return true;
}

// Runs when the last SharedArrayBuffer referencing the mapping is gone, which
// may be on any thread (a GC thread, or a worker the buffer was posted to).
// munmap is thread-safe, and the fd is not needed: the mapping keeps the memfd
// alive on its own.
void UnmapDeleter(void* data, size_t length, void* /*deleter_data*/) {
  munmap(data, length);
}

// Hands ownership of an mmap'd region to V8. From here on the region is
// unmapped only by UnmapDeleter.
Local<SharedArrayBuffer> WrapMapping(Isolate* isolate, void* data,
                                     size_t length) {
  std::unique_ptr<BackingStore> store =
      SharedArrayBuffer::NewBackingStore(data, length, UnmapDeleter, nullptr);
  return SharedArrayBuffer::New(isolate, std::move(store));
}

// Reads the seal bitmask; EINVAL means the file type cannot carry seals at
// all (a regular file, or a memfd created without MFD_ALLOW_SEALING reports
// F_SEAL_SEAL instead).
bool GetSeals(Isolate* isolate, int fd, int* seals) {
  int result = fcntl(fd, F_GET_SEALS);
  if (result < 0) {
    int err = errno;
    ThrowErrno(isolate, err, "fcntl(F_GET_SEALS)",
               err == EINVAL ? "fd " + std::to_string(fd) +
                                   " is not a sealable memfd"
                             : "cannot read seals of fd " + std::to_string(fd));
    return false;
  }
  *seals = result;
  return true;
}

// createSegment(byteLength) -> { fd, buffer }
void CreateSegment(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  uint64_t requested = 0;
  if (!ReadByteLength(isolate, args[0], "byteLength", &requested)) return;
  // Mappings are page-granular anyway; making the file size the rounded size
  // means buffer.byteLength == file size, which is exactly what the child
  // passes to mapSegment.
  const uint64_t page = PageSize();
  const uint64_t length = (requested + page - 1) / page * page;
  const std::string what = "createSegment(" + std::to_string(requested) + ")";

  // CLOEXEC: the fd must reach only the children it is explicitly passed to
  // (spawn's stdio dup2 clears the flag on the child's copy).
  int fd = memfd_create("plugin-seam", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) {
    ThrowErrno(isolate, errno, "memfd_create", what);
    return;
  }
  auto fail = [&](const char* syscall) {
    int err = errno;
    close(fd);
    ThrowErrno(isolate, err, syscall, what);
  };
  if (ftruncate(fd, static_cast<off_t>(length)) != 0) return fail("ftruncate");
  // F_SEAL_SEAL too, so nobody can later add F_SEAL_WRITE and turn our
  // writable mapping into a one-way channel.
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    return fail("fcntl(F_ADD_SEALS)");
  }
  void* data = mmap(nullptr, static_cast<size_t>(length),
                    PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (data == MAP_FAILED) return fail("mmap");

  Local<SharedArrayBuffer> buffer =
      WrapMapping(isolate, data, static_cast<size_t>(length));
  Local<Context> context = isolate->GetCurrentContext();
  Local<Object> result = Object::New(isolate);
  if (result->Set(context, Str(isolate, "fd"), Integer::New(isolate, fd))
          .IsNothing() ||
      result->Set(context, Str(isolate, "buffer"), buffer).IsNothing()) {
    // Only on termination; the buffer's deleter still unmaps, the fd is ours.
    close(fd);
    return;
  }
  args.GetReturnValue().Set(result);
}

// mapSegment(fd, expectedByteLength) -> SharedArrayBuffer
void MapSegment(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  int fd = -1;
  uint64_t expected = 0;
  if (!ReadFd(isolate, args[0], &fd)) return;
  if (!ReadByteLength(isolate, args[1], "expectedByteLength", &expected)) {
    return;
  }
  const std::string what = "mapSegment(fd " + std::to_string(fd) + ")";

  // Seals first, then size: seals can only ever be added, so once SHRINK and
  // GROW are present the size we read next cannot change before we map it.
  int seals = 0;
  if (!GetSeals(isolate, fd, &seals)) return;
  if ((seals & kRequiredSeals) != kRequiredSeals) {
    ThrowPlainError(isolate,
                    what + ": refusing to map, the file is not sealed against "
                           "resizing (needs F_SEAL_SHRINK|F_SEAL_GROW, has "
                           "seals " +
                        std::to_string(seals) +
                        "); a peer could truncate it and SIGBUS this process");
    return;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    ThrowErrno(isolate, errno, "fstat", what);
    return;
  }
  if (!S_ISREG(st.st_mode) || st.st_size < 0 ||
      static_cast<uint64_t>(st.st_size) != expected) {
    ThrowPlainError(isolate, what + ": size mismatch, the file is " +
                                 std::to_string(st.st_size) +
                                 " bytes but " + std::to_string(expected) +
                                 " were expected");
    return;
  }
  void* data = mmap(nullptr, static_cast<size_t>(expected),
                    PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (data == MAP_FAILED) {
    ThrowErrno(isolate, errno, "mmap", what);
    return;
  }
  args.GetReturnValue().Set(
      WrapMapping(isolate, data, static_cast<size_t>(expected)));
}

// closeFd(fd): the mapping outlives the descriptor, so the host closes its
// copy right after spawning the child.
void CloseFd(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  int fd = -1;
  if (!ReadFd(isolate, args[0], &fd)) return;
  // On Linux the descriptor is released even when close reports EINTR, so
  // retrying could close an unrelated fd that reused the number.
  if (close(fd) != 0 && errno != EINTR) {
    ThrowErrno(isolate, errno, "close", "closeFd(" + std::to_string(fd) + ")");
  }
}

// discardMemory(buffer): gives the memory of a SharedArrayBuffer back to the
// system now, whatever still maps or references it, when its owner is done with
// it for good. V8 frees a buffer only when it collects it, which an idle host may
// not do for ever (an unloaded 96 MiB frame pool kept its pages).
// - A segment this addon made or mapped (a shared memfd mapping): MADV_REMOVE
//   frees the file's pages (a hole punched; size and seals unchanged); every
//   mapping of it, in any process, then reads zeros.
// - Any other buffer (V8's own, private anonymous memory): MADV_DONTNEED over the
//   whole pages inside it frees them; they read zeros until written again. The
//   partial pages at either end are left: they may hold another allocation.
// A write afterwards allocates a page again; nothing ever faults.
void DiscardMemory(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsSharedArrayBuffer()) {
    ThrowRangeError(isolate, "discardMemory(buffer): buffer must be a SharedArrayBuffer");
    return;
  }
  std::shared_ptr<BackingStore> store = args[0].As<SharedArrayBuffer>()->GetBackingStore();
  const uintptr_t start = reinterpret_cast<uintptr_t>(store->Data());
  const size_t length = store->ByteLength();
  if (length == 0 || start == 0) return;
  const uintptr_t page = static_cast<uintptr_t>(PageSize());
  const uintptr_t first = (start + page - 1) / page * page;
  const uintptr_t end = (start + length) / page * page;
  if (end <= first) return;
  void* from = reinterpret_cast<void*>(first);
  const size_t bytes = static_cast<size_t>(end - first);
  if (madvise(from, bytes, MADV_REMOVE) == 0) return;
  if (errno == EINVAL || errno == EOPNOTSUPP) {
    if (madvise(from, bytes, MADV_DONTNEED) == 0) return;
  }
  ThrowErrno(isolate, errno, "madvise", "discardMemory(" + std::to_string(length) + " bytes)");
}

// adjustExternalMemory(bytes): tells V8 that `bytes` more (or, negative, fewer) bytes
// outside its heap live or die with its objects; returns the new total. V8 collects when
// that total grows (external memory pressure). A closed frame pool has given its pages back
// (discardMemory), but its mapping goes only with its SharedArrayBuffer, and V8 counts a
// shared buffer toward no isolate: an application loading and unloading instances, with
// little garbage of its own, never collected one — its address space grew by a pool per
// cycle (under `ulimit -v`, load() then failed). The pool counts itself here from its
// close to its collection (a FinalizationRegistry takes it back), on the thread of the
// isolate that runs the runtime: the adjustment is that isolate's.
void AdjustExternalMemory(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsNumber()) {
    ThrowRangeError(isolate, "adjustExternalMemory(bytes): bytes must be a number");
    return;
  }
  const double bytes = args[0].As<Number>()->Value();
  if (!(bytes >= -9007199254740991.0 && bytes <= 9007199254740991.0) || bytes != static_cast<double>(static_cast<int64_t>(bytes))) {
    ThrowRangeError(isolate, "adjustExternalMemory(bytes): bytes must be a safe integer");
    return;
  }
  const int64_t total = isolate->AdjustAmountOfExternalAllocatedMemory(static_cast<int64_t>(bytes));
  args.GetReturnValue().Set(Number::New(isolate, static_cast<double>(total)));
}

// The parent a death signal is armed for: `value` if given, else getppid(). The parent may
// already have died before we got here, in which case we have been reparented and getppid()
// no longer names the host; the caller can pass the host pid it was told about to detect
// that case too. False (with a pending exception) for a bad value.
bool ReadExpectedParent(Isolate* isolate, Local<Value> value, pid_t* expected) {
  *expected = getppid();
  if (value->IsUndefined()) return true;
  double pid = 0;
  if (!ReadInteger(isolate, value, "expectedParentPid", 1, INT32_MAX, &pid)) {
    return false;
  }
  *expected = static_cast<pid_t>(pid);
  return true;
}

// setParentDeathSignal(signal, expectedParentPid?) -> parent still alive
void SetParentDeathSignal(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  double signal = 0;
  // 0 clears the setting; the kernel validates the upper bound (SIGRTMAX).
  if (!ReadInteger(isolate, args[0], "signal", 0, 64, &signal)) return;
  pid_t expected = 0;
  if (!ReadExpectedParent(isolate, args[1], &expected)) return;
  if (prctl(PR_SET_PDEATHSIG, static_cast<unsigned long>(signal), 0, 0, 0) !=
      0) {
    ThrowErrno(isolate, errno, "prctl(PR_SET_PDEATHSIG)",
               "setParentDeathSignal(" +
                   std::to_string(static_cast<int>(signal)) + ")");
    return;
  }
  // Checked after arming: if the parent died before prctl, no signal will
  // ever come, and this is the only way to find out.
  args.GetReturnValue().Set(Boolean::New(isolate, getppid() == expected));
}

// The parent-death signal of setGroupDeathSignal: it kills the caller's whole process group.
// A plain SIGKILL as the parent-death signal reaches the caller alone; its own children
// (reparented to init) would outlive a SIGKILLed host. Async-signal-safe, and native: it runs
// even while the process's JavaScript is stuck in a synchronous loop.
void KillOwnGroup(int) {
  kill(0, SIGKILL);
  _exit(137);
}

// setGroupDeathSignal(expectedParentPid?) -> parent still alive
// For a process that leads its own process group: when its parent dies, the whole group is
// SIGKILLed (a real-time signal with a native handler, armed as the parent-death signal).
void SetGroupDeathSignal(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  pid_t expected = 0;
  if (!ReadExpectedParent(isolate, args[0], &expected)) return;
  // kill(0, …) reaches the caller's group: never arm it for a process sharing a group with
  // others (its parent's, say), only for one that leads its own.
  if (getpgrp() != getpid()) {
    ThrowPlainError(isolate,
                    "setGroupDeathSignal: the caller does not lead its own process group");
    return;
  }
  const int signal = SIGRTMIN + 4;
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_handler = KillOwnGroup;
  sigemptyset(&action.sa_mask);
  if (sigaction(signal, &action, nullptr) != 0) {
    ThrowErrno(isolate, errno, "sigaction", "setGroupDeathSignal()");
    return;
  }
  if (prctl(PR_SET_PDEATHSIG, static_cast<unsigned long>(signal), 0, 0, 0) !=
      0) {
    ThrowErrno(isolate, errno, "prctl(PR_SET_PDEATHSIG)",
               "setGroupDeathSignal()");
    return;
  }
  args.GetReturnValue().Set(Boolean::New(isolate, getppid() == expected));
}

// seals(fd) -> bitmask of F_SEAL_* flags
void Seals(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  int fd = -1;
  if (!ReadFd(isolate, args[0], &fd)) return;
  int seals = 0;
  if (!GetSeals(isolate, fd, &seals)) return;
  args.GetReturnValue().Set(Integer::New(isolate, seals));
}

// The 4-aligned int32 word at byteOffset of a SharedArrayBuffer, or nullptr
// (with a JS exception) when the arguments do not name one.
int32_t* ReadWord(Isolate* isolate, Local<Value> buffer, Local<Value> offset,
                  const char* what) {
  if (!buffer->IsSharedArrayBuffer()) {
    ThrowTypeError(isolate, std::string(what) + ": buffer must be a SharedArrayBuffer");
    return nullptr;
  }
  std::shared_ptr<BackingStore> store =
      buffer.As<SharedArrayBuffer>()->GetBackingStore();
  const size_t length = store->ByteLength();
  if (length < 4) {
    ThrowRangeError(isolate, std::string(what) + ": buffer is too small");
    return nullptr;
  }
  double byteOffset = 0;
  if (!ReadInteger(isolate, offset, "byteOffset", 0,
                   static_cast<double>(length - 4), &byteOffset)) {
    return nullptr;
  }
  if (static_cast<uint64_t>(byteOffset) % 4 != 0) {
    ThrowRangeError(isolate, std::string(what) + ": byteOffset must be 4-aligned");
    return nullptr;
  }
  return reinterpret_cast<int32_t*>(static_cast<char*>(store->Data()) +
                                    static_cast<size_t>(byteOffset));
}

// The futex syscall whose timespec is this build's struct timespec: a 32-bit
// build with a 64-bit time_t (e.g. _TIME_BITS=64) must use futex_time64, or the
// kernel would read our 64-bit seconds as 32-bit fields.
#if defined(SYS_futex_time64)
constexpr long kFutexSyscall =
    sizeof(time_t) > sizeof(long) ? SYS_futex_time64 : SYS_futex;
#else
constexpr long kFutexSyscall = SYS_futex;
static_assert(sizeof(time_t) == sizeof(long),
              "a 64-bit time_t needs SYS_futex_time64 on this platform");
#endif

// Whether a futex call's optional last argument asks for a process-private
// futex (FUTEX_PRIVATE_FLAG): for threads of one process, the kernel keys the
// word by address in this mm instead of pinning its page to find the shared
// mapping (get_user_pages on every wait and wake). Both ends of a word must
// agree: a private wake never reaches a shared waiter, nor the reverse.
int FutexOp(const Local<Value>& processPrivate, int op) {
  return processPrivate->IsTrue() ? (op | FUTEX_PRIVATE_FLAG) : op;
}

// futexWait(sab, byteOffset, expected, timeoutMs, processPrivate?) -> 0 woken,
// 1 not-equal, 2 timed-out. Blocks the calling thread: for a plugin's own
// thread, never the host's. A signal (EINTR) counts as woken: the caller
// re-checks.
void FutexWait(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  int32_t* word = ReadWord(isolate, args[0], args[1], "futexWait");
  if (word == nullptr) return;
  double expected = 0;
  double timeoutMs = 0;
  if (!ReadInteger(isolate, args[2], "expected", INT32_MIN, INT32_MAX,
                   &expected)) {
    return;
  }
  if (!args[3]->IsNumber()) {
    ThrowTypeError(isolate, "timeoutMs must be a number");
    return;
  }
  timeoutMs = args[3].As<Number>()->Value();
  // Bounded by design: a sleeper must come back to run its event loop.
  if (!(timeoutMs >= 0) || timeoutMs > 60000) {
    ThrowRangeError(isolate, "timeoutMs must be between 0 and 60000");
    return;
  }
  const int64_t ns = static_cast<int64_t>(timeoutMs * 1e6);
  struct timespec ts {};
  ts.tv_sec = static_cast<time_t>(ns / 1000000000);
  ts.tv_nsec = static_cast<long>(ns % 1000000000);
  long rc = syscall(kFutexSyscall, word, FutexOp(args[4], FUTEX_WAIT),
                    static_cast<int32_t>(expected), &ts, nullptr, 0);
  int result = 0;
  if (rc != 0) {
    if (errno == EAGAIN) {
      result = 1;
    } else if (errno == ETIMEDOUT) {
      result = 2;
    } else if (errno != EINTR) {
      ThrowErrno(isolate, errno, "futex(FUTEX_WAIT)", "futexWait");
      return;
    }
  }
  args.GetReturnValue().Set(Integer::New(isolate, result));
}

// futexWake(sab, byteOffset, count, processPrivate?) -> waiters woken. Never
// blocks.
void FutexWake(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  int32_t* word = ReadWord(isolate, args[0], args[1], "futexWake");
  if (word == nullptr) return;
  double count = 0;
  if (!ReadInteger(isolate, args[2], "count", 1, INT32_MAX, &count)) return;
  long rc = syscall(SYS_futex, word, FutexOp(args[3], FUTEX_WAKE),
                    static_cast<int32_t>(count), nullptr, nullptr, 0);
  if (rc < 0) {
    ThrowErrno(isolate, errno, "futex(FUTEX_WAKE)", "futexWake");
    return;
  }
  args.GetReturnValue().Set(Integer::New(isolate, static_cast<int32_t>(rc)));
}

// schedYield() -> 0. Gives up the rest of this thread's time slice: on a core
// shared with a peer the caller just woke, the peer runs now instead of when
// the caller next sleeps. Never blocks; returns at once if nothing else is
// runnable.
void SchedYield(const FunctionCallbackInfo<Value>& args) {
  args.GetReturnValue().Set(Integer::New(args.GetIsolate(), sched_yield()));
}

// copyBytes(target, source) -> undefined. Copies every byte of the Uint8Array
// `source` into the Uint8Array `target` of the same length with memmove.
// Why: V8 copies into (or out of) a SharedArrayBuffer with a relaxed-atomic
// word loop (TypedArray#set takes it whenever either side is shared), 2-3x
// slower than libc's memmove from ~16 KiB to ~1 MiB and ~15 % slower at 33 MB;
// the runtime's one copy of a frame into its slot is that case. The caller owns
// the race rules: nobody else writes the target while it is copied (a slot
// handed to nobody yet), and a source rewritten meanwhile yields some mix of
// its bytes, as TypedArray#set would.
void CopyBytes(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (!args[0]->IsUint8Array() || !args[1]->IsUint8Array()) {
    ThrowTypeError(isolate, "copyBytes: target and source must be Uint8Arrays");
    return;
  }
  Local<Uint8Array> target = args[0].As<Uint8Array>();
  Local<Uint8Array> source = args[1].As<Uint8Array>();
  const size_t length = target->ByteLength();
  // A detached buffer reports length 0, so it can only match an empty source.
  if (source->ByteLength() != length) {
    ThrowRangeError(isolate, "copyBytes: target has " + std::to_string(length) +
                                 " bytes, source " +
                                 std::to_string(source->ByteLength()));
    return;
  }
  if (length == 0) return;
  char* to = static_cast<char*>(target->Buffer()->Data()) + target->ByteOffset();
  const char* from =
      static_cast<const char*>(source->Buffer()->Data()) + source->ByteOffset();
  // memmove: the two views may overlap (both of one buffer).
  std::memmove(to, from, length);
}

void SetFunction(Local<Context> context, Local<Object> target,
                 const char* name, FunctionCallback callback) {
  Isolate* isolate = context->GetIsolate();
  Local<Function> fn = Function::New(context, callback).ToLocalChecked();
  fn->SetName(Str(isolate, name));
  target->Set(context, Str(isolate, name), fn).Check();
}

void SetNumber(Local<Context> context, Local<Object> target, const char* name,
               double value) {
  Isolate* isolate = context->GetIsolate();
  target->Set(context, Str(isolate, name), Number::New(isolate, value))
      .Check();
}

}  // namespace

NODE_MODULE_INIT(/* exports, module, context */) {
  SetFunction(context, exports, "createSegment", CreateSegment);
  SetFunction(context, exports, "mapSegment", MapSegment);
  SetFunction(context, exports, "closeFd", CloseFd);
  SetFunction(context, exports, "discardMemory", DiscardMemory);
  SetFunction(context, exports, "adjustExternalMemory", AdjustExternalMemory);
  SetFunction(context, exports, "setParentDeathSignal", SetParentDeathSignal);
  SetFunction(context, exports, "setGroupDeathSignal", SetGroupDeathSignal);
  SetFunction(context, exports, "seals", Seals);
  SetFunction(context, exports, "futexWait", FutexWait);
  SetFunction(context, exports, "futexWake", FutexWake);
  SetFunction(context, exports, "schedYield", SchedYield);
  SetFunction(context, exports, "copyBytes", CopyBytes);

  Isolate* isolate = context->GetIsolate();
  Local<Object> constants = Object::New(isolate);
  SetNumber(context, constants, "F_SEAL_SEAL", F_SEAL_SEAL);
  SetNumber(context, constants, "F_SEAL_SHRINK", F_SEAL_SHRINK);
  SetNumber(context, constants, "F_SEAL_GROW", F_SEAL_GROW);
  SetNumber(context, constants, "F_SEAL_WRITE", F_SEAL_WRITE);
  SetNumber(context, constants, "MAX_SEGMENT_BYTES",
            static_cast<double>(kMaxSegmentBytes));
  SetNumber(context, constants, "PAGE_SIZE", static_cast<double>(PageSize()));
  constants->SetIntegrityLevel(context, IntegrityLevel::kFrozen).Check();
  exports->Set(context, Str(isolate, "constants"), constants).Check();
}
