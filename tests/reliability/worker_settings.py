"""Settings of the processes a fault test starts (workers, beat, gunicorn): the test settings, with
e-mail written to files a test can count, and the resume cadence from the environment."""

import os
import tempfile

from platform_core.settings.test import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = os.environ.get("FAULT_MAIL_DIR", os.path.join(tempfile.gettempdir(), "fault-mail"))
CELERY_BEAT_SCHEDULE_FILENAME = os.environ.get("FAULT_BEAT_SCHEDULE", CELERY_BEAT_SCHEDULE_FILENAME)  # noqa: F405
if os.environ.get("FAULT_SETTLEMENT_BATCH"):  # small batches: a kill lands in the middle of a settlement
    CROWDFUNDING = {**CROWDFUNDING, "SETTLEMENT_BATCH_SIZE": int(os.environ["FAULT_SETTLEMENT_BATCH"])}  # noqa: F405
if os.environ.get("FAULT_BEAT_EVERY_SECONDS"):  # every scheduled job every few seconds
    from datetime import timedelta

    CELERY_BEAT_SCHEDULE = {  # noqa: F405
        name: {**entry, "schedule": timedelta(seconds=float(os.environ["FAULT_BEAT_EVERY_SECONDS"]))}
        for name, entry in CELERY_BEAT_SCHEDULE.items()  # noqa: F405
    }
