// SPDX-License-Identifier: MIT
/*
 * mshv-sim: a TEST DOUBLE of the mainline Linux MSHV root driver (/dev/mshv), preloaded with
 * LD_PRELOAD.  It is built only for `make check`, never installed, and is not a backend: it
 * answers open/ioctl/mmap/close on the device path (MSHV_SIM_DEVICE, default /dev/mshv) the way
 * the mainline driver documented in ../shared/mshv-abi.md would, and runs the guest on the
 * project's software CPU engine (src/hv/emu), linked in.  Every other call goes straight to
 * libc.  See tests/mshv-sim/README.md for the semantics.
 *
 * This file: symbol interposition (including sigaction, so a signal interrupts MSHV_RUN_VP as it
 * interrupts the driver's ioctl), the fd -> object table and fault injection.
 */
#include "config.h"
#undef _FORTIFY_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sim.h"

/* The interposed symbols <fcntl.h> etc. do not declare. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

/* Exported so tests can tell the sim is loaded and change faults at run time. */
const char *mshv_sim_version(void);
int mshv_sim_set_fault(const char *spec);

typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*ioctl_fn)(int, unsigned long, ...);
typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);
typedef int (*close_fn)(int);
typedef int (*dup_fn)(int);
typedef int (*dup2_fn)(int, int);
typedef int (*dup3_fn)(int, int, int);
typedef int (*fcntl_fn)(int, int, ...);

static openat_fn real_openat;
static ioctl_fn real_ioctl_p;
static mmap_fn real_mmap_p;
static close_fn real_close_p;
static dup_fn real_dup;
static dup2_fn real_dup2;
static dup3_fn real_dup3;
static fcntl_fn real_fcntl;

static void *next_sym(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (!p) {
		fprintf(stderr, "mshv-sim: cannot resolve %s\n", name);
		abort();
	}
	return p;
}

#define RESOLVE(var, name) \
	do { if (!(var)) (var) = next_sym(name); } while (0)

int sim_real_ioctl(int fd, unsigned long req, void *arg)
{
	RESOLVE(real_ioctl_p, "ioctl");
	return real_ioctl_p(fd, req, arg);
}

int sim_real_close(int fd)
{
	RESOLVE(real_close_p, "close");
	return real_close_p(fd);
}

void *sim_real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	RESOLVE(real_mmap_p, "mmap");
	return real_mmap_p(addr, len, prot, flags, fd, off);
}

/* ---- signals: a handled signal interrupts MSHV_RUN_VP ----------------------------------------- */

/*
 * The driver's RUN_VP returns EINTR when a signal is pending; the engine runs in this thread in
 * user space, where a signal just runs its handler and returns.  So every handler the program
 * installs is wrapped: the wrapper kicks the engine vCPU this thread is running (the kick is
 * async-signal-safe and sticky until the run returns), then calls the program's handler.
 * SIG_DFL / SIG_IGN are installed as given.
 */
typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
static sigaction_fn real_sigaction;
static struct sigaction app_handlers[NSIG];
static pthread_mutex_t sig_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread struct emu_vcpu *running __attribute__((tls_model("initial-exec")));

void sim_set_running(struct emu_vcpu *v)
{
	__atomic_store_n(&running, v, __ATOMIC_SEQ_CST);
}

static void sig_wrapper(int sig, siginfo_t *si, void *uc)
{
	struct emu_vcpu *v = __atomic_load_n(&running, __ATOMIC_SEQ_CST);
	struct sigaction *a = &app_handlers[sig];

	if (v)
		emu_vcpu_kick(v);
	if (a->sa_flags & SA_SIGINFO) {
		if (a->sa_sigaction)
			a->sa_sigaction(sig, si, uc);
	} else if (a->sa_handler != SIG_DFL && a->sa_handler != SIG_IGN && a->sa_handler) {
		a->sa_handler(sig);
	}
}

static bool wrapped(const struct sigaction *a)
{
	return (a->sa_flags & SA_SIGINFO) ? a->sa_sigaction == sig_wrapper : false;
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *oldact)
{
	struct sigaction w, old, prev;
	int r;

	RESOLVE(real_sigaction, "sigaction");
	if (sig <= 0 || sig >= NSIG || !act || act->sa_handler == SIG_DFL || act->sa_handler == SIG_IGN) {
		/* SA_SIGINFO with a NULL-like sa_sigaction aliases SIG_DFL: same test. */
		r = real_sigaction(sig, act, &old);
		if (r == 0 && oldact)
			*oldact = sig > 0 && sig < NSIG && wrapped(&old) ? app_handlers[sig] : old;
		return r;
	}
	pthread_mutex_lock(&sig_lock);
	w = *act;
	w.sa_flags |= SA_SIGINFO;
	w.sa_sigaction = sig_wrapper;
	/* The wrapper reads the table: publish the handler before installing the wrapper. */
	old = app_handlers[sig];
	app_handlers[sig] = *act;
	r = real_sigaction(sig, &w, &prev);
	if (r < 0)
		app_handlers[sig] = old;
	else if (oldact)
		*oldact = wrapped(&prev) ? old : prev;
	pthread_mutex_unlock(&sig_lock);
	return r;
}

sighandler_t signal(int sig, sighandler_t handler)
{
	struct sigaction a, old;

	memset(&a, 0, sizeof(a));
	a.sa_handler = handler;
	a.sa_flags = SA_RESTART;	/* BSD semantics, as glibc's signal() */
	sigemptyset(&a.sa_mask);
	if (sigaction(sig, &a, &old) < 0)
		return SIG_ERR;
	return (old.sa_flags & SA_SIGINFO) ? (sighandler_t)(void *)old.sa_sigaction : old.sa_handler;
}

int sim_copy_in(void *dst, const void *usrc, size_t n)
{
	struct iovec local = { dst, n }, remote = { (void *)usrc, n };

	if (!n)
		return 0;
	if (!usrc)
		return -EFAULT;
	return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)n ? 0 : -EFAULT;
}

int sim_copy_out(void *udst, const void *src, size_t n)
{
	struct iovec local = { (void *)src, n }, remote = { udst, n };

	if (!n)
		return 0;
	if (!udst)
		return -EFAULT;
	return process_vm_writev(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)n ? 0 : -EFAULT;
}

/* ---- fd table ------------------------------------------------------------------------------ */

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sim_file **table;
static size_t table_size;
static atomic_int table_used;	/* fast path: no sim fd ever existed */

static struct sim_file *file_get(int fd)
{
	struct sim_file *f = NULL;

	if (fd < 0 || !atomic_load(&table_used))
		return NULL;
	pthread_mutex_lock(&table_lock);
	if ((size_t)fd < table_size && table[fd]) {
		f = table[fd];
		atomic_fetch_add(&f->refs, 1);
	}
	pthread_mutex_unlock(&table_lock);
	return f;
}

static void file_put(struct sim_file *f)
{
	if (!f || atomic_fetch_sub(&f->refs, 1) != 1)
		return;
	if (f->kind == SIM_PT)
		sim_pt_unref(f->obj);
	else if (f->kind == SIM_VP)
		sim_vp_unref(f->obj);
	free(f);
}

static int table_set(int fd, struct sim_file *f)
{
	if ((size_t)fd >= table_size) {
		size_t n = table_size ? table_size : 256;
		struct sim_file **t;

		while (n <= (size_t)fd)
			n *= 2;
		t = realloc(table, n * sizeof(*t));
		if (!t)
			return -ENOMEM;
		memset(t + table_size, 0, (n - table_size) * sizeof(*t));
		table = t;
		table_size = n;
	}
	table[fd] = f;
	atomic_store(&table_used, 1);
	return 0;
}

/* Remove fd from the table; returns the file (with the table's reference) or NULL. */
static struct sim_file *table_take(int fd)
{
	struct sim_file *f = NULL;

	if (fd < 0 || !atomic_load(&table_used))
		return NULL;
	pthread_mutex_lock(&table_lock);
	if ((size_t)fd < table_size) {
		f = table[fd];
		table[fd] = NULL;
	}
	pthread_mutex_unlock(&table_lock);
	return f;
}

/*
 * Create a sim fd: a real memfd (so close/poll/fcntl/fstat behave like a file) registered in
 * the table.  VP fds are two pages long: the register page and the intercept message page.
 */
int sim_fd_new(enum sim_kind kind, void *obj, bool cloexec, int memfd)
{
	struct sim_file *f;
	int fd = memfd, r;

	if (fd < 0) {
		fd = memfd_create(kind == SIM_DEV ? "mshv-sim-dev" : "mshv-sim-partition",
				  cloexec ? MFD_CLOEXEC : 0);
		if (fd < 0)
			return -errno;
	} else if (!cloexec) {
		RESOLVE(real_fcntl, "fcntl");
		real_fcntl(fd, F_SETFD, 0);
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		sim_real_close(fd);
		return -ENOMEM;
	}
	atomic_init(&f->refs, 1);
	f->kind = kind;
	f->obj = obj;
	pthread_mutex_lock(&table_lock);
	r = table_set(fd, f);
	pthread_mutex_unlock(&table_lock);
	if (r < 0) {
		free(f);
		sim_real_close(fd);
		return r;
	}
	return fd;
}

/* ---- fault injection --------------------------------------------------------------------------- */

struct fault_rule {
	bool hvcall;		/* else ioctl */
	unsigned long what;	/* request number or hypercall code */
	unsigned nth;		/* 1-based index of the first failing match */
	unsigned count;		/* failing matches from nth on; 0 = all */
	int err;		/* errno for ioctl rules */
	uint16_t status;	/* HV status for hvcall rules */
	unsigned seen;
};

#define MAX_FAULTS 16
static pthread_mutex_t fault_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fault_rule faults[MAX_FAULTS];
static size_t nfaults;

static int parse_rule(char *s, struct fault_rule *r)
{
	char *save = NULL, *tok;
	bool have_what = false;

	memset(r, 0, sizeof(*r));
	r->nth = 1;
	r->count = 1;
	r->err = EIO;
	r->status = HV_STATUS_OPERATION_FAILED;
	for (tok = strtok_r(s, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
		char *eq = strchr(tok, '='), *end;
		unsigned long v;

		if (!eq)
			return -EINVAL;
		*eq++ = '\0';
		v = strtoul(eq, &end, 0);
		if (*end)
			return -EINVAL;
		if (!strcmp(tok, "ioctl")) {
			r->hvcall = false;
			r->what = v;
			have_what = true;
		} else if (!strcmp(tok, "hvcall")) {
			r->hvcall = true;
			r->what = v;
			have_what = true;
		} else if (!strcmp(tok, "nth")) {
			r->nth = (unsigned)v;
		} else if (!strcmp(tok, "count")) {
			r->count = (unsigned)v;
		} else if (!strcmp(tok, "errno")) {
			r->err = (int)v;
		} else if (!strcmp(tok, "status")) {
			r->status = (uint16_t)v;
		} else {
			return -EINVAL;
		}
	}
	return r->nth && have_what ? 0 : -EINVAL;
}

/*
 * Replace the fault rules.  spec: rules separated by ',' or ';', each a ':'-separated list of
 * key=value with keys ioctl|hvcall (required), nth (default 1), count (default 1, 0 = forever),
 * errno (ioctl rules, default EIO), status (hvcall rules, default HV_STATUS_OPERATION_FAILED).
 * NULL or "" clears.  Returns 0 or -EINVAL (rules unchanged).  Thread: any.
 */
int mshv_sim_set_fault(const char *spec)
{
	struct fault_rule rules[MAX_FAULTS];
	char *copy, *save = NULL, *tok;
	size_t n = 0;
	int r = 0;

	copy = strdup(spec ? spec : "");
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",;", &save); tok; tok = strtok_r(NULL, ",;", &save)) {
		if (n == MAX_FAULTS || parse_rule(tok, &rules[n]) < 0) {
			r = -EINVAL;
			break;
		}
		n++;
	}
	free(copy);
	if (r < 0)
		return r;
	pthread_mutex_lock(&fault_lock);
	memcpy(faults, rules, n * sizeof(*rules));
	nfaults = n;
	pthread_mutex_unlock(&fault_lock);
	return 0;
}

static bool fault_hit(struct fault_rule *r)
{
	unsigned k = ++r->seen;

	return k >= r->nth && (r->count == 0 || k < r->nth + r->count);
}

int sim_fault_ioctl(unsigned long req)
{
	int err = 0;

	pthread_mutex_lock(&fault_lock);
	for (size_t i = 0; i < nfaults; i++)
		if (!faults[i].hvcall && faults[i].what == req && fault_hit(&faults[i]) && !err)
			err = -faults[i].err;
	pthread_mutex_unlock(&fault_lock);
	return err;
}

int sim_fault_hvcall(uint16_t code, uint16_t *ret_status)
{
	int hit = 0;

	pthread_mutex_lock(&fault_lock);
	for (size_t i = 0; i < nfaults; i++)
		if (faults[i].hvcall && faults[i].what == code && fault_hit(&faults[i]) && !hit) {
			*ret_status = faults[i].status;
			hit = 1;
		}
	pthread_mutex_unlock(&fault_lock);
	return hit;
}

int sim_hv_status_to_errno(uint16_t status)
{
	switch (status) {
	case HV_STATUS_SUCCESS:
		return 0;
	case HV_STATUS_INVALID_HYPERCALL_CODE:
	case HV_STATUS_INVALID_HYPERCALL_INPUT:
	case HV_STATUS_INVALID_PARAMETER:
	case HV_STATUS_INVALID_PARTITION_ID:
	case HV_STATUS_INVALID_VP_INDEX:
	case HV_STATUS_INVALID_PORT_ID:
	case HV_STATUS_INVALID_CONNECTION_ID:
	case HV_STATUS_INVALID_LP_INDEX:
	case HV_STATUS_INVALID_REGISTER_VALUE:
		return -EINVAL;
	case HV_STATUS_INSUFFICIENT_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

const char *mshv_sim_version(void)
{
	return "mshv-sim 2 (mainline MSHV root driver test double on the emu engine)";
}

__attribute__((constructor)) static void sim_init(void)
{
	const char *spec = getenv("MSHV_SIM_FAULT");

	if (spec && mshv_sim_set_fault(spec) < 0)
		fprintf(stderr, "mshv-sim: ignoring malformed MSHV_SIM_FAULT \"%s\"\n", spec);
}

/* ---- open ---------------------------------------------------------------------------------------- */

static bool is_device(int dirfd, const char *path)
{
	const char *dev = getenv("MSHV_SIM_DEVICE");

	if (!path)
		return false;
	if (!dev || !*dev)
		dev = "/dev/mshv";
	return (path[0] == '/' || dirfd == AT_FDCWD) && strcmp(path, dev) == 0;
}

static int open_device(int flags)
{
	int r;

	r = sim_fd_new(SIM_DEV, NULL, flags & O_CLOEXEC, -1);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

static int do_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	if (is_device(dirfd, path))
		return open_device(flags);
	RESOLVE(real_openat, "openat");
	return real_openat(dirfd, path, flags, mode);
}

#define OPEN_MODE(flags, mode) \
	do { \
		if ((flags) & (O_CREAT | O_TMPFILE)) { \
			va_list ap; \
			va_start(ap, flags); \
			mode = va_arg(ap, mode_t); \
			va_end(ap); \
		} \
	} while (0)

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	return do_openat(AT_FDCWD, path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	return do_openat(AT_FDCWD, path, flags | O_LARGEFILE, mode);
}

int __open_2(const char *path, int flags)
{
	return do_openat(AT_FDCWD, path, flags, 0);
}

int __open64_2(const char *path, int flags)
{
	return do_openat(AT_FDCWD, path, flags | O_LARGEFILE, 0);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	return do_openat(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	return do_openat(dirfd, path, flags | O_LARGEFILE, mode);
}

int __openat_2(int dirfd, const char *path, int flags)
{
	return do_openat(dirfd, path, flags, 0);
}

int __openat64_2(int dirfd, const char *path, int flags)
{
	return do_openat(dirfd, path, flags | O_LARGEFILE, 0);
}

/* ---- ioctl / mmap / close / dup ---------------------------------------------------------------- */

/* Requests the VFS answers before any driver sees them. */
static bool vfs_ioctl(unsigned long req)
{
	return req == FIOCLEX || req == FIONCLEX || req == FIONBIO || req == FIOASYNC ||
	       req == FIOQSIZE;
}

int ioctl(int fd, unsigned long req, ...)
{
	struct sim_file *f;
	va_list ap;
	void *arg;
	int r, newfd = -1;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);

	f = file_get(fd);
	if (!f || vfs_ioctl(req)) {
		file_put(f);
		return sim_real_ioctl(fd, req, arg);
	}

	r = sim_fault_ioctl(req);
	if (r == 0) {
		switch (f->kind) {
		case SIM_DEV:
			r = sim_dev_ioctl(req, arg, &newfd);
			break;
		case SIM_PT:
			r = sim_pt_ioctl(f->obj, req, arg, &newfd);
			break;
		case SIM_VP:
			r = sim_vp_ioctl(f->obj, req, arg);
			break;
		}
	}
	file_put(f);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return newfd >= 0 ? newfd : r;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct sim_file *f = file_get(fd);
	int r = 0;

	if (!f)
		return sim_real_mmap(addr, len, prot, flags, fd, off);
	if (f->kind != SIM_VP)
		r = -ENODEV;
	else
		r = sim_vp_mmap_check(f->obj, len, off);
	file_put(f);
	if (r < 0) {
		errno = -r;
		return MAP_FAILED;
	}
	/* The VP fd is the memfd holding both pages: the mapping is the real shared page. */
	return sim_real_mmap(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}

int close(int fd)
{
	struct sim_file *f = table_take(fd);
	int r = sim_real_close(fd);

	file_put(f);
	return r;
}

/* The new fd refers to the same object, like a dup of a real driver fd. */
static int dup_done(int oldfd, int newfd)
{
	struct sim_file *f, *old;

	if (newfd < 0)
		return newfd;
	old = table_take(newfd);	/* dup2/dup3 closed whatever newfd was */
	file_put(old);
	f = file_get(oldfd);
	if (f) {
		pthread_mutex_lock(&table_lock);
		if (table_set(newfd, f) < 0)
			file_put(f);
		pthread_mutex_unlock(&table_lock);
	}
	return newfd;
}

int dup(int fd)
{
	RESOLVE(real_dup, "dup");
	return dup_done(fd, real_dup(fd));
}

int dup2(int fd, int fd2)
{
	RESOLVE(real_dup2, "dup2");
	if (fd == fd2)
		return real_dup2(fd, fd2);
	return dup_done(fd, real_dup2(fd, fd2));
}

int dup3(int fd, int fd2, int flags)
{
	RESOLVE(real_dup3, "dup3");
	return dup_done(fd, real_dup3(fd, fd2, flags));
}

static int do_fcntl(int fd, int cmd, void *arg)
{
	RESOLVE(real_fcntl, "fcntl");
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		return dup_done(fd, real_fcntl(fd, cmd, arg));
	return real_fcntl(fd, cmd, arg);
}

int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return do_fcntl(fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return do_fcntl(fd, cmd, arg);
}
