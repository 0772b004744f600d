"""pytest plugin (scripts/integv2 loads it with -p): moves the ports of s2n-tls's
integration suite into the range S2N_INTEGV2_PORTS="LOW-HIGH".

The suite's configuration.available_ports hands out ports from 8000-30000,
split between the xdist workers of one run; two runs at once (two pairings,
or another checkout's) would both start at 8000. Replacing that object with
one of the suite's own AvailablePorts over another range, before the test
modules import it, gives each run its own ports.
"""

import os


def pytest_configure(config):
    spec = os.environ.get("S2N_INTEGV2_PORTS")
    if not spec:
        return
    low, high = (int(x) for x in spec.split("-"))
    import common
    import configuration

    configuration.available_ports = common.AvailablePorts(low=low, high=high)
