/* C glue for fips.go. Kept apart from callbacks.c, which belongs to the core
 * binding; the error capture below mirrors go_s2n_check there. */
#include <s2n.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "fips.h"

int go_s2n_fips_get_mode(go_s2n_error *e)
{
    s2n_fips_mode mode = S2N_FIPS_MODE_DISABLED;
    if (s2n_get_fips_mode(&mode) < 0) {
        /* Read s2n_errno in this same C call: it is thread-local. */
        int err = s2n_errno;
        e->code = err;
        e->type = s2n_error_get_type(err);
        e->name = s2n_strerror_name(err);
        e->message = s2n_strerror(err, "EN");
        e->debug = s2n_strerror_debug(err, "EN");
        s2n_errno = S2N_ERR_T_OK;
        return -1;
    }
    return mode == S2N_FIPS_MODE_ENABLED;
}

int go_s2n_fips_libcrypto_mode(void)
{
#if defined(OPENSSL_IS_AWSLC)
    return FIPS_mode() == 1;
#elif defined(OPENSSL_VERSION_MAJOR) && OPENSSL_VERSION_MAJOR >= 3
    return EVP_default_properties_is_fips_enabled(NULL) == 1;
#else
    return 0;
#endif
}
