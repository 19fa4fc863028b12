import pytest

from .processes import PrivateRedis


@pytest.fixture
def private_redis():
    """A Redis of this test's own (never the shared one), killed at the end."""
    redis = PrivateRedis()
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture
def processes():
    """Processes started by a test; all killed at the end, whatever happened."""
    started = []
    yield started
    for group in started:
        group.kill()
