/* C glue for package s2n: error capture, memory accounting and the one C
 * function s2n calls back into (the async private-key trampoline). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cgo_helpers.h"
#include "_cgo_export.h"

#if defined(__has_include)
#if __has_include(<s2n_go_buildinfo.h>)
#include <s2n_go_buildinfo.h>
#endif
#endif
#ifndef S2N_GO_S2N_VERSION
#define S2N_GO_S2N_VERSION "unknown (system s2n-tls)"
#define S2N_GO_LIBCRYPTO_MODE "system"
#endif

/* Fill e from s2n_errno when rc reports failure, and clear s2n_errno as the
 * s2n docs ask, so a later success on this thread is not misread. */
long go_s2n_check(long rc, go_s2n_error *e)
{
    if (rc >= 0) {
        return rc;
    }
    int err = s2n_errno;
    e->code = err;
    e->type = s2n_error_get_type(err);
    if (e->type == S2N_ERR_T_BLOCKED) {
        /* Not a failure but "call again": the hot path of every non-blocking
         * handshake and read, where the debug location tells nothing. */
        e->debug[0] = '\0';
    } else {
        const char *debug = s2n_strerror_debug(err, "EN");
        snprintf(e->debug, sizeof(e->debug), "%s", debug ? debug : "");
    }
    s2n_errno = S2N_ERR_T_OK;
    return rc;
}

const char *go_s2n_strerror_name(int code)
{
    return s2n_strerror_name(code);
}

const char *go_s2n_strerror(int code)
{
    return s2n_strerror(code, "EN");
}

/* A NULL result is a failure too. */
static inline void *go_s2n_check_ptr(void *p, go_s2n_error *e)
{
    if (p == NULL) {
        go_s2n_check(-1, e);
    }
    return p;
}

/* ---- memory accounting ----
 * s2n allocates through these, so the binding can count what is live (leak
 * gates in tests, gauges in production) and wipe memory before it returns to
 * the allocator. Unlike s2n's default they do not mlock: locked memory is a
 * scarce per-process limit in containers, and a server with thousands of
 * connections would hit it. */
static _Atomic int64_t live_allocations;
static _Atomic int64_t live_bytes;

static int go_s2n_mem_init(void)
{
    return S2N_SUCCESS;
}

static int go_s2n_mem_cleanup(void)
{
    return S2N_SUCCESS;
}

static int go_s2n_mem_malloc(void **ptr, uint32_t requested, uint32_t *allocated)
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

static int go_s2n_mem_free(void *ptr, uint32_t size)
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

int64_t go_s2n_live_allocations(void)
{
    return atomic_load_explicit(&live_allocations, memory_order_relaxed);
}

int64_t go_s2n_live_bytes(void)
{
    return atomic_load_explicit(&live_bytes, memory_order_relaxed);
}

int go_s2n_init(go_s2n_error *e)
{
    if (go_s2n_check(s2n_mem_set_callbacks(go_s2n_mem_init, go_s2n_mem_cleanup, go_s2n_mem_malloc, go_s2n_mem_free), e) < 0) {
        return -1;
    }
    return (int) go_s2n_check(s2n_init(), e);
}

const char *go_s2n_version(void)
{
    return S2N_GO_S2N_VERSION;
}

const char *go_s2n_libcrypto_mode(void)
{
    return S2N_GO_LIBCRYPTO_MODE;
}

const char *go_s2n_libcrypto_version(void)
{
    return OpenSSL_version(OPENSSL_VERSION);
}

uintptr_t go_s2n_thread_id(void)
{
    return (uintptr_t) pthread_self();
}

/* ---- the async private-key trampoline ----
 * s2n calls this inside s2n_negotiate; it forwards the connection's handle
 * (its ctx) to Go, which recovers panics and never lets one unwind here. */
static int go_s2n_async_pkey_cb(struct s2n_connection *conn, struct s2n_async_pkey_op *op)
{
    void *ctx = s2n_connection_get_ctx(conn);
    return goS2nAsyncPkey((uintptr_t) ctx, op, (uintptr_t) pthread_self());
}

/* s2n asks whether a name in the peer's certificate is acceptable; data is
 * the config's handle. */
static uint8_t go_s2n_verify_host_cb(const char *host_name, size_t host_name_len, void *data)
{
    return goS2nVerifyHost((uintptr_t) data, (char *) host_name, host_name_len);
}

/* ---- config ---- */
struct s2n_config *go_s2n_config_new(uintptr_t handle, go_s2n_error *e)
{
    struct s2n_config *c = go_s2n_check_ptr(s2n_config_new(), e);
    if (c == NULL) {
        return NULL;
    }
    if (go_s2n_check(s2n_config_set_ctx(c, (void *) handle), e) < 0) {
        s2n_config_free(c);
        return NULL;
    }
    return c;
}

int go_s2n_config_free(struct s2n_config *c, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_free(c), e);
}

int go_s2n_config_set_cipher_preferences(struct s2n_config *c, const char *version, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_set_cipher_preferences(c, version), e);
}

int go_s2n_config_add_cert_chain_and_key_to_store(struct s2n_config *c, struct s2n_cert_chain_and_key *ck, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_add_cert_chain_and_key_to_store(c, ck), e);
}

int go_s2n_config_add_pem_to_trust_store(struct s2n_config *c, const char *pem, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_add_pem_to_trust_store(c, pem), e);
}

int go_s2n_config_wipe_trust_store(struct s2n_config *c, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_wipe_trust_store(c), e);
}

int go_s2n_config_disable_x509_verification(struct s2n_config *c, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_disable_x509_verification(c), e);
}

int go_s2n_config_set_client_auth_type(struct s2n_config *c, int type, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_set_client_auth_type(c, (s2n_cert_auth_type) type), e);
}

int go_s2n_config_set_async_pkey_callback(struct s2n_config *c, int enabled, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_set_async_pkey_callback(c, enabled ? go_s2n_async_pkey_cb : NULL), e);
}

int go_s2n_config_set_async_pkey_validation_mode(struct s2n_config *c, int mode, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_set_async_pkey_validation_mode(c, (s2n_async_pkey_validation_mode) mode), e);
}

int go_s2n_config_set_verify_host_callback(struct s2n_config *c, int enabled, uintptr_t handle, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_set_verify_host_callback(c, enabled ? go_s2n_verify_host_cb : NULL, (void *) handle), e);
}

int go_s2n_config_set_max_blinding_delay(struct s2n_config *c, uint32_t seconds, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_set_max_blinding_delay(c, seconds), e);
}

int go_s2n_config_set_max_fragment_length(struct s2n_config *c, uint16_t n, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_set_max_fragment_length(c, n), e);
}

int go_s2n_connection_prefer(struct s2n_connection *c, int throughput, go_s2n_error *e)
{
    return (int) go_s2n_check(throughput ? s2n_connection_prefer_throughput(c) : s2n_connection_prefer_low_latency(c), e);
}

int go_s2n_config_set_protocol_preferences(struct s2n_config *c, const char *const *protocols, int count, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_set_protocol_preferences(c, protocols, count), e);
}

/* ---- certificate chains ---- */
struct s2n_cert_chain_and_key *go_s2n_cert_chain_and_key_new(const uint8_t *chain, uint32_t chain_len, const uint8_t *key,
        uint32_t key_len, uintptr_t handle, go_s2n_error *e)
{
    struct s2n_cert_chain_and_key *ck = go_s2n_check_ptr(s2n_cert_chain_and_key_new(), e);
    if (ck == NULL) {
        return NULL;
    }
    int rc = key == NULL ? s2n_cert_chain_and_key_load_public_pem_bytes(ck, (uint8_t *) chain, chain_len)
                         : s2n_cert_chain_and_key_load_pem_bytes(ck, (uint8_t *) chain, chain_len, (uint8_t *) key, key_len);
    if (go_s2n_check(rc, e) < 0 || go_s2n_check(s2n_cert_chain_and_key_set_ctx(ck, (void *) handle), e) < 0) {
        s2n_cert_chain_and_key_free(ck);
        return NULL;
    }
    return ck;
}

int go_s2n_cert_chain_and_key_free(struct s2n_cert_chain_and_key *ck, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_cert_chain_and_key_free(ck), e);
}

s2n_cert_private_key *go_s2n_cert_chain_and_key_get_private_key(struct s2n_cert_chain_and_key *ck, go_s2n_error *e)
{
    return go_s2n_check_ptr(s2n_cert_chain_and_key_get_private_key(ck), e);
}

uintptr_t go_s2n_cert_chain_and_key_handle(struct s2n_cert_chain_and_key *ck)
{
    return (uintptr_t) s2n_cert_chain_and_key_get_ctx(ck);
}

/* ---- connection ---- */
struct s2n_connection *go_s2n_connection_new(int mode, uintptr_t handle, go_s2n_error *e)
{
    struct s2n_connection *c = go_s2n_check_ptr(s2n_connection_new((s2n_mode) mode), e);
    if (c == NULL) {
        return NULL;
    }
    if (go_s2n_check(s2n_connection_set_ctx(c, (void *) handle), e) < 0) {
        s2n_connection_free(c);
        return NULL;
    }
    return c;
}

int go_s2n_connection_free(struct s2n_connection *c, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_connection_free(c), e);
}

int go_s2n_connection_wipe(struct s2n_connection *c, uintptr_t handle, go_s2n_error *e)
{
    if (go_s2n_check(s2n_connection_wipe(c), e) < 0) {
        return -1;
    }
    /* Wipe resets the context; the Go object is still the same one. */
    return (int) go_s2n_check(s2n_connection_set_ctx(c, (void *) handle), e);
}

int go_s2n_connection_set_config(struct s2n_connection *c, struct s2n_config *config, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_connection_set_config(c, config), e);
}

int go_s2n_connection_set_fd(struct s2n_connection *c, int fd, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_connection_set_fd(c, fd), e);
}

int go_s2n_set_server_name(struct s2n_connection *c, const char *name, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_set_server_name(c, name), e);
}

int go_s2n_connection_set_blinding(struct s2n_connection *c, int blinding, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_connection_set_blinding(c, (s2n_blinding) blinding), e);
}

int go_s2n_negotiate(struct s2n_connection *c, int *blocked, go_s2n_error *e)
{
    s2n_blocked_status b = S2N_NOT_BLOCKED;
    int rc = s2n_negotiate(c, &b);
    *blocked = (int) b;
    return (int) go_s2n_check(rc, e);
}

ssize_t go_s2n_send(struct s2n_connection *c, const uint8_t *buf, ssize_t size, int *blocked, go_s2n_error *e)
{
    s2n_blocked_status b = S2N_NOT_BLOCKED;
    ssize_t n = s2n_send(c, buf, size, &b);
    *blocked = (int) b;
    return go_s2n_check(n, e);
}

ssize_t go_s2n_recv(struct s2n_connection *c, uint8_t *buf, ssize_t size, int *blocked, go_s2n_error *e)
{
    s2n_blocked_status b = S2N_NOT_BLOCKED;
    ssize_t n = s2n_recv(c, buf, size, &b);
    *blocked = (int) b;
    return go_s2n_check(n, e);
}

int go_s2n_shutdown(struct s2n_connection *c, int *blocked, go_s2n_error *e)
{
    s2n_blocked_status b = S2N_NOT_BLOCKED;
    int rc = s2n_shutdown(c, &b);
    *blocked = (int) b;
    return (int) go_s2n_check(rc, e);
}

struct s2n_cert_chain_and_key *go_s2n_connection_get_selected_cert(struct s2n_connection *c, go_s2n_error *e)
{
    return go_s2n_check_ptr(s2n_connection_get_selected_cert(c), e);
}

int go_s2n_connection_get_selected_algs(struct s2n_connection *c, int client, int *sig, int *hash, go_s2n_error *e)
{
    s2n_tls_signature_algorithm s = S2N_TLS_SIGNATURE_ANONYMOUS;
    s2n_tls_hash_algorithm h = S2N_TLS_HASH_NONE;
    int rc = client ? s2n_connection_get_selected_client_cert_signature_algorithm(c, &s)
                    : s2n_connection_get_selected_signature_algorithm(c, &s);
    if (go_s2n_check(rc, e) < 0) {
        return -1;
    }
    rc = client ? s2n_connection_get_selected_client_cert_digest_algorithm(c, &h)
                : s2n_connection_get_selected_digest_algorithm(c, &h);
    if (go_s2n_check(rc, e) < 0) {
        return -1;
    }
    *sig = (int) s;
    *hash = (int) h;
    return 0;
}

/* ---- async private-key operations ---- */
int go_s2n_async_pkey_op_get_op_type(struct s2n_async_pkey_op *op, int *type, go_s2n_error *e)
{
    s2n_async_pkey_op_type t = S2N_ASYNC_SIGN;
    int rc = s2n_async_pkey_op_get_op_type(op, &t);
    *type = (int) t;
    return (int) go_s2n_check(rc, e);
}

/* Reports the input's size in *size, and copies it when it fits in cap: one
 * crossing for the common case (digests and RSA ciphertexts are small). */
int go_s2n_async_pkey_op_get_input(struct s2n_async_pkey_op *op, uint8_t *buf, uint32_t cap, uint32_t *size, go_s2n_error *e)
{
    if (go_s2n_check(s2n_async_pkey_op_get_input_size(op, size), e) < 0) {
        return -1;
    }
    if (*size > cap) {
        return 0;
    }
    return (int) go_s2n_check(s2n_async_pkey_op_get_input(op, buf, *size), e);
}

int go_s2n_async_pkey_op_set_output(struct s2n_async_pkey_op *op, const uint8_t *data, uint32_t len, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_async_pkey_op_set_output(op, data, len), e);
}

int go_s2n_async_pkey_op_perform(struct s2n_async_pkey_op *op, s2n_cert_private_key *key, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_async_pkey_op_perform(op, key), e);
}

int go_s2n_async_pkey_op_apply(struct s2n_async_pkey_op *op, struct s2n_connection *c, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_async_pkey_op_apply(op, c), e);
}

int go_s2n_async_pkey_op_free(struct s2n_async_pkey_op *op, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_async_pkey_op_free(op), e);
}

/* ---- connection facts ---- */
const char *go_s2n_connection_get_key_exchange_group(struct s2n_connection *c)
{
    const char *name = NULL;
    if (s2n_connection_get_key_exchange_group(c, &name) < 0) {
        s2n_errno = S2N_ERR_T_OK;
        return NULL;
    }
    return name;
}

/* Copies the peer's chain as DER certificates, each preceded by its 4-byte
 * big-endian length, into buf. Returns the bytes needed (call again with a
 * larger buffer if that exceeds cap), or -1. */
long go_s2n_connection_get_peer_chain(struct s2n_connection *c, uint8_t *buf, uint32_t cap, go_s2n_error *e)
{
    struct s2n_cert_chain_and_key *chain = go_s2n_check_ptr(s2n_cert_chain_and_key_new(), e);
    if (chain == NULL) {
        return -1;
    }
    long need = -1;
    uint32_t n = 0;
    if (go_s2n_check(s2n_connection_get_peer_cert_chain(c, chain), e) < 0
            || go_s2n_check(s2n_cert_chain_get_length(chain, &n), e) < 0) {
        goto out;
    }
    need = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct s2n_cert *cert = NULL;
        const uint8_t *der = NULL;
        uint32_t len = 0;
        if (go_s2n_check(s2n_cert_chain_get_cert(chain, &cert, i), e) < 0 || go_s2n_check(s2n_cert_get_der(cert, &der, &len), e) < 0) {
            need = -1;
            goto out;
        }
        if ((uint64_t) need + 4 + len <= cap) {
            uint8_t *p = buf + need;
            p[0] = len >> 24;
            p[1] = len >> 16;
            p[2] = len >> 8;
            p[3] = len;
            memcpy(p + 4, der, len);
        }
        need += 4 + len;
    }
out:
    s2n_cert_chain_and_key_free(chain);
    return need;
}

int go_s2n_connection_set_session(struct s2n_connection *c, const uint8_t *session, uint32_t len, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_connection_set_session(c, session, len), e);
}

/* Copies the session state into buf when it fits; returns its length, 0 when
 * there is none yet, or -1. */
int go_s2n_connection_get_session(struct s2n_connection *c, uint8_t *buf, uint32_t cap, go_s2n_error *e)
{
    int len = (int) go_s2n_check(s2n_connection_get_session_length(c), e);
    if (len <= 0 || (uint32_t) len > cap) {
        return len;
    }
    return (int) go_s2n_check(s2n_connection_get_session(c, buf, (size_t) len), e);
}

int go_s2n_config_set_session_tickets_onoff(struct s2n_config *c, int enabled, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_set_session_tickets_onoff(c, (uint8_t) enabled), e);
}

int go_s2n_config_add_ticket_crypto_key(struct s2n_config *c, const uint8_t *name, uint32_t name_len, uint8_t *key,
        uint32_t key_len, uint64_t intro_time, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_add_ticket_crypto_key(c, name, name_len, key, key_len, intro_time), e);
}

/* ---- in-memory transport ---- */

/* Output accepted before s2n is told to wait for a flush. */
#define GO_S2N_IO_OUT_MAX (256u * 1024u)

go_s2n_io *go_s2n_io_new(uint32_t in_cap)
{
    go_s2n_io *io = calloc(1, sizeof(*io));
    if (io == NULL) {
        return NULL;
    }
    if (go_s2n_io_alloc_in(io, in_cap) < 0) {
        free(io);
        return NULL;
    }
    return io;
}

/* (Re)allocates the input buffer after go_s2n_io_release freed it. */
int go_s2n_io_alloc_in(go_s2n_io *io, uint32_t in_cap)
{
    if (io->in != NULL) {
        return 0;
    }
    io->in = malloc(in_cap);
    if (io->in == NULL) {
        return -1;
    }
    io->in_cap = in_cap;
    io->in_off = io->in_len = 0;
    return 0;
}

int go_s2n_connection_release_buffers(struct s2n_connection *c, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_connection_release_buffers(c), e);
}

int go_s2n_connection_free_handshake(struct s2n_connection *c, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_connection_free_handshake(c), e);
}

/* Frees what an idle connection holds: s2n's own I/O buffers and ours, each
 * only if it is empty (a buffer with bytes in it stays). The spare output
 * buffer only when the caller holds the flusher's lock (spare != 0). Returns
 * 0, or -1 when s2n kept its buffers because they hold data (not a failure
 * of the connection: the caller goes on as before). */
int go_s2n_io_release(struct s2n_connection *c, go_s2n_io *io, int spare, go_s2n_error *e)
{
    if (io->in != NULL && io->in_off == io->in_len) {
        free(io->in);
        io->in = NULL;
        io->in_cap = io->in_off = io->in_len = 0;
    }
    if (io->out != NULL && io->out_len == 0) {
        free(io->out);
        io->out = NULL;
        io->out_cap = 0;
    }
    if (spare && io->spare != NULL) {
        free(io->spare);
        io->spare = NULL;
        io->spare_cap = 0;
    }
    return go_s2n_connection_release_buffers(c, e);
}

void go_s2n_io_free(go_s2n_io *io)
{
    if (io == NULL) {
        return;
    }
    free(io->in);
    free(io->out);
    free(io->spare);
    free(io);
}

static int go_s2n_io_recv(void *ctx, uint8_t *buf, uint32_t len)
{
    go_s2n_io *io = ctx;
    uint32_t avail = io->in_len - io->in_off;
    if (avail == 0) {
        if (io->in_eof) {
            return 0;
        }
        errno = EAGAIN;
        return -1;
    }
    uint32_t n = avail < len ? avail : len;
    memcpy(buf, io->in + io->in_off, n);
    io->in_off += n;
    if (io->in_off == io->in_len) {
        io->in_off = io->in_len = 0;
    }
    return (int) n;
}

static int go_s2n_io_send(void *ctx, const uint8_t *buf, uint32_t len)
{
    go_s2n_io *io = ctx;
    uint64_t want = (uint64_t) io->out_len + len;
    if (want > io->out_cap) {
        if (io->out_len > 0 && want > GO_S2N_IO_OUT_MAX) {
            errno = EAGAIN;
            return -1;
        }
        uint64_t cap = io->out_cap ? io->out_cap : 16384;
        while (cap < want) {
            cap *= 2;
        }
        uint8_t *p = realloc(io->out, cap);
        if (p == NULL) {
            errno = ENOMEM;
            return -1;
        }
        io->out = p;
        io->out_cap = (uint32_t) cap;
    }
    memcpy(io->out + io->out_len, buf, len);
    io->out_len += len;
    return (int) len;
}

int go_s2n_connection_set_io(struct s2n_connection *c, go_s2n_io *io, go_s2n_error *e)
{
    if (go_s2n_check(s2n_connection_set_recv_cb(c, go_s2n_io_recv), e) < 0
            || go_s2n_check(s2n_connection_set_send_cb(c, go_s2n_io_send), e) < 0
            || go_s2n_check(s2n_connection_set_recv_ctx(c, io), e) < 0) {
        return -1;
    }
    return (int) go_s2n_check(s2n_connection_set_send_ctx(c, io), e);
}

int go_s2n_shutdown_send(struct s2n_connection *c, int *blocked, go_s2n_error *e)
{
    s2n_blocked_status b = S2N_NOT_BLOCKED;
    int rc = s2n_shutdown_send(c, &b);
    *blocked = (int) b;
    return (int) go_s2n_check(rc, e);
}
