"""Settings of the processes `make load` starts: those of the fault tests' processes, without the
per-request static-file rescan the test settings turn on."""

from tests.reliability.worker_settings import *  # noqa: F403

WHITENOISE_AUTOREFRESH = False
