package s2n

// Every C glue function listed here keeps its pointer arguments only for
// the duration of the call and never calls back into Go. Declaring that
// lets cgo keep those arguments (error records, out-parameters, buffers) on
// the stack, so steady-state Send and Recv allocate nothing. A Go callback
// reachable from a listed s2n call must take its function off this list:
// cgo panics when a nocallback function calls back, and a callback may grow
// and move the goroutine's stack under a noescape argument.
//
// Not listed, as s2n calls into Go inside them: go_s2n_negotiate (every
// handshake callback); go_s2n_config_add_cert_chain_and_key_to_store (the
// certificate tiebreak); and go_s2n_recv_cb and go_s2n_shutdown_cb, the same
// calls as go_s2n_recv and go_s2n_shutdown, which Recv and Shutdown use
// instead when the connection's Config has a session ticket callback, a
// client session cache, a session cache or a renegotiation request
// callback (s2n raises the ticket and renegotiation request callbacks and
// the cache's delete inside s2n_recv, the delete inside s2n_shutdown;
// Config.callbacksInRecv); and go_s2n_renegotiate (the handshake's
// callbacks). Those pass only heap memory.

// #cgo noescape go_s2n_async_pkey_op_apply
// #cgo nocallback go_s2n_async_pkey_op_apply
// #cgo noescape go_s2n_async_pkey_op_free
// #cgo nocallback go_s2n_async_pkey_op_free
// #cgo noescape go_s2n_async_pkey_op_get_input
// #cgo nocallback go_s2n_async_pkey_op_get_input
// #cgo noescape go_s2n_async_pkey_op_get_op_type
// #cgo nocallback go_s2n_async_pkey_op_get_op_type
// #cgo noescape go_s2n_async_pkey_op_perform
// #cgo nocallback go_s2n_async_pkey_op_perform
// #cgo noescape go_s2n_async_pkey_op_set_output
// #cgo nocallback go_s2n_async_pkey_op_set_output
// #cgo noescape go_s2n_cert_chain_and_key_free
// #cgo nocallback go_s2n_cert_chain_and_key_free
// #cgo noescape go_s2n_cert_chain_and_key_get_private_key
// #cgo nocallback go_s2n_cert_chain_and_key_get_private_key
// #cgo noescape go_s2n_cert_chain_and_key_handle
// #cgo nocallback go_s2n_cert_chain_and_key_handle
// #cgo noescape go_s2n_cert_chain_and_key_new
// #cgo nocallback go_s2n_cert_chain_and_key_new
// #cgo noescape go_s2n_config_add_pem_to_trust_store
// #cgo nocallback go_s2n_config_add_pem_to_trust_store
// #cgo noescape go_s2n_config_add_ticket_crypto_key
// #cgo nocallback go_s2n_config_add_ticket_crypto_key
// #cgo noescape go_s2n_config_disable_x509_verification
// #cgo nocallback go_s2n_config_disable_x509_verification
// #cgo noescape go_s2n_config_free
// #cgo nocallback go_s2n_config_free
// #cgo noescape go_s2n_config_new
// #cgo nocallback go_s2n_config_new
// #cgo noescape go_s2n_config_set_async_pkey_callback
// #cgo nocallback go_s2n_config_set_async_pkey_callback
// #cgo noescape go_s2n_config_set_async_pkey_validation_mode
// #cgo nocallback go_s2n_config_set_async_pkey_validation_mode
// #cgo noescape go_s2n_config_set_cipher_preferences
// #cgo nocallback go_s2n_config_set_cipher_preferences
// #cgo noescape go_s2n_config_set_client_auth_type
// #cgo nocallback go_s2n_config_set_client_auth_type
// #cgo noescape go_s2n_config_set_key_log_callback
// #cgo nocallback go_s2n_config_set_key_log_callback
// #cgo noescape go_s2n_config_set_max_blinding_delay
// #cgo nocallback go_s2n_config_set_max_blinding_delay
// #cgo noescape go_s2n_config_set_max_fragment_length
// #cgo nocallback go_s2n_config_set_max_fragment_length
// #cgo noescape go_s2n_config_set_protocol_preferences
// #cgo nocallback go_s2n_config_set_protocol_preferences
// #cgo noescape go_s2n_config_set_recv_multi_record
// #cgo nocallback go_s2n_config_set_recv_multi_record
// #cgo noescape go_s2n_config_set_send_buffer_size
// #cgo nocallback go_s2n_config_set_send_buffer_size
// #cgo noescape go_s2n_config_set_session_tickets_onoff
// #cgo nocallback go_s2n_config_set_session_tickets_onoff
// #cgo noescape go_s2n_config_set_verify_host_callback
// #cgo nocallback go_s2n_config_set_verify_host_callback
// #cgo noescape go_s2n_config_wipe_trust_store
// #cgo nocallback go_s2n_config_wipe_trust_store
// #cgo noescape go_s2n_connection_free
// #cgo nocallback go_s2n_connection_free
// #cgo noescape go_s2n_connection_free_handshake
// #cgo nocallback go_s2n_connection_free_handshake
// #cgo noescape go_s2n_connection_get_alert
// #cgo nocallback go_s2n_connection_get_alert
// #cgo noescape go_s2n_connection_get_certificate_match
// #cgo nocallback go_s2n_connection_get_certificate_match
// #cgo noescape go_s2n_connection_get_client_protocol_version
// #cgo nocallback go_s2n_connection_get_client_protocol_version
// #cgo noescape go_s2n_connection_get_facts
// #cgo nocallback go_s2n_connection_get_facts
// #cgo noescape go_s2n_connection_get_key_exchange_group
// #cgo nocallback go_s2n_connection_get_key_exchange_group
// #cgo noescape go_s2n_connection_get_key_update_counts
// #cgo nocallback go_s2n_connection_get_key_update_counts
// #cgo noescape go_s2n_connection_get_master_secret
// #cgo nocallback go_s2n_connection_get_master_secret
// #cgo noescape go_s2n_connection_get_peer_chain
// #cgo nocallback go_s2n_connection_get_peer_chain
// #cgo noescape go_s2n_connection_get_selected_algs
// #cgo nocallback go_s2n_connection_get_selected_algs
// #cgo noescape go_s2n_connection_get_selected_cert
// #cgo nocallback go_s2n_connection_get_selected_cert
// #cgo noescape go_s2n_connection_get_server_protocol_version
// #cgo nocallback go_s2n_connection_get_server_protocol_version
// #cgo noescape go_s2n_connection_get_session
// #cgo nocallback go_s2n_connection_get_session
// #cgo noescape go_s2n_connection_get_signature_scheme
// #cgo nocallback go_s2n_connection_get_signature_scheme
// #cgo noescape go_s2n_connection_is_valid_for_cipher_preferences
// #cgo nocallback go_s2n_connection_is_valid_for_cipher_preferences
// #cgo noescape go_s2n_connection_new
// #cgo nocallback go_s2n_connection_new
// #cgo noescape go_s2n_connection_prefer_throughput
// #cgo nocallback go_s2n_connection_prefer_throughput
// #cgo noescape go_s2n_connection_release_buffers
// #cgo nocallback go_s2n_connection_release_buffers
// #cgo noescape go_s2n_connection_request_key_update
// #cgo nocallback go_s2n_connection_request_key_update
// #cgo noescape go_s2n_connection_set_blinding
// #cgo nocallback go_s2n_connection_set_blinding
// #cgo noescape go_s2n_connection_set_config
// #cgo nocallback go_s2n_connection_set_config
// #cgo noescape go_s2n_connection_set_dynamic_record_threshold
// #cgo nocallback go_s2n_connection_set_dynamic_record_threshold
// #cgo noescape go_s2n_connection_set_fd
// #cgo nocallback go_s2n_connection_set_fd
// #cgo noescape go_s2n_connection_set_io
// #cgo nocallback go_s2n_connection_set_io
// #cgo noescape go_s2n_connection_set_recv_buffering
// #cgo nocallback go_s2n_connection_set_recv_buffering
// #cgo noescape go_s2n_connection_set_session
// #cgo nocallback go_s2n_connection_set_session
// #cgo noescape go_s2n_connection_wipe
// #cgo nocallback go_s2n_connection_wipe
// #cgo noescape go_s2n_init
// #cgo nocallback go_s2n_init
// #cgo noescape go_s2n_io_alloc_in
// #cgo nocallback go_s2n_io_alloc_in
// #cgo noescape go_s2n_io_free
// #cgo nocallback go_s2n_io_free
// #cgo noescape go_s2n_io_new
// #cgo nocallback go_s2n_io_new
// #cgo noescape go_s2n_io_release
// #cgo nocallback go_s2n_io_release
// #cgo noescape go_s2n_libcrypto_mode
// #cgo nocallback go_s2n_libcrypto_mode
// #cgo noescape go_s2n_libcrypto_version
// #cgo nocallback go_s2n_libcrypto_version
// #cgo noescape go_s2n_live_allocations
// #cgo nocallback go_s2n_live_allocations
// #cgo noescape go_s2n_live_bytes
// #cgo nocallback go_s2n_live_bytes
// #cgo noescape go_s2n_recv
// #cgo nocallback go_s2n_recv
// #cgo noescape go_s2n_recv_some
// #cgo nocallback go_s2n_recv_some
// #cgo noescape go_s2n_send
// #cgo nocallback go_s2n_send
// #cgo noescape go_s2n_set_server_name
// #cgo nocallback go_s2n_set_server_name
// #cgo noescape go_s2n_shutdown
// #cgo nocallback go_s2n_shutdown
// #cgo noescape go_s2n_shutdown_send
// #cgo nocallback go_s2n_shutdown_send
// #cgo noescape go_s2n_strerror
// #cgo nocallback go_s2n_strerror
// #cgo noescape go_s2n_strerror_name
// #cgo nocallback go_s2n_strerror_name
// #cgo noescape go_s2n_thread_id
// #cgo nocallback go_s2n_thread_id
// #cgo noescape go_s2n_version
// #cgo nocallback go_s2n_version
// #include "cgo_helpers.h"
import "C"
