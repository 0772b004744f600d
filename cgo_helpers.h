/* C glue shared by every Go file of package s2n. Declarations only: the
 * definitions live in callbacks.c so each function exists once. */
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
#include <s2n.h>

/* What an s2n call that failed left in the thread-local s2n_errno, read by the
 * wrapper in the same C call (a goroutine may change OS threads between two
 * cgo calls). The debug string lives in thread-local storage too, so it is
 * copied; names and messages are static and looked up by code. The record
 * holds no pointers, so passing it costs cgo no pointer check. */
typedef struct {
    int code;
    int type;
    char debug[128];
} go_s2n_error;

/* Fills e from s2n_errno when rc < 0, and returns rc. */
long go_s2n_check(long rc, go_s2n_error *e);
const char *go_s2n_strerror_name(int code);
const char *go_s2n_strerror(int code);

/* Library set-up and facts about the linked build. */
int go_s2n_init(go_s2n_error *e);
const char *go_s2n_version(void);
const char *go_s2n_libcrypto_mode(void);
const char *go_s2n_libcrypto_version(void);
uintptr_t go_s2n_thread_id(void);

/* Counters kept by the memory callbacks handed to s2n_mem_set_callbacks. */
int64_t go_s2n_live_allocations(void);
int64_t go_s2n_live_bytes(void);

/* Config */
struct s2n_config *go_s2n_config_new(uintptr_t handle, go_s2n_error *e);
int go_s2n_config_free(struct s2n_config *c, go_s2n_error *e);
int go_s2n_config_set_cipher_preferences(struct s2n_config *c, const char *version, go_s2n_error *e);
int go_s2n_config_add_cert_chain_and_key_to_store(struct s2n_config *c, struct s2n_cert_chain_and_key *ck, go_s2n_error *e);
int go_s2n_config_add_pem_to_trust_store(struct s2n_config *c, const char *pem, go_s2n_error *e);
int go_s2n_config_wipe_trust_store(struct s2n_config *c, go_s2n_error *e);
int go_s2n_config_disable_x509_verification(struct s2n_config *c, go_s2n_error *e);
int go_s2n_config_set_client_auth_type(struct s2n_config *c, int type, go_s2n_error *e);
int go_s2n_config_set_async_pkey_callback(struct s2n_config *c, int enabled, go_s2n_error *e);
int go_s2n_config_set_async_pkey_validation_mode(struct s2n_config *c, int mode, go_s2n_error *e);
int go_s2n_config_set_verify_host_callback(struct s2n_config *c, int enabled, uintptr_t handle, go_s2n_error *e);
int go_s2n_config_set_max_blinding_delay(struct s2n_config *c, uint32_t seconds, go_s2n_error *e);
int go_s2n_config_set_max_fragment_length(struct s2n_config *c, uint16_t n, go_s2n_error *e);
int go_s2n_connection_prefer(struct s2n_connection *c, int throughput, go_s2n_error *e);
int go_s2n_config_set_protocol_preferences(struct s2n_config *c, const char *const *protocols, int count, go_s2n_error *e);

/* Certificate chains and keys */
struct s2n_cert_chain_and_key *go_s2n_cert_chain_and_key_new(const uint8_t *chain, uint32_t chain_len, const uint8_t *key,
        uint32_t key_len, uintptr_t handle, go_s2n_error *e);
int go_s2n_cert_chain_and_key_free(struct s2n_cert_chain_and_key *ck, go_s2n_error *e);
s2n_cert_private_key *go_s2n_cert_chain_and_key_get_private_key(struct s2n_cert_chain_and_key *ck, go_s2n_error *e);
uintptr_t go_s2n_cert_chain_and_key_handle(struct s2n_cert_chain_and_key *ck);

/* Connection */
struct s2n_connection *go_s2n_connection_new(int mode, uintptr_t handle, go_s2n_error *e);
int go_s2n_connection_free(struct s2n_connection *c, go_s2n_error *e);
int go_s2n_connection_wipe(struct s2n_connection *c, uintptr_t handle, go_s2n_error *e);
int go_s2n_connection_set_config(struct s2n_connection *c, struct s2n_config *config, go_s2n_error *e);
int go_s2n_connection_set_fd(struct s2n_connection *c, int fd, go_s2n_error *e);
int go_s2n_set_server_name(struct s2n_connection *c, const char *name, go_s2n_error *e);
int go_s2n_connection_set_blinding(struct s2n_connection *c, int blinding, go_s2n_error *e);
int go_s2n_negotiate(struct s2n_connection *c, int *blocked, go_s2n_error *e);
ssize_t go_s2n_send(struct s2n_connection *c, const uint8_t *buf, ssize_t size, int *blocked, go_s2n_error *e);
ssize_t go_s2n_recv(struct s2n_connection *c, uint8_t *buf, ssize_t size, int *blocked, go_s2n_error *e);
int go_s2n_shutdown(struct s2n_connection *c, int *blocked, go_s2n_error *e);
struct s2n_cert_chain_and_key *go_s2n_connection_get_selected_cert(struct s2n_connection *c, go_s2n_error *e);
int go_s2n_connection_get_selected_algs(struct s2n_connection *c, int client, int *sig, int *hash, go_s2n_error *e);

const char *go_s2n_connection_get_key_exchange_group(struct s2n_connection *c);
long go_s2n_connection_get_peer_chain(struct s2n_connection *c, uint8_t *buf, uint32_t cap, go_s2n_error *e);
int go_s2n_connection_set_session(struct s2n_connection *c, const uint8_t *session, uint32_t len, go_s2n_error *e);
int go_s2n_connection_get_session(struct s2n_connection *c, uint8_t *buf, uint32_t cap, go_s2n_error *e);
int go_s2n_config_set_session_tickets_onoff(struct s2n_config *c, int enabled, go_s2n_error *e);
int go_s2n_config_add_ticket_crypto_key(struct s2n_config *c, const uint8_t *name, uint32_t name_len, uint8_t *key,
        uint32_t key_len, uint64_t intro_time, go_s2n_error *e);

/* In-memory transport for the net.Conn layer. s2n's recv/send callbacks
 * (pure C) move bytes between s2n and these buffers; Go moves them between
 * the buffers and the net.Conn, touching the fields directly between calls,
 * so no I/O crosses from C into Go. */
typedef struct {
    uint8_t *in;   /* bytes read from the network, not yet taken by s2n */
    uint32_t in_off, in_len, in_cap;
    int in_eof;    /* the network reported end of stream */
    uint8_t *out;  /* records s2n wrote, not yet sent to the network */
    uint32_t out_len, out_cap;
    uint8_t *spare; /* the other output buffer: Go sends one while s2n fills the other */
    uint32_t spare_cap;
} go_s2n_io;

go_s2n_io *go_s2n_io_new(uint32_t in_cap);
void go_s2n_io_free(go_s2n_io *io);
int go_s2n_connection_set_io(struct s2n_connection *c, go_s2n_io *io, go_s2n_error *e);
int go_s2n_io_alloc_in(go_s2n_io *io, uint32_t in_cap);
int go_s2n_io_release(struct s2n_connection *c, go_s2n_io *io, int spare, go_s2n_error *e);
int go_s2n_connection_release_buffers(struct s2n_connection *c, go_s2n_error *e);
int go_s2n_connection_free_handshake(struct s2n_connection *c, go_s2n_error *e);
int go_s2n_shutdown_send(struct s2n_connection *c, int *blocked, go_s2n_error *e);

/* Async private-key operations */
int go_s2n_async_pkey_op_get_op_type(struct s2n_async_pkey_op *op, int *type, go_s2n_error *e);
int go_s2n_async_pkey_op_get_input(struct s2n_async_pkey_op *op, uint8_t *buf, uint32_t cap, uint32_t *size, go_s2n_error *e);
int go_s2n_async_pkey_op_set_output(struct s2n_async_pkey_op *op, const uint8_t *data, uint32_t len, go_s2n_error *e);
int go_s2n_async_pkey_op_perform(struct s2n_async_pkey_op *op, s2n_cert_private_key *key, go_s2n_error *e);
int go_s2n_async_pkey_op_apply(struct s2n_async_pkey_op *op, struct s2n_connection *c, go_s2n_error *e);
int go_s2n_async_pkey_op_free(struct s2n_async_pkey_op *op, go_s2n_error *e);

#endif
