"""The database handle: engine, read and write sessions, and the change stamp.

Every write goes through `Database.write()`, which bumps `registry_stamp.version` in the same
transaction; that is how other processes learn, with a one-row read, that something changed.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from registry import config
from registry.errors import DatabaseError
from registry.schema import RegistryStamp, utcnow

logger = logging.getLogger(__name__)


class Database:
    """One database (SQLite file or PostgreSQL), with sessions that translate failures."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.url = url
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        else:
            kwargs["connect_args"] = {"connect_timeout": 5}
            # Discovery runs one thread per provider (six for text) beside the dashboard.
            kwargs["pool_size"] = 10
        self.engine: Engine = create_engine(url, **kwargs)
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite takes its write lock up front so two writers queue instead of deadlocking,
        # and writers of this process queue on a lock first: SQLite's own busy handler retries
        # by sleeping (up to 100 ms a time), which made parallel discovery run serially slow.
        self._write_engine = (
            self.engine.execution_options(sqlite_begin="IMMEDIATE")
            if self.dialect == "sqlite"
            else self.engine
        )
        self._writers: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if self.dialect == "sqlite" else contextlib.nullcontext()
        )

    @property
    def safe_url(self) -> str:
        """The URL with any password hidden, for messages."""
        return make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def read(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
        except SQLAlchemyError as exc:
            raise _translate(exc) from None
        finally:
            session.close()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction: commits (and bumps the change stamp) on success, rolls back on error."""
        with self._writers, self._sessions(bind=self._write_engine) as session:
            try:
                yield session
                session.flush()
                session.execute(
                    update(RegistryStamp)
                    .where(RegistryStamp.id == 1)
                    .values(version=RegistryStamp.version + 1, changed_at=utcnow())
                )
                session.commit()
            except SQLAlchemyError as exc:
                session.rollback()
                raise _translate(exc) from None
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def transaction(self, **options: Any) -> Iterator[Connection]:
        """A write transaction that is not a catalog change (discovery state, usage counts):
        no change stamp bump, so no process reloads its snapshot for it."""
        try:
            with self._writers, self._write_engine.execution_options(**options).begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise _translate(exc) from None

    def stamp(self) -> int:
        """The current change stamp (raises DatabaseError when unreachable)."""
        with self.read() as session:
            return int(
                session.scalar(select(RegistryStamp.version).where(RegistryStamp.id == 1)) or 0
            )

    def dispose(self) -> None:
        self.engine.dispose()


def dialect_insert(bind: Connection | Session) -> Any:
    """The backend's INSERT with ON CONFLICT support (PostgreSQL and SQLite spell it alike)."""
    name = bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def _translate(exc: SQLAlchemyError) -> DatabaseError:
    """One clear line instead of a driver traceback (statement parameters left out)."""
    original = getattr(exc, "orig", None)
    detail = str(original if original is not None else exc).strip().splitlines()[0]
    if isinstance(exc, IntegrityError):
        return DatabaseError(f"the database refused the change: {detail}")
    if isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        return DatabaseError(f"the database is unavailable or busy: {detail}")
    return DatabaseError(f"database error: {detail}")


_default: Database | None = None
_default_lock = threading.Lock()


def get_database() -> Database:
    """The process-wide database, from REGISTRY_DATABASE_URL (embedded SQLite by default)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Database(config.database_url())
        return _default


def set_database(database: Database | None) -> None:
    """Point the process at another database (tests, tools); None re-reads the configuration."""
    global _default
    with _default_lock:
        _default = database
