"""Fakes of the third-party systems the patterns talk to.

Each fake behaves like the real API would towards an idempotent client: a request carries an
idempotency key, a repeated key returns the first result without a second effect. Every effect
and every attempt is written to a SQLite ledger that outlives the service process (a crash of
the service does not undo what the outside world saw), so tests can prove "exactly once".
Injected failures follow a ``FailurePolicy`` and are logged with a 👻.
"""

from common.fakes.base import FakeApi
from common.fakes.ledger import Effect, Ledger
from common.faults import TransientFailure

__all__ = ["Effect", "FakeApi", "Ledger", "TransientFailure"]
