/* Every C function s2n calls back, apart from the transport's (transport.c):
 * the counting allocator, and the trampolines that forward s2n's callbacks
 * to the //export functions of package s2n, which recover panics so none
 * ever unwinds into C. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include <openssl/crypto.h>

#include "cgo_helpers.h"
#include "_cgo_export.h"

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

/* ---- the clocks of every Config ----
 * s2n's own readings of CLOCK_MONOTONIC and CLOCK_REALTIME, plus the offset
 * of the go_s2n_clock that Config.SetMonotonicClock or SetWallClock gave
 * (the clock's ctx; NULL: none). The offset lives in C memory and is read
 * with an atomic load, so the clocks never call into Go: s2n reads them
 * inside calls the binding marks nocallback (cgo_directives.go), such as
 * s2n_send, s2n_recv and s2n_config_add_ticket_crypto_key.
 *
 * The monotonic clock also jumps far ahead while this thread produces the
 * alert of a connection held for blinding: Conn keeps the delay with a
 * timer of its own and frees the connection at once, so s2n's check that
 * the delay has passed (in s2n_shutdown_send) must pass now. */
static __thread int go_s2n_blinding_kept;

struct go_s2n_clock {
    _Atomic int64_t offset_ns;
};

go_s2n_clock *go_s2n_clock_new(void)
{
    go_s2n_clock *clk = calloc(1, sizeof(*clk));
    if (clk != NULL) {
        atomic_init(&clk->offset_ns, 0);
    }
    return clk;
}

void go_s2n_clock_free(go_s2n_clock *clk)
{
    free(clk);
}

int64_t go_s2n_clock_advance(go_s2n_clock *clk, int64_t ns)
{
    return atomic_fetch_add_explicit(&clk->offset_ns, ns, memory_order_relaxed) + ns;
}

int64_t go_s2n_clock_offset(go_s2n_clock *clk)
{
    return atomic_load_explicit(&clk->offset_ns, memory_order_relaxed);
}

static int go_s2n_read_clock(clockid_t id, go_s2n_clock *clk, uint64_t *nanoseconds)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0) {
        return S2N_FAILURE;
    }
    *nanoseconds = (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
    if (clk != NULL) {
        *nanoseconds += (uint64_t) go_s2n_clock_offset(clk); /* offsets are never negative */
    }
    return S2N_SUCCESS;
}

static int go_s2n_monotonic_clock(void *ctx, uint64_t *nanoseconds)
{
    if (go_s2n_read_clock(CLOCK_MONOTONIC, ctx, nanoseconds) != S2N_SUCCESS) {
        return S2N_FAILURE;
    }
    if (go_s2n_blinding_kept) {
        *nanoseconds += (uint64_t) 1 << 62; /* far beyond any delay */
    }
    return S2N_SUCCESS;
}

static int go_s2n_wall_clock(void *ctx, uint64_t *nanoseconds)
{
    return go_s2n_read_clock(CLOCK_REALTIME, ctx, nanoseconds);
}

int go_s2n_config_set_clocks(struct s2n_config *c, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_set_monotonic_clock(c, go_s2n_monotonic_clock, NULL), e);
}

int go_s2n_config_set_monotonic_clock(struct s2n_config *c, go_s2n_clock *clk, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_set_monotonic_clock(c, go_s2n_monotonic_clock, clk), e);
}

int go_s2n_config_set_wall_clock(struct s2n_config *c, go_s2n_clock *clk, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_set_wall_clock(c, go_s2n_wall_clock, clk), e);
}

int go_s2n_shutdown_send_blinded(struct s2n_connection *c, s2n_blocked_status *blocked, go_s2n_error *e)
{
    go_s2n_blinding_kept = 1;
    int rc = s2n_shutdown_send(c, blocked);
    go_s2n_blinding_kept = 0;
    return (int) go_s2n_check(rc, e);
}

/* ---- trampolines into Go ---- */

__thread uintptr_t go_s2n_driving;

/* s2n calls this inside s2n_negotiate; it forwards the connection's handle
 * (its ctx) to Go. */
static int go_s2n_async_pkey_cb(struct s2n_connection *conn, struct s2n_async_pkey_op *op)
{
    void *ctx = s2n_connection_get_ctx(conn);
    return goS2nAsyncPkey((uintptr_t) ctx, op, (uintptr_t) pthread_self());
}

int go_s2n_config_set_async_pkey_callback(struct s2n_config *c, int enabled, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_set_async_pkey_callback(c, enabled ? go_s2n_async_pkey_cb : NULL), e);
}

/* s2n calls this inside s2n_negotiate for an operation it offloads; it
 * forwards the connection's handle (its ctx) to Go. */
static int go_s2n_async_offload_cb(struct s2n_connection *conn, struct s2n_async_offload_op *op, void *ctx)
{
    (void) ctx;
    return goS2nAsyncOffload((uintptr_t) s2n_connection_get_ctx(conn), op, (uintptr_t) pthread_self());
}

int go_s2n_config_set_async_offload_callback(struct s2n_config *c, uint32_t allow, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_set_async_offload_callback(c, allow, go_s2n_async_offload_cb, NULL), e);
}

/* s2n asks whether a name in the peer's certificate is acceptable; data is
 * the handle of the config or connection that set the callback. s2n does
 * not say which connection asks: the one this thread drives does. */
static uint8_t go_s2n_verify_host_cb(const char *host_name, size_t host_name_len, void *data)
{
    return goS2nVerifyHost((uintptr_t) data, go_s2n_driving, (char *) host_name, host_name_len, (uintptr_t) pthread_self());
}

int go_s2n_connection_set_verify_host_callback(struct s2n_connection *c, int enabled, uintptr_t handle, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_connection_set_verify_host_callback(c, enabled ? go_s2n_verify_host_cb : NULL, (void *) handle), e);
}

int go_s2n_config_set_verify_host_callback(struct s2n_config *c, int enabled, uintptr_t handle, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_set_verify_host_callback(c, enabled ? go_s2n_verify_host_cb : NULL, (void *) handle), e);
}

/* s2n calls this once it has parsed a ClientHello; the connection's handle
 * (its ctx) goes to Go. */
static int go_s2n_client_hello_cb(struct s2n_connection *conn, void *ctx)
{
    (void) ctx;
    return goS2nClientHello((uintptr_t) s2n_connection_get_ctx(conn), (uintptr_t) pthread_self());
}

int go_s2n_config_set_client_hello_callback(struct s2n_config *c, int enabled, s2n_client_hello_cb_mode mode, go_s2n_error *e)
{
    if (go_s2n_check(s2n_config_set_client_hello_cb(c, enabled ? go_s2n_client_hello_cb : NULL, NULL), e) < 0) {
        return -1;
    }
    return (int) go_s2n_check(s2n_config_set_client_hello_cb_mode(c, mode), e);
}

/* s2n calls this on a server to choose among the PSKs a client offered;
 * the connection's handle (its ctx) goes to Go. */
static int go_s2n_psk_selection_cb(struct s2n_connection *conn, void *ctx, struct s2n_offered_psk_list *list)
{
    (void) ctx;
    return goS2nPSKSelection((uintptr_t) s2n_connection_get_ctx(conn), list, (uintptr_t) pthread_self());
}

int go_s2n_config_set_psk_selection_callback(struct s2n_config *c, int enabled, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_set_psk_selection_callback(c, enabled ? go_s2n_psk_selection_cb : NULL, NULL), e);
}

/* s2n calls this on a server offered early data it would accept; the
 * connection's handle (its ctx) goes to Go. */
static int go_s2n_early_data_cb(struct s2n_connection *conn, struct s2n_offered_early_data *d)
{
    return goS2nEarlyData((uintptr_t) s2n_connection_get_ctx(conn), d, (uintptr_t) pthread_self());
}

int go_s2n_config_set_early_data_callback(struct s2n_config *c, int enabled, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_set_early_data_cb(c, enabled ? go_s2n_early_data_cb : NULL), e);
}

/* s2n calls this on a client once it has parsed the server's
 * CertificateRequest; the connection's handle (its ctx) goes to Go. */
static int go_s2n_cert_request_cb(struct s2n_connection *conn, void *ctx, struct s2n_certificate_request *request)
{
    (void) ctx;
    return goS2nCertRequest((uintptr_t) s2n_connection_get_ctx(conn), request, (uintptr_t) pthread_self());
}

int go_s2n_config_set_cert_request_callback(struct s2n_config *c, int enabled, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_set_cert_request_callback(c, enabled ? go_s2n_cert_request_cb : NULL, NULL), e);
}

/* The config a chain is being added to on this thread: s2n's tiebreak
 * callback is not told which config asks. */
static __thread struct s2n_config *go_s2n_adding_config;

int go_s2n_config_add_cert_chain_and_key_to_store(struct s2n_config *c, struct s2n_cert_chain_and_key *ck, go_s2n_error *e)
{
    struct s2n_config *prev = go_s2n_adding_config;
    go_s2n_adding_config = c;
    int rc = (int) go_s2n_check(s2n_config_add_cert_chain_and_key_to_store(c, ck), e);
    go_s2n_adding_config = prev;
    return rc;
}

/* s2n asks which of two chains for one name to prefer; the config's handle
 * (its ctx) goes to Go with both chains. */
static struct s2n_cert_chain_and_key *go_s2n_cert_tiebreak_cb(struct s2n_cert_chain_and_key *a,
        struct s2n_cert_chain_and_key *b, uint8_t *name, uint32_t name_len)
{
    void *ctx = NULL;
    if (go_s2n_adding_config == NULL || s2n_config_get_ctx(go_s2n_adding_config, &ctx) < 0) {
        return NULL;
    }
    int which = goS2nCertTiebreak((uintptr_t) ctx, a, b, (char *) name, name_len);
    return which == 2 ? b : (which == 1 ? a : NULL);
}

int go_s2n_config_set_cert_tiebreak_callback(struct s2n_config *c, int enabled, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_set_cert_tiebreak_callback(c, enabled ? go_s2n_cert_tiebreak_cb : NULL), e);
}

/* s2n calls this once it has verified the peer's chain (or received it, with
 * verification off); the connection's handle (its ctx) goes to Go. */
static int go_s2n_cert_validation_cb(struct s2n_connection *conn, struct s2n_cert_validation_info *info, void *ctx)
{
    (void) ctx;
    return goS2nCertValidation((uintptr_t) s2n_connection_get_ctx(conn), info, (uintptr_t) pthread_self());
}

int go_s2n_config_set_cert_validation_callback(struct s2n_config *c, int enabled, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_set_cert_validation_cb(c, enabled ? go_s2n_cert_validation_cb : NULL, NULL), e);
}

/* s2n asks for a CRL for each certificate of the peer's chain. It does not
 * say which connection asks: the one this thread drives does. */
static int go_s2n_crl_lookup_cb(struct s2n_crl_lookup *lookup, void *ctx)
{
    (void) ctx;
    return goS2nCRLLookup(go_s2n_driving, lookup, (uintptr_t) pthread_self());
}

int go_s2n_config_set_crl_lookup_callback(struct s2n_config *c, int enabled, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_set_crl_lookup_cb(c, enabled ? go_s2n_crl_lookup_cb : NULL, NULL), e);
}

/* s2n hands a client each session ticket it receives: inside s2n_negotiate
 * (TLS 1.2) or s2n_recv (TLS 1.3, after the handshake). The connection's
 * handle (its ctx) goes to Go. */
static int go_s2n_session_ticket_cb(struct s2n_connection *conn, void *ctx, struct s2n_session_ticket *ticket)
{
    (void) ctx;
    return goS2nSessionTicket((uintptr_t) s2n_connection_get_ctx(conn), ticket, (uintptr_t) pthread_self());
}

int go_s2n_config_set_session_ticket_callback(struct s2n_config *c, int enabled, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_set_session_ticket_cb(c, enabled ? go_s2n_session_ticket_cb : NULL, NULL), e);
}

/* The server's TLS 1.2 session-ID cache: store and retrieve run inside
 * s2n_negotiate, delete inside s2n_negotiate, s2n_recv or s2n_shutdown (on
 * an error or a fatal alert). The connection's handle goes to Go. */
static int go_s2n_cache_store_cb(struct s2n_connection *conn, void *data, uint64_t ttl, const void *key, uint64_t key_size,
        const void *value, uint64_t value_size)
{
    (void) data;
    return goS2nCacheStore((uintptr_t) s2n_connection_get_ctx(conn), ttl, (void *) key, key_size, (void *) value, value_size,
            (uintptr_t) pthread_self());
}

static int go_s2n_cache_retrieve_cb(struct s2n_connection *conn, void *data, const void *key, uint64_t key_size, void *value,
        uint64_t *value_size)
{
    (void) data;
    return goS2nCacheRetrieve((uintptr_t) s2n_connection_get_ctx(conn), (void *) key, key_size, value, value_size,
            (uintptr_t) pthread_self());
}

static int go_s2n_cache_delete_cb(struct s2n_connection *conn, void *data, const void *key, uint64_t key_size)
{
    (void) data;
    return goS2nCacheDelete((uintptr_t) s2n_connection_get_ctx(conn), (void *) key, key_size, (uintptr_t) pthread_self());
}

int go_s2n_config_set_session_cache(struct s2n_config *c, int enabled, go_s2n_error *e)
{
    if (enabled
            && (go_s2n_check(s2n_config_set_cache_store_callback(c, go_s2n_cache_store_cb, NULL), e) < 0
                    || go_s2n_check(s2n_config_set_cache_retrieve_callback(c, go_s2n_cache_retrieve_cb, NULL), e) < 0
                    || go_s2n_check(s2n_config_set_cache_delete_callback(c, go_s2n_cache_delete_cb, NULL), e) < 0)) {
        return -1;
    }
    return (int) go_s2n_check(s2n_config_set_session_cache_onoff(c, (uint8_t) enabled), e);
}

/* s2n hands each NSS key log line (without its newline) to this during
 * s2n_negotiate; ctx is the handle of the config that set it, and the
 * connection's handle (its ctx) goes to Go with it. s2n ignores the result. */
static int go_s2n_key_log_cb(void *ctx, struct s2n_connection *conn, uint8_t *line, size_t len)
{
    return goS2nKeyLog((uintptr_t) ctx, (uintptr_t) s2n_connection_get_ctx(conn), (char *) line, len, (uintptr_t) pthread_self());
}

int go_s2n_config_set_key_log_callback(struct s2n_config *c, int enabled, uintptr_t handle, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_set_key_log_cb(c, enabled ? go_s2n_key_log_cb : NULL, (void *) handle), e);
}

/* s2n reports a handshake's summary and its steps to the config's
 * subscriber (the config's handle); the connection's handle goes with it. */
static void go_s2n_handshake_event_cb(struct s2n_connection *conn, void *subscriber, struct s2n_event_handshake *event)
{
    goS2nHandshakeEvent((uintptr_t) subscriber, (uintptr_t) s2n_connection_get_ctx(conn), event, (uintptr_t) pthread_self());
}

static void go_s2n_timing_checkpoint_cb(struct s2n_connection *conn, void *subscriber, struct s2n_timing_checkpoint *cp)
{
    goS2nTimingCheckpoint((uintptr_t) subscriber, (uintptr_t) s2n_connection_get_ctx(conn), (char *) cp->name, cp->role,
            cp->timestamp_ns, (uintptr_t) pthread_self());
}

static int go_s2n_config_subscribe(struct s2n_config *c, go_s2n_error *e)
{
    void *ctx = NULL;
    if (go_s2n_check(s2n_config_get_ctx(c, &ctx), e) < 0) {
        return -1;
    }
    return (int) go_s2n_check(s2n_config_set_subscriber(c, ctx), e);
}

int go_s2n_config_set_handshake_event_callback(struct s2n_config *c, int enabled, go_s2n_error *e)
{
    if (go_s2n_config_subscribe(c, e) < 0) {
        return -1;
    }
    return (int) go_s2n_check(s2n_config_set_handshake_event(c, enabled ? go_s2n_handshake_event_cb : NULL), e);
}

int go_s2n_config_set_timing_checkpoint_callback(struct s2n_config *c, int enabled, go_s2n_error *e)
{
    if (go_s2n_config_subscribe(c, e) < 0) {
        return -1;
    }
    return (int) go_s2n_check(s2n_config_set_timing_checkpoint_cb(c, enabled ? go_s2n_timing_checkpoint_cb : NULL), e);
}

/* ---- renegotiation ----
 * s2n calls this inside s2n_recv when a TLS 1.2 client reads a HelloRequest;
 * the connection's handle (its ctx) goes to Go, which writes the answer. */
static int go_s2n_renegotiate_request_cb(struct s2n_connection *conn, void *ctx, s2n_renegotiate_response *response)
{
    (void) ctx;
    return goS2nRenegotiateRequest((uintptr_t) s2n_connection_get_ctx(conn), response, (uintptr_t) pthread_self());
}

int go_s2n_config_set_renegotiate_request_callback(struct s2n_config *c, int enabled, go_s2n_error *e)
{
    return (int) go_s2n_check(s2n_config_set_renegotiate_request_cb(c, enabled ? go_s2n_renegotiate_request_cb : NULL, NULL), e);
}
