/* C glue for fips.go; errors are captured by go_s2n_check (calls.c). */
#include <s2n.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "fips.h"

int go_s2n_fips_get_mode(go_s2n_error *e)
{
    s2n_fips_mode mode = S2N_FIPS_MODE_DISABLED;
    if (go_s2n_check(s2n_get_fips_mode(&mode), e) < 0) {
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
