/* The work of the native side of the benchmark suite, shared by the
 * standalone driver (s2nbench.c) and by the in-process comparison in the Go
 * package bench (inproc.c), which includes this file: configs, connection
 * pairs over a socketpair (or in-memory pipes), the handshake loop with its
 * async private-key variants, and the bulk transfer loop. Each mirrors, call
 * for call, what bench_test.go does through the binding.
 *
 * Everything is static: include this file once per program. */
#ifndef S2N_BENCH_CORE_H
#define S2N_BENCH_CORE_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <s2n.h>


#define POLICY_TLS13 "default_tls13"
#define POLICY_TLS12 "ELBSecurityPolicy-TLS-1-2-Ext-2018-06"

/* ---- errors ---- */

static void die_s2n(const char *what, int line)
{
    int err = s2n_errno;
    fprintf(stderr, "s2nbench:%d: %s failed: %s: %s (%s)\n", line, what, s2n_strerror_name(err), s2n_strerror(err, "EN"),
            s2n_strerror_debug(err, "EN"));
    exit(1);
}

#define S2N_CHECK(x)                \
    do {                            \
        if ((x) < 0) {              \
            die_s2n(#x, __LINE__);  \
        }                           \
    } while (0)

#define S2N_CHECK_PTR(x)                \
    do {                                \
        if ((x) == NULL) {              \
            die_s2n(#x, __LINE__);      \
        }                               \
    } while (0)

static void die(const char *msg)
{
    fprintf(stderr, "s2nbench: %s: %s\n", msg, strerror(errno));
    exit(1);
}


/* ---- transport ---- */

/* An in-memory byte pipe, one per direction (-x mem only). */
struct pipe {
    uint8_t *buf;
    size_t r, w, cap;
};

static int pipe_recv(void *ctx, uint8_t *buf, uint32_t len)
{
    struct pipe *p = ctx;
    size_t avail = p->w - p->r;
    if (avail == 0) {
        errno = EAGAIN;
        return -1;
    }
    size_t n = len < avail ? len : avail;
    memcpy(buf, p->buf + p->r, n);
    p->r += n;
    if (p->r == p->w) {
        p->r = p->w = 0;
    }
    return (int) n;
}

static int pipe_send(void *ctx, const uint8_t *buf, uint32_t len)
{
    struct pipe *p = ctx;
    if (p->cap - p->w < len) {
        if (p->r > 0) {
            memmove(p->buf, p->buf + p->r, p->w - p->r);
            p->w -= p->r;
            p->r = 0;
        }
        if (p->cap - p->w < len) {
            size_t cap = p->cap ? p->cap : 65536;
            while (cap - p->w < len) {
                cap *= 2;
            }
            p->buf = realloc(p->buf, cap);
            if (p->buf == NULL) {
                die("realloc");
            }
            p->cap = cap;
        }
    }
    memcpy(p->buf + p->w, buf, len);
    p->w += len;
    return (int) len;
}

/* The transport between one client and one server connection. */
struct transport {
    bool mem;   /* in-memory pipes instead of the socketpair */
    int fds[2]; /* server's, client's */
    struct pipe c2s, s2c;
};

static void transport_init(struct transport *t, bool mem)
{
    memset(t, 0, sizeof(*t));
    t->mem = mem;
    if (mem) {
        return;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, t->fds) < 0) {
        die("socketpair");
    }
    for (int i = 0; i < 2; i++) {
        int fl = fcntl(t->fds[i], F_GETFL);
        if (fl < 0 || fcntl(t->fds[i], F_SETFL, fl | O_NONBLOCK) < 0) {
            die("fcntl O_NONBLOCK");
        }
    }
}

static void transport_free(struct transport *t)
{
    if (!t->mem) {
        close(t->fds[0]);
        close(t->fds[1]);
    }
    free(t->c2s.buf);
    free(t->s2c.buf);
}

static void transport_attach(struct transport *t, struct s2n_connection *conn, s2n_mode mode)
{
    if (!t->mem) {
        S2N_CHECK(s2n_connection_set_fd(conn, t->fds[mode == S2N_SERVER ? 0 : 1]));
        return;
    }
    struct pipe *in = mode == S2N_SERVER ? &t->c2s : &t->s2c;
    struct pipe *out = mode == S2N_SERVER ? &t->s2c : &t->c2s;
    S2N_CHECK(s2n_connection_set_recv_cb(conn, pipe_recv));
    S2N_CHECK(s2n_connection_set_send_cb(conn, pipe_send));
    S2N_CHECK(s2n_connection_set_recv_ctx(conn, in));
    S2N_CHECK(s2n_connection_set_send_ctx(conn, out));
}


/* ---- certificates ---- */

struct keypair {
    const char *name; /* "ecdsa" or "rsa" */
    uint8_t *cert_pem, *key_pem;
    uint32_t cert_len, key_len;
    struct s2n_cert_chain_and_key *chain;
};


/* Loads a PEM chain and key; s2n keeps its own copy, the PEM is kept for the
 * client's trust store. */
static void keypair_init(struct keypair *k, const char *name, uint8_t *cert_pem, uint32_t cert_len, uint8_t *key_pem,
        uint32_t key_len)
{
    k->name = name;
    k->cert_pem = cert_pem;
    k->cert_len = cert_len;
    k->key_pem = key_pem;
    k->key_len = key_len;
    S2N_CHECK_PTR(k->chain = s2n_cert_chain_and_key_new());
    S2N_CHECK(s2n_cert_chain_and_key_load_pem_bytes(k->chain, k->cert_pem, k->cert_len, k->key_pem, k->key_len));
}

/* ---- async private-key operations ---- */

enum cb_mode {
    CB_NONE,      /* no callback: s2n uses the key itself */
    CB_SYNC,      /* perform and apply inside the callback */
    CB_ASYNC,     /* queue the op; the driver performs and applies it after s2n_negotiate returns */
    CB_OFFTHREAD, /* a worker thread performs and applies (under the connection's lock) */
    CB_REUSE,     /* no callback, one connection pair wiped between handshakes */
};

static const char *cb_names[] = { "none", "sync", "async", "offthread", "reuse" };

/* Completes op the way the Go benchmark does: the selected chain's key. */
static void perform(struct s2n_connection *conn, struct s2n_async_pkey_op *op)
{
    struct s2n_cert_chain_and_key *chain = s2n_connection_get_selected_cert(conn);
    S2N_CHECK_PTR(chain);
    s2n_cert_private_key *key = s2n_cert_chain_and_key_get_private_key(chain);
    S2N_CHECK_PTR(key);
    S2N_CHECK(s2n_async_pkey_op_perform(op, key));
}

static void complete(struct s2n_connection *conn, struct s2n_async_pkey_op *op)
{
    perform(conn, op);
    S2N_CHECK(s2n_async_pkey_op_apply(op, conn));
    S2N_CHECK(s2n_async_pkey_op_free(op));
}

static int sync_cb(struct s2n_connection *conn, struct s2n_async_pkey_op *op)
{
    complete(conn, op);
    return S2N_SUCCESS;
}

/* CB_ASYNC: a queue drained by the driver, on the same thread. */
#define QUEUE_MAX 8
static struct {
    struct s2n_connection *conn[QUEUE_MAX];
    struct s2n_async_pkey_op *op[QUEUE_MAX];
    int n;
} queue;

static int queue_cb(struct s2n_connection *conn, struct s2n_async_pkey_op *op)
{
    if (queue.n == QUEUE_MAX) {
        return S2N_FAILURE;
    }
    queue.conn[queue.n] = conn;
    queue.op[queue.n] = op;
    queue.n++;
    return S2N_SUCCESS;
}

static void queue_drain(void)
{
    for (int i = 0; i < queue.n; i++) {
        complete(queue.conn[i], queue.op[i]);
    }
    queue.n = 0;
}

/* CB_OFFTHREAD: a worker thread, the native analogue of a goroutine that
 * performs the operation and applies it. s2n does not synchronize apply
 * against negotiate, so the driver holds conn_mu around s2n_negotiate and
 * the worker takes it for apply, as the binding's Connection lock does. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct s2n_connection *conn;
    struct s2n_async_pkey_op *op;
    bool done, quit;
    pthread_t thread;
    bool started;
} worker = { .mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static pthread_mutex_t conn_mu = PTHREAD_MUTEX_INITIALIZER;

static void *worker_main(void *arg)
{
    (void) arg;
    pthread_mutex_lock(&worker.mu);
    for (;;) {
        while (worker.op == NULL && !worker.quit) {
            pthread_cond_wait(&worker.cond, &worker.mu);
        }
        if (worker.quit) {
            break;
        }
        struct s2n_connection *conn = worker.conn;
        struct s2n_async_pkey_op *op = worker.op;
        pthread_mutex_unlock(&worker.mu);

        /* Like the binding's SelectedCert, read the chain under the lock. */
        pthread_mutex_lock(&conn_mu);
        struct s2n_cert_chain_and_key *chain = s2n_connection_get_selected_cert(conn);
        pthread_mutex_unlock(&conn_mu);
        S2N_CHECK_PTR(chain);
        s2n_cert_private_key *key = s2n_cert_chain_and_key_get_private_key(chain);
        S2N_CHECK_PTR(key);
        S2N_CHECK(s2n_async_pkey_op_perform(op, key));
        pthread_mutex_lock(&conn_mu);
        S2N_CHECK(s2n_async_pkey_op_apply(op, conn));
        pthread_mutex_unlock(&conn_mu);
        S2N_CHECK(s2n_async_pkey_op_free(op));

        pthread_mutex_lock(&worker.mu);
        worker.op = NULL;
        worker.done = true;
        pthread_cond_broadcast(&worker.cond);
    }
    pthread_mutex_unlock(&worker.mu);
    return NULL;
}

static int offthread_cb(struct s2n_connection *conn, struct s2n_async_pkey_op *op)
{
    pthread_mutex_lock(&worker.mu);
    worker.conn = conn;
    worker.op = op;
    worker.done = false;
    pthread_cond_broadcast(&worker.cond);
    pthread_mutex_unlock(&worker.mu);
    return S2N_SUCCESS;
}

static void worker_wait(void)
{
    pthread_mutex_lock(&worker.mu);
    while (!worker.done) {
        pthread_cond_wait(&worker.cond, &worker.mu);
    }
    worker.done = false;
    pthread_mutex_unlock(&worker.mu);
}

static void worker_start(void)
{
    if (worker.started) {
        return;
    }
    if (pthread_create(&worker.thread, NULL, worker_main, NULL) != 0) {
        die("pthread_create");
    }
    worker.started = true;
}

static void worker_stop(void)
{
    if (!worker.started) {
        return;
    }
    pthread_mutex_lock(&worker.mu);
    worker.quit = true;
    pthread_cond_broadcast(&worker.cond);
    pthread_mutex_unlock(&worker.mu);
    pthread_join(worker.thread, NULL);
    worker.started = false;
    worker.quit = false;
}


/* ---- configs and connections ---- */

static struct s2n_config *server_config(struct keypair *k, const char *policy, enum cb_mode cb)
{
    struct s2n_config *c = s2n_config_new();
    S2N_CHECK_PTR(c);
    S2N_CHECK(s2n_config_set_cipher_preferences(c, policy));
    S2N_CHECK(s2n_config_add_cert_chain_and_key_to_store(c, k->chain));
    switch (cb) {
    case CB_SYNC:
        S2N_CHECK(s2n_config_set_async_pkey_callback(c, sync_cb));
        break;
    case CB_ASYNC:
        S2N_CHECK(s2n_config_set_async_pkey_callback(c, queue_cb));
        break;
    case CB_OFFTHREAD:
        S2N_CHECK(s2n_config_set_async_pkey_callback(c, offthread_cb));
        break;
    default:
        break;
    }
    return c;
}

static struct s2n_config *client_config(struct keypair *k, const char *policy)
{
    struct s2n_config *c = s2n_config_new();
    S2N_CHECK_PTR(c);
    S2N_CHECK(s2n_config_set_cipher_preferences(c, policy));
    S2N_CHECK(s2n_config_wipe_trust_store(c));
    S2N_CHECK(s2n_config_add_pem_to_trust_store(c, (const char *) k->cert_pem));
    return c;
}

struct pair {
    struct s2n_connection *server, *client;
    struct s2n_config *server_cfg, *client_cfg;
    struct transport *t;
};

/* Everything set on a connection before a handshake (again after a wipe). */
static void conn_setup(struct pair *p, struct s2n_connection *conn, s2n_mode mode)
{
    S2N_CHECK(s2n_connection_set_config(conn, mode == S2N_SERVER ? p->server_cfg : p->client_cfg));
    transport_attach(p->t, conn, mode);
    S2N_CHECK(s2n_connection_set_blinding(conn, S2N_SELF_SERVICE_BLINDING));
    if (mode == S2N_CLIENT) {
        S2N_CHECK(s2n_set_server_name(conn, "localhost"));
    }
}

static void pair_new(struct pair *p)
{
    S2N_CHECK_PTR(p->server = s2n_connection_new(S2N_SERVER));
    S2N_CHECK_PTR(p->client = s2n_connection_new(S2N_CLIENT));
    conn_setup(p, p->server, S2N_SERVER);
    conn_setup(p, p->client, S2N_CLIENT);
}

static void pair_free(struct pair *p)
{
    S2N_CHECK(s2n_connection_free(p->server));
    S2N_CHECK(s2n_connection_free(p->client));
    p->server = p->client = NULL;
}

static void pair_wipe(struct pair *p)
{
    S2N_CHECK(s2n_connection_wipe(p->server));
    S2N_CHECK(s2n_connection_wipe(p->client));
    conn_setup(p, p->server, S2N_SERVER);
    conn_setup(p, p->client, S2N_CLIENT);
}

static void check_blocked(int rc, const char *who)
{
    if (rc < 0 && s2n_error_get_type(s2n_errno) != S2N_ERR_T_BLOCKED) {
        die_s2n(who, __LINE__);
    }
}

/* Drives both sides in turns, client first, until both are done; the same
 * loop as the Go benchmark's. */
static void handshake(struct pair *p, enum cb_mode cb)
{
    bool cdone = false, sdone = false;
    s2n_blocked_status blocked;
    for (int i = 0; !(cdone && sdone); i++) {
        if (i > 10000) {
            fprintf(stderr, "s2nbench: handshake does not finish\n");
            exit(1);
        }
        if (!cdone) {
            int rc = s2n_negotiate(p->client, &blocked);
            check_blocked(rc, "client s2n_negotiate");
            cdone = rc == 0;
        }
        if (!sdone) {
            int rc;
            if (cb == CB_OFFTHREAD) {
                pthread_mutex_lock(&conn_mu);
                rc = s2n_negotiate(p->server, &blocked);
                pthread_mutex_unlock(&conn_mu);
            } else {
                rc = s2n_negotiate(p->server, &blocked);
            }
            check_blocked(rc, "server s2n_negotiate");
            sdone = rc == 0;
            if (rc < 0 && blocked == S2N_BLOCKED_ON_APPLICATION_INPUT) {
                if (cb == CB_ASYNC) {
                    queue_drain();
                } else if (cb == CB_OFFTHREAD) {
                    worker_wait();
                }
            }
        }
    }
}


/* One full handshake the way the benchmarks count it: a fresh pair of
 * connections, or for CB_REUSE the existing pair, wiped afterwards. */
static void one_handshake(struct pair *p, enum cb_mode cb)
{
    if (cb != CB_REUSE) {
        pair_new(p);
    }
    handshake(p, cb);
    if (cb == CB_REUSE) {
        pair_wipe(p);
    } else {
        pair_free(p);
    }
}

/* Moves size bytes from client to server: send what fits, receive what came,
 * until the server has it all; the same loop as the Go benchmark's. */
static void transfer(struct pair *p, const uint8_t *buf, size_t size, uint8_t *rbuf, size_t rsize)
{
    size_t sent = 0, recvd = 0;
    s2n_blocked_status blocked;
    while (recvd < size) {
        if (sent < size) {
            ssize_t n = s2n_send(p->client, buf + sent, (ssize_t) (size - sent), &blocked);
            check_blocked((int) n, "s2n_send");
            if (n > 0) {
                sent += (size_t) n;
            }
        }
        ssize_t n = s2n_recv(p->server, rbuf, (ssize_t) rsize, &blocked);
        check_blocked((int) n, "s2n_recv");
        if (n == 0) {
            fprintf(stderr, "s2nbench: unexpected EOF\n");
            exit(1);
        }
        if (n > 0) {
            recvd += (size_t) n;
        }
    }
}

#define RECV_BUF (16 * 1024)

#endif
