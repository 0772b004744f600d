/* C glue shared by every Go file of package s2n. Declarations only (cgo
 * copies the preamble of a file with //export into two C files); the
 * definitions live in
 *   calls.c      the error-capturing wrappers (one line each in calls.h)
 *   transport.c  the in-memory transport used by Conn
 *   callbacks.c  every C function s2n calls: the allocator, the clock and
 *                the trampolines into Go */
#ifndef S2N_GO_CGO_HELPERS_H
#define S2N_GO_CGO_HELPERS_H

#if defined(__has_include)
#if !__has_include(<s2n.h>)
#error "s2n-tls is not built for this build mode: run scripts/build-deps (S2N_LIBCRYPTO=awslc|openssl|awslc-fips) first, or see README.md"
#endif
#endif

#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <stdbool.h>
#include <s2n.h>
#include <s2n/unstable/crl.h>
#include <s2n/unstable/fingerprint.h>
#include <s2n/unstable/cert_authorities.h>
#include <s2n/unstable/events.h>
#include <s2n/unstable/npn.h>
#include <s2n/unstable/ktls.h>
#include <s2n/unstable/allow_ip_in_cn.h>
#include <s2n/unstable/custom_x509_extensions.h>
#include <s2n/unstable/renegotiate.h>
#include <s2n/unstable/async_offload.h>

/* ---- errors (calls.c) ----
 * What an s2n call that failed left in the thread-local s2n_errno, read by the
 * wrapper in the same C call (a goroutine may change OS threads between two
 * cgo calls). The debug string lives in thread-local storage too, so it is
 * copied; names and messages are static and looked up by code. The record
 * holds no pointers, so passing it costs cgo no pointer check. */
typedef struct {
    int code;
    int type;
    /* errno of an S2N_ERR_T_IO failure (s2n reading or writing a file
     * descriptor itself: ECONNRESET, EPIPE...), 0 otherwise. */
    int sys_errno;
    char debug[128];
    char source[64];
} go_s2n_error;

/* Fills e from s2n_errno when rc < 0, and returns rc. */
long go_s2n_check(long rc, go_s2n_error *e);
/* Fills e when p is NULL, and returns p. */
void *go_s2n_check_ptr(void *p, go_s2n_error *e);
const char *go_s2n_strerror_name(int code);
const char *go_s2n_strerror(int code);

/* The one-line wrappers of calls.h, declared. */
#define GO_S2N_CALL(name, params, args) int go_##name params;
#define GO_S2N_CALL_SIZE(name, params, args) ssize_t go_##name params;
#define GO_S2N_CALL_PTR(type, name, params, args) type *go_##name params;
#define GO_S2N_DRIVE GO_S2N_CALL
#define GO_S2N_DRIVE_SIZE GO_S2N_CALL_SIZE
#include "calls.h"
#undef GO_S2N_CALL
#undef GO_S2N_CALL_SIZE
#undef GO_S2N_CALL_PTR
#undef GO_S2N_DRIVE
#undef GO_S2N_DRIVE_SIZE

/* The handle of the connection whose driving call (GO_S2N_DRIVE) runs on
 * this thread, 0 if none: callbacks that s2n does not hand the connection
 * find it here (callbacks.c). */
extern __thread uintptr_t go_s2n_driving;

/* ---- wrappers that do more than one call (calls.c) ---- */
const char *go_s2n_version(void);
const char *go_s2n_libcrypto_mode(void);
const char *go_s2n_libcrypto_version(void);
uintptr_t go_s2n_thread_id(void);

/* New objects with the Go handle stored in their context slot. */
struct s2n_config *go_s2n_config_new(uintptr_t handle, int minimal, go_s2n_error *e);
struct s2n_connection *go_s2n_connection_new(s2n_mode mode, uintptr_t handle, go_s2n_error *e);
/* key == NULL loads the chain public-only; cstrings: chain and key are
 * NUL-terminated and loaded with s2n_cert_chain_and_key_load_pem (the
 * lengths are then unused). */
struct s2n_cert_chain_and_key *go_s2n_cert_chain_and_key_new(const uint8_t *chain, uint32_t chain_len, const uint8_t *key,
        uint32_t key_len, int cstrings, uintptr_t handle, go_s2n_error *e);
uintptr_t go_s2n_cert_chain_and_key_handle(struct s2n_cert_chain_and_key *ck);
/* s2n_connection_wipe, then the handle back into the context it resets. */
int go_s2n_connection_wipe(struct s2n_connection *c, uintptr_t handle, go_s2n_error *e);

int go_s2n_connection_get_selected_algs(struct s2n_connection *c, int client, s2n_tls_signature_algorithm *sig,
        s2n_tls_hash_algorithm *hash, go_s2n_error *e);
const char *go_s2n_connection_get_key_exchange_group(struct s2n_connection *c);
/* The negotiated parameters in one crossing; the strings and the peer's
 * stapled OCSP response and SCT list are s2n's own (static, or owned by the
 * connection): copy them before the next call. */
typedef struct {
    int version;
    const char *cipher, *group, *alpn, *server_name;
    uint8_t iana[2];
    int resumed;
    const uint8_t *ocsp, *sct;
    uint32_t ocsp_len, sct_len;
} go_s2n_facts;
void go_s2n_connection_get_facts(struct s2n_connection *c, go_s2n_facts *f);
long go_s2n_connection_get_peer_chain(struct s2n_connection *c, uint8_t *buf, uint32_t cap, go_s2n_error *e);
/* The value of the X.509 extension oid of certificate idx (0: the leaf) of
 * ck, or, when peer is not NULL, of peer's peer chain: returns its length,
 * copying it into buf and its criticality into *critical when cap is not 0
 * and it fits, or -1. */
long go_s2n_cert_x509_extension(struct s2n_cert_chain_and_key *ck, struct s2n_connection *peer, uint32_t idx,
        const char *oid, uint8_t *buf, uint32_t cap, bool *critical, go_s2n_error *e);
/* The UTF8String that DER data holds: returns its length, copying it into
 * out when cap is not 0 and it fits, or -1. */
long go_s2n_cert_utf8_from_extension_data(const uint8_t *data, uint32_t len, uint8_t *out, uint32_t cap, go_s2n_error *e);
int go_s2n_connection_get_session(struct s2n_connection *c, uint8_t *buf, uint32_t cap, go_s2n_error *e);
int go_s2n_async_pkey_op_get_input(struct s2n_async_pkey_op *op, uint8_t *buf, uint32_t cap, uint32_t *size, go_s2n_error *e);

/* ---- callbacks (callbacks.c) ---- */
/* Installs the counting allocator, then s2n_init. */
int go_s2n_init(go_s2n_error *e);
/* Counters kept by the allocator handed to s2n_mem_set_callbacks. */
int64_t go_s2n_live_allocations(void);
int64_t go_s2n_live_bytes(void);

/* Installs the binding's monotonic clock on a new config. */
int go_s2n_config_set_clocks(struct s2n_config *c, go_s2n_error *e);
/* A clock offset that Go moves forward and the binding's clocks add
 * (Clock in clock.go); the setters install the binding's clock with clk's
 * offset (clk NULL: none). */
typedef struct go_s2n_clock go_s2n_clock;
go_s2n_clock *go_s2n_clock_new(void);
void go_s2n_clock_free(go_s2n_clock *clk);
int64_t go_s2n_clock_advance(go_s2n_clock *clk, int64_t ns);
int64_t go_s2n_clock_offset(go_s2n_clock *clk);
int go_s2n_config_set_monotonic_clock(struct s2n_config *c, go_s2n_clock *clk, go_s2n_error *e);
int go_s2n_config_set_wall_clock(struct s2n_config *c, go_s2n_clock *clk, go_s2n_error *e);
/* s2n_shutdown_send for a connection whose blinding delay Conn keeps
 * itself: the alert s2n held back is written now. */
int go_s2n_shutdown_send_blinded(struct s2n_connection *c, s2n_blocked_status *blocked, go_s2n_error *e);

/* Setters that install a trampoline into Go (enabled = 0 removes it). */
int go_s2n_config_set_async_pkey_callback(struct s2n_config *c, int enabled, go_s2n_error *e);
/* s2n_config_set_async_offload_callback with the trampoline into Go for the
 * operation types in allow (s2n offers no way to remove it). */
int go_s2n_config_set_async_offload_callback(struct s2n_config *c, uint32_t allow, go_s2n_error *e);
int go_s2n_config_set_verify_host_callback(struct s2n_config *c, int enabled, uintptr_t handle, go_s2n_error *e);
int go_s2n_connection_set_verify_host_callback(struct s2n_connection *c, int enabled, uintptr_t handle, go_s2n_error *e);
/* s2n_config_add_cert_chain_and_key_to_store, during which s2n may call the
 * config's certificate tiebreak callback: it learns the config from this
 * thread's go_s2n_adding_config (callbacks.c). */
int go_s2n_config_add_cert_chain_and_key_to_store(struct s2n_config *c, struct s2n_cert_chain_and_key *ck, go_s2n_error *e);
/* s2n_config_set_cert_tiebreak_callback with the trampoline into Go. */
int go_s2n_config_set_cert_tiebreak_callback(struct s2n_config *c, int enabled, go_s2n_error *e);
/* s2n_config_set_handshake_event and s2n_config_set_timing_checkpoint_cb
 * with the trampolines into Go, the config's handle as the subscriber. */
int go_s2n_config_set_handshake_event_callback(struct s2n_config *c, int enabled, go_s2n_error *e);
int go_s2n_config_set_timing_checkpoint_callback(struct s2n_config *c, int enabled, go_s2n_error *e);
/* s2n_config_set_cert_request_callback with the trampoline into Go. */
int go_s2n_config_set_cert_request_callback(struct s2n_config *c, int enabled, go_s2n_error *e);
/* s2n_config_set_key_log_cb with the trampoline into Go; handle is the
 * config's, handed back to it as the callback's ctx. */
int go_s2n_config_set_key_log_callback(struct s2n_config *c, int enabled, uintptr_t handle, go_s2n_error *e);
/* s2n_certificate_authority_list_has_next, which returns a bool. */
int go_s2n_certificate_authority_list_has_next(struct s2n_certificate_authority_list *l);
/* s2n_client_hello_cb_done against the config whose callback ran (calls.c). */
int go_s2n_client_hello_done(struct s2n_connection *c, struct s2n_config *cb, struct s2n_config *cur, go_s2n_error *e);
/* s2n_offered_psk_list_has_next, which returns a bool. */
int go_s2n_offered_psk_list_has_next(struct s2n_offered_psk_list *l);
/* s2n_config_set_psk_selection_callback with the trampoline into Go. */
int go_s2n_config_set_psk_selection_callback(struct s2n_config *c, int enabled, go_s2n_error *e);
/* s2n_config_set_early_data_cb with the trampoline into Go. */
int go_s2n_config_set_early_data_callback(struct s2n_config *c, int enabled, go_s2n_error *e);
/* s2n_config_set_client_hello_cb and s2n_config_set_client_hello_cb_mode. */
int go_s2n_config_set_client_hello_callback(struct s2n_config *c, int enabled, s2n_client_hello_cb_mode mode, go_s2n_error *e);
/* s2n_config_set_cert_validation_cb and s2n_config_set_crl_lookup_cb with
 * the trampolines into Go. */
int go_s2n_config_set_cert_validation_callback(struct s2n_config *c, int enabled, go_s2n_error *e);
int go_s2n_config_set_crl_lookup_callback(struct s2n_config *c, int enabled, go_s2n_error *e);
/* s2n_config_set_session_ticket_cb. */
int go_s2n_config_set_session_ticket_callback(struct s2n_config *c, int enabled, go_s2n_error *e);
/* The three session cache callbacks (once enabled, they stay: s2n refuses
 * NULL), then s2n_config_set_session_cache_onoff. */
int go_s2n_config_set_session_cache(struct s2n_config *c, int enabled, go_s2n_error *e);
/* A session ticket's lifetime, and its data copied into buf when it fits:
 * returns the data's length, or -1 (calls.c). */
long go_s2n_session_ticket_read(struct s2n_session_ticket *t, uint8_t *buf, size_t cap, uint32_t *lifetime, go_s2n_error *e);
/* go_s2n_recv and go_s2n_shutdown under names cgo_directives.go leaves
 * unmarked: for connections whose Config has callbacks that s2n raises
 * inside s2n_recv or s2n_shutdown (calls.c). */
ssize_t go_s2n_recv_cb(struct s2n_connection *c, uint8_t *buf, ssize_t size, s2n_blocked_status *blocked, go_s2n_error *e);
int go_s2n_shutdown_cb(struct s2n_connection *c, s2n_blocked_status *blocked, go_s2n_error *e);
/* s2n_recv, called again while s2n holds records it read ahead
 * (s2n_peek_buffered) and buf has room: several records in one crossing,
 * and no read of the transport after the first call. What ends the bytes
 * returned, other than blocking, is kept for the next call: an error in
 * later with *later_kind = GO_S2N_RECV_LATER_ERROR, the peer's close_notify
 * as GO_S2N_RECV_LATER_EOF (calls.c; for Conn's socket path, conn_fd.go). */
#define GO_S2N_RECV_LATER_ERROR 1
#define GO_S2N_RECV_LATER_EOF 2
ssize_t go_s2n_recv_some(struct s2n_connection *c, uint8_t *buf, ssize_t size, s2n_blocked_status *blocked,
        go_s2n_error *e, go_s2n_error *later, int *later_kind);

/* ---- in-memory transport (transport.c) ----
 * s2n's recv/send callbacks (pure C) move bytes between s2n and these
 * buffers; Go moves them between the buffers and the net.Conn, touching the
 * fields directly between calls, so no I/O crosses from C into Go. */
typedef struct {
    uint8_t *in;   /* bytes read from the network, not yet taken by s2n */
    uint32_t in_off, in_len, in_cap;
    int in_eof;    /* the network reported end of stream */
    uint8_t *out;  /* records s2n wrote, not yet sent to the network */
    uint32_t out_len, out_cap;
    uint8_t *spare; /* the other output buffer: Go sends one while s2n fills the other */
    uint32_t spare_cap;
    struct s2n_connection *conn; /* the connection the buffers serve */
    /* set while a server Conn runs s2n_recv_early_data: once s2n has
     * rejected the early data, the recv callback reports no more input (see
     * go_s2n_early_rejected in transport.c) */
    int in_early;
} go_s2n_io;

go_s2n_io *go_s2n_io_new(uint32_t in_cap);
void go_s2n_io_free(go_s2n_io *io);
int go_s2n_connection_set_io(struct s2n_connection *c, go_s2n_io *io, go_s2n_error *e);
int go_s2n_io_alloc_in(go_s2n_io *io, uint32_t in_cap);
int go_s2n_io_release(struct s2n_connection *c, go_s2n_io *io, int spare, go_s2n_error *e);

/* ---- renegotiation (renegotiate.go; callbacks.c, calls.c) ---- */
int go_s2n_config_set_renegotiate_request_callback(struct s2n_config *c, int enabled, go_s2n_error *e);
int go_s2n_renegotiate_wipe(struct s2n_connection *c, uintptr_t handle, go_s2n_error *e);

#endif
