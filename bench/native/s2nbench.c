/* s2nbench: the native C side of the binding's benchmark suite.
 *
 * It links the very libs2n.a and libcrypto.a the Go binding links
 * (third_party/dist/<mode>) and does, in C, exactly the work the Go
 * benchmarks in bench/ do through the binding, so that every ratio
 * binding/native compares like with like:
 *
 *   - client and server in one process, one thread (except the "offthread"
 *     variant, where a second thread performs the key operation);
 *   - the same transport: a non-blocking AF_UNIX socketpair handed to s2n with
 *     s2n_connection_set_fd (the binding has no custom I/O callbacks), or,
 *     for reference only, in-memory buffers behind s2n's I/O callbacks (-x mem);
 *   - the same allocator: by default the one the binding installs (plain
 *     malloc, OPENSSL_cleanse before free, live counters), or s2n's own
 *     default (mlock'ed pages) with -a s2n, for reference;
 *   - a fresh pair of connections per handshake ("reuse": one pair, wiped).
 *
 * Output: the Go benchmark format (what `go test -bench` prints), under the
 * names of the Go benchmarks that do the same work, so that the same parser
 * (golang.org/x/perf/benchfmt, in bench/report) reads both sides:
 *   impl: native
 *   BenchmarkHandshake/ecdsa/tls13/none  3094  323193.2 ns/op  3094.2 handshakes/s  3120.7 handshakes/cpu-s
 *   BenchmarkBulk/16KiB  26590  6270.4 ns/op  2612.9 MB/s  2630.1 MB/cpu-s
 * "impl" is a configuration line of that format: native, or native-mem and
 * native-s2nalloc (and native-mem-s2nalloc) for the references below. The
 * /s rates are per wall-clock second; the /cpu-s rates per second of CPU
 * time used by the whole process (getrusage), steadier on a shared machine.
 * Lines starting with '#' say what was negotiated and the settings; the
 * format's readers ignore them.
 *
 * Usage: s2nbench -c CERTDIR [-t SECONDS | -n COUNT] [-w WARMUP_SECONDS]
 *                 [-x socketpair|mem] [-a binding|s2n] [-f FILTER] [-l]
 * CERTDIR holds ecdsa.crt, ecdsa.key, rsa.crt, rsa.key (PEM, self-signed for
 * "localhost"). FILTER is a comma-separated list of substrings of names.
 */
#define _GNU_SOURCE
#include <sys/resource.h>

/* The driver's allocator and its banner use libcrypto (OPENSSL_cleanse,
 * OpenSSL_version): the headers of the build mode's libcrypto, from
 * third_party/dist/<mode>/include. core.h needs only s2n.h. */
#include <openssl/crypto.h>

#include "core.h"

static double opt_seconds = 1.0;
static long opt_count; /* > 0: exactly this many measured ops instead of opt_seconds */
static double opt_warmup = 0.2;
static const char *opt_certdir;
static const char *opt_filter;
static bool opt_mem_transport;
static bool opt_s2n_alloc;
static bool opt_list;

/* ---- the binding's allocator, so that native and binding allocate alike ---- */

static _Atomic int64_t live_allocations;
static _Atomic int64_t live_bytes;

static int mem_init(void)
{
    return S2N_SUCCESS;
}

static int mem_cleanup(void)
{
    return S2N_SUCCESS;
}

static int mem_malloc(void **ptr, uint32_t requested, uint32_t *allocated)
{
    void *p = malloc(requested ? requested : 1);
    if (p == NULL) {
        return S2N_FAILURE;
    }
    *ptr = p;
    *allocated = requested;
    atomic_fetch_add_explicit(&live_allocations, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&live_bytes, requested, memory_order_relaxed);
    return S2N_SUCCESS;
}

static int mem_free(void *ptr, uint32_t size)
{
    if (ptr == NULL) {
        return S2N_SUCCESS;
    }
    OPENSSL_cleanse(ptr, size);
    free(ptr);
    atomic_fetch_sub_explicit(&live_allocations, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&live_bytes, size, memory_order_relaxed);
    return S2N_SUCCESS;
}

/* ---- time ---- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* CPU time of the whole process (every thread), in seconds: on a shared
 * machine, work per CPU-second is steadier than work per wall second. */
static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6 + (double) ru.ru_stime.tv_sec
            + (double) ru.ru_stime.tv_usec / 1e6;
}

/* Whether a measurement has run long enough: opt_count ops if given (after
 * the warm-up), else opt_seconds. */
static bool done_measuring(long n, double elapsed)
{
    return opt_count > 0 ? n >= opt_count : elapsed >= opt_seconds;
}

/* ---- certificates ---- */

static uint8_t *read_file(const char *name, uint32_t *len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", opt_certdir, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "s2nbench: open %s: %s\n", path, strerror(errno));
        exit(1);
    }
    uint8_t *buf = malloc(1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    fclose(f);
    buf[n] = 0;
    *len = (uint32_t) n;
    return buf;
}

static void keypair_load(struct keypair *k, const char *name)
{
    char file[64];
    uint8_t *cert, *key;
    uint32_t cert_len, key_len;
    snprintf(file, sizeof(file), "%s.crt", name);
    cert = read_file(file, &cert_len);
    snprintf(file, sizeof(file), "%s.key", name);
    key = read_file(file, &key_len);
    keypair_init(k, name, cert, cert_len, key, key_len);
}

/* ---- measurements ---- */

static bool selected(const char *name)
{
    if (opt_filter == NULL || *opt_filter == 0) {
        return true;
    }
    const char *f = opt_filter;
    while (*f) {
        const char *end = strchr(f, ',');
        size_t len = end ? (size_t) (end - f) : strlen(f);
        if (len > 0) {
            char sub[256];
            if (len >= sizeof(sub)) {
                len = sizeof(sub) - 1;
            }
            memcpy(sub, f, len);
            sub[len] = 0;
            if (strstr(name, sub) != NULL) {
                return true;
            }
        }
        if (end == NULL) {
            break;
        }
        f = end + 1;
    }
    return false;
}

/* A comment line saying what was negotiated. */
static void describe(const char *name, struct s2n_connection *conn)
{
    const char *group = "none";
    if (s2n_connection_get_key_exchange_group(conn, &group) < 0) {
        group = "none";
    }
    s2n_tls_signature_algorithm sig = S2N_TLS_SIGNATURE_ANONYMOUS;
    s2n_connection_get_selected_signature_algorithm(conn, &sig);
    printf("# %s: %s %s group %s sigalg %d\n", name, s2n_connection_get_cipher(conn),
            s2n_connection_get_actual_protocol_version(conn) == S2N_TLS13 ? "TLS1.3" : "TLS1.2", group, (int) sig);
}

/* What measure() counted: ops after the warm-up, their wall and CPU time. */
struct measured {
    long n;
    double wall, cpu;
};

/* Runs op (which does per_call ops) until the warm-up has passed, then
 * counts until done_measuring. */
static struct measured measure(void (*op)(void *), void *arg, long per_call)
{
    double warm_end = now() + opt_warmup;
    while (now() < warm_end) {
        op(arg);
    }
    struct measured m = { 0 };
    double start = now(), cpu_start = cpu_now(), tnow;
    do {
        op(arg);
        m.n += per_call;
        tnow = now();
    } while (!done_measuring(m.n, tnow - start));
    m.wall = tnow - start;
    m.cpu = cpu_now() - cpu_start;
    return m;
}

/* A transport and the two configs of one benchmark. */
struct bench_env {
    struct transport t;
    struct pair p;
    enum cb_mode cb;
};

static void env_open(struct bench_env *e, struct keypair *k, const char *policy, enum cb_mode cb)
{
    transport_init(&e->t, opt_mem_transport);
    e->p = (struct pair) { .t = &e->t };
    e->p.server_cfg = server_config(k, policy, cb);
    e->p.client_cfg = client_config(k, policy);
    e->cb = cb;
}

static void env_close(struct bench_env *e)
{
    S2N_CHECK(s2n_config_free(e->p.server_cfg));
    S2N_CHECK(s2n_config_free(e->p.client_cfg));
    transport_free(&e->t);
}

/* One result line of the Go benchmark format: the name, the ops measured,
 * ns/op, and the rates of per_op units per op. */
static void print_result(const char *name, struct measured m, double per_op, const char *unit)
{
    printf("%s\t%ld\t%.1f ns/op\t%.1f %s/s\t%.1f %s/cpu-s\n", name, m.n, m.wall * 1e9 / (double) m.n,
            (double) m.n * per_op / m.wall, unit, (double) m.n * per_op / m.cpu, unit);
    fflush(stdout);
}

/* The name of a benchmark if it is to run: NULL when filtered out, or when
 * it was only listed (-l). */
static const char *wanted(char *name)
{
    if (!selected(name)) {
        return NULL;
    }
    if (opt_list) {
        puts(name);
        return NULL;
    }
    return name;
}

static void handshake_op(void *arg)
{
    struct bench_env *e = arg;
    one_handshake(&e->p, e->cb);
}

static void bench_handshake(struct keypair *k, const char *vname, const char *policy, enum cb_mode cb)
{
    char name[128];
    snprintf(name, sizeof(name), "BenchmarkHandshake/%s/%s/%s", k->name, vname, cb_names[cb]);
    if (wanted(name) == NULL) {
        return;
    }
    if (cb == CB_OFFTHREAD) {
        worker_start();
    }
    struct bench_env e;
    env_open(&e, k, policy, cb);
    /* A first handshake, to say what was negotiated; it counts as warm-up.
     * CB_REUSE keeps this pair for the whole run. */
    pair_new(&e.p);
    handshake(&e.p, cb);
    describe(name, e.p.server);
    if (cb == CB_REUSE) {
        pair_wipe(&e.p);
    } else {
        pair_free(&e.p);
    }
    struct measured m = measure(handshake_op, &e, 1);
    if (cb == CB_REUSE) {
        pair_free(&e.p);
    }
    print_result(name, m, 1, "handshakes");
    env_close(&e);
}

struct bulk_arg {
    struct pair *p;
    uint8_t *buf, *rbuf;
    size_t size;
};

static void bulk_op(void *arg)
{
    struct bulk_arg *b = arg;
    transfer(b->p, b->buf, b->size, b->rbuf, RECV_BUF);
}

static void bench_bulk(struct keypair *k, const char *label, size_t size)
{
    char name[128];
    snprintf(name, sizeof(name), "BenchmarkBulk/%s", label);
    if (wanted(name) == NULL) {
        return;
    }
    struct bench_env e;
    env_open(&e, k, POLICY_TLS13, CB_NONE);
    pair_new(&e.p);
    handshake(&e.p, CB_NONE);
    describe(name, e.p.server);

    struct bulk_arg b = { .p = &e.p, .buf = malloc(size), .rbuf = malloc(RECV_BUF), .size = size };
    if (b.buf == NULL || b.rbuf == NULL) {
        die("malloc");
    }
    memset(b.buf, 'x', size);
    print_result(name, measure(bulk_op, &b, 1), (double) size / 1e6, "MB");
    free(b.buf);
    free(b.rbuf);
    pair_free(&e.p);
    env_close(&e);
}

struct call_arg {
    struct s2n_connection *conn;
    bool getter;
    volatile int sink;
};

/* 1000 calls of the kind measured. */
static void call_op(void *arg)
{
    struct call_arg *c = arg;
    uint8_t rbuf[RECV_BUF];
    for (int i = 0; i < 1000; i++) {
        if (c->getter) {
            c->sink += s2n_connection_get_actual_protocol_version(c->conn);
        } else {
            s2n_blocked_status blocked;
            ssize_t r = s2n_recv(c->conn, rbuf, sizeof(rbuf), &blocked);
            if (r >= 0 || s2n_error_get_type(s2n_errno) != S2N_ERR_T_BLOCKED) {
                die_s2n("s2n_recv on an empty socket", __LINE__);
            }
        }
    }
}

/* Per-call costs, to put a number on what one crossing of the binding adds:
 * "BenchmarkCall/getter" is a call that does almost nothing
 * (s2n_connection_get_actual_protocol_version), "BenchmarkCall/recv-blocked" an
 * s2n_recv on an empty socket (one read(2) that fails with EAGAIN, and the
 * blocked error). */
static void bench_call(struct keypair *k, const char *label)
{
    char name[128];
    snprintf(name, sizeof(name), "BenchmarkCall/%s", label);
    if (wanted(name) == NULL) {
        return;
    }
    struct bench_env e;
    env_open(&e, k, POLICY_TLS13, CB_NONE);
    pair_new(&e.p);
    handshake(&e.p, CB_NONE);
    struct call_arg c = { .conn = e.p.server, .getter = strcmp(label, "getter") == 0 };
    print_result(name, measure(call_op, &c, 1000), 1, "calls");
    pair_free(&e.p);
    env_close(&e);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: s2nbench -c CERTDIR [-t SECONDS | -n COUNT] [-w WARMUP] [-x socketpair|mem] [-a binding|s2n] [-f FILTER] [-l]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int opt;
    while ((opt = getopt(argc, argv, "c:t:n:w:x:a:f:l")) != -1) {
        switch (opt) {
        case 'c':
            opt_certdir = optarg;
            break;
        case 't':
            opt_seconds = atof(optarg);
            break;
        case 'n':
            opt_count = atol(optarg);
            break;
        case 'w':
            opt_warmup = atof(optarg);
            break;
        case 'x':
            if (strcmp(optarg, "mem") == 0) {
                opt_mem_transport = true;
            } else if (strcmp(optarg, "socketpair") != 0) {
                usage();
            }
            break;
        case 'a':
            if (strcmp(optarg, "s2n") == 0) {
                opt_s2n_alloc = true;
            } else if (strcmp(optarg, "binding") != 0) {
                usage();
            }
            break;
        case 'f':
            opt_filter = optarg;
            break;
        case 'l':
            opt_list = true;
            break;
        default:
            usage();
        }
    }
    if (opt_certdir == NULL && !opt_list) {
        usage();
    }
    if (opt_seconds <= 0) {
        usage();
    }

    if (!opt_s2n_alloc) {
        S2N_CHECK(s2n_mem_set_callbacks(mem_init, mem_cleanup, mem_malloc, mem_free));
    }
    S2N_CHECK(s2n_init());
    if (!opt_list) {
        char length[64];
        if (opt_count > 0) {
            snprintf(length, sizeof(length), "%ld ops", opt_count);
        } else {
            snprintf(length, sizeof(length), "%.2f s", opt_seconds);
        }
        printf("# s2nbench: %s, transport %s, allocator %s, %s per measurement after %.2f s warm-up\n",
                OpenSSL_version(OPENSSL_VERSION), opt_mem_transport ? "mem" : "socketpair",
                opt_s2n_alloc ? "s2n" : "binding", length, opt_warmup);
        printf("impl: native%s%s\n", opt_mem_transport ? "-mem" : "", opt_s2n_alloc ? "-s2nalloc" : "");
    }

    struct keypair keys[2] = { 0 };
    if (!opt_list) {
        keypair_load(&keys[0], "ecdsa");
        keypair_load(&keys[1], "rsa");
    } else {
        keys[0].name = "ecdsa";
        keys[1].name = "rsa";
    }
    const char *vnames[] = { "tls13", "tls12" };
    const char *policies[] = { POLICY_TLS13, POLICY_TLS12 };
    for (int ki = 0; ki < 2; ki++) {
        for (int vi = 0; vi < 2; vi++) {
            for (int cb = CB_NONE; cb <= CB_REUSE; cb++) {
                bench_handshake(&keys[ki], vnames[vi], policies[vi], (enum cb_mode) cb);
            }
        }
    }
    bench_bulk(&keys[0], "1KiB", 1024);
    bench_bulk(&keys[0], "16KiB", 16 * 1024);
    bench_bulk(&keys[0], "1MiB", 1024 * 1024);
    bench_call(&keys[0], "getter");
    bench_call(&keys[0], "recv-blocked");

    worker_stop();
    if (!opt_list) {
        for (int ki = 0; ki < 2; ki++) {
            S2N_CHECK(s2n_cert_chain_and_key_free(keys[ki].chain));
            free(keys[ki].cert_pem);
            free(keys[ki].key_pem);
        }
    }
    S2N_CHECK(s2n_cleanup_final());
    return 0;
}
